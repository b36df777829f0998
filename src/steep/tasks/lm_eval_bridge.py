"""lm-evaluation-harness on a loaded model: general benchmarks beside steep's own held-out measures.

    pip install 'steep[lmeval]'

    eval:
      lm_eval:
        tasks: [steep_tiny]                  # lm-eval task, group or tag names
        include_path: tests/data/lm_eval_tasks   # your own task YAMLs (optional)
        limit: 50                            # documents per task (optional; all by default)

    from steep.tasks.lm_eval_bridge import LmEvalConfig, run_lm_eval
    scores, results = run_lm_eval(LmEvalConfig(tasks=["steep_tiny"], include_path=...), model, tokenizer)
    scores       # {"steep_tiny": {"acc": 0.5}}: what eval folds into models.<stage>.lm_eval
    results      # lm-eval's own per-task results, configs and versions (eval writes them to lm_eval.json)

The model object is wrapped as it is (`HFLM(pretrained=model)`): a merged model and a peft-wrapped one score the
same way, and nothing is read again from disk. It runs offline: the hub is switched off while it runs, so a task
must read local data (`dataset_path: json` with `data_files`; relative paths in an include_path YAML are read
from the YAML's own directory, so a task directory works from any working directory). Torch and lm-eval are
imported inside the functions: this module is imported when a pipeline YAML is validated.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from contextlib import contextmanager
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from steep.schema import ExistingPath, StrictModel

INSTALL_HINT = "pip install 'steep[lmeval]'"
# switched on while lm-eval runs: a task whose data is not on disk fails instead of downloading
OFFLINE_ENV = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def lm_eval_installed() -> bool:
    return importlib.util.find_spec("lm_eval") is not None


class LmEvalConfig(StrictModel):
    """lm-evaluation-harness tasks run on every model eval scores (needs the `lmeval` extra)."""

    tasks: list[str] = Field(min_length=1, description="lm-eval task, group or tag names")
    include_path: ExistingPath | None = Field(None, description="a directory of your own lm-eval task YAMLs")
    limit: int | None = Field(None, ge=1, description="documents per task (all when unset)")
    num_fewshot: int | None = Field(None, ge=0, description="few-shot examples (the task's own default when unset)")
    batch_size: int = Field(8, ge=1)

    @field_validator("tasks")
    @classmethod
    def _installed(cls, tasks: list[str]) -> list[str]:
        # at validation time, so a missing extra fails before any stage runs, not as a traceback inside eval
        if not lm_eval_installed():
            raise ValueError(f"eval.lm_eval needs lm-evaluation-harness, which is not installed: {INSTALL_HINT}")
        return tasks

    @model_validator(mode="after")
    def _include_path_is_a_directory(self) -> LmEvalConfig:
        if self.include_path is not None and not Path(self.include_path).is_dir():
            raise ValueError(f"include_path must be a directory of task YAMLs: {self.include_path}")
        return self


def run_lm_eval(cfg: LmEvalConfig, model, tokenizer, seed: int = 0) -> tuple[dict[str, dict[str, float]], dict]:
    """Run `cfg.tasks` on a loaded model; return ({task: {metric: value}}, lm-eval's results as plain JSON)."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    with _offline():
        task_manager = _task_manager(str(cfg.include_path) if cfg.include_path is not None else None, tuple(cfg.tasks))
        results = lm_eval.simple_evaluate(
            model=HFLM(pretrained=model, tokenizer=tokenizer, batch_size=cfg.batch_size),
            tasks=_task_specs(task_manager, cfg.tasks, cfg.include_path),
            task_manager=task_manager,
            limit=cfg.limit,
            num_fewshot=cfg.num_fewshot,
            log_samples=False,  # per-document records would make lm_eval.json as large as the data
            # stderr of corpus-level metrics (bleu, f1) is bootstrapped: lm-eval's default 100,000 resamples take
            # minutes per metric on a CPU; 1,000 estimate it to within about 1/sqrt(2 * 1000) = 2% of itself
            bootstrap_iters=1000,
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
    results = _plain(results)
    return primary_scores(results), results


@functools.lru_cache(maxsize=4)
def _task_manager(include_path: str | None, names: tuple[str, ...]):
    """lm-eval's task index, built once per eval run (every model uses it). Indexing lm-eval's own ~15,000 task
    YAMLs takes seconds; when every name is one of `include_path`'s tasks, that directory alone is indexed."""
    from lm_eval.tasks import TaskManager

    if include_path is not None:
        own = TaskManager(include_path=include_path, include_defaults=False)
        if all(name in own.task_index for name in names):
            return own
    return TaskManager(include_path=include_path)


def primary_scores(results: dict) -> dict[str, dict[str, float]]:
    """{task: {metric: value}} from lm-eval's `results`: every numeric metric but the standard errors.

    lm-eval names a score `<metric>,<filter>` (`acc,none`, `exact_match,strict-match`); the filter is dropped when
    it is `none` and joined with `_` otherwise, and dots become `_`, so `models.<stage>.lm_eval.<task>.<metric>` is a
    dotted path the gates and the report can read."""
    scores: dict[str, dict[str, float]] = {}
    for task, row in (results.get("results") or {}).items():
        for key, value in row.items():
            metric, comma, filter_name = key.partition(",")
            # no comma: the row's own fields (name, alias, sample_len), not a score
            if not comma or "_stderr" in metric or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            name = metric if filter_name == "none" else f"{metric}_{filter_name}"
            scores.setdefault(task.replace(".", "_"), {})[name.replace(".", "_")] = float(value)
    return scores


def _task_specs(task_manager, names: list[str], include_path: Path | None) -> list:
    """Task names, or for a task defined in `include_path` with relative local data files, its config with those
    files anchored at the YAML's directory. lm-eval hands `dataset_kwargs` to `datasets.load_dataset` as written,
    which reads a relative path from the working directory; a shipped task directory must work from anywhere."""
    from lm_eval.tasks._yaml_loader import load_yaml  # pinned to lm_eval<0.5 by the extra

    root = Path(include_path).resolve() if include_path is not None else None
    specs: list = []
    for name in names:
        entry = task_manager.task_index.get(name)
        yaml_path = getattr(entry, "yaml_path", None)
        if root is None or yaml_path is None or root not in Path(yaml_path).resolve().parents:
            specs.append(name)  # lm-eval's own task, or a name it resolves itself (a group, a tag)
            continue
        config = load_yaml(yaml_path, resolve_func=True)
        single_task = isinstance(config.get("task"), str) and "group" not in config and "class" not in config
        anchored = _anchor_data_files(config.get("dataset_kwargs"), Path(yaml_path).resolve().parent) if single_task else None
        specs.append({**config, "dataset_kwargs": anchored} if anchored is not None else name)
    return specs


def _anchor_data_files(dataset_kwargs, base: Path) -> dict | None:
    """`dataset_kwargs` with relative `data_files`/`data_dir` that exist under `base` made absolute, or None when
    nothing changed (a path that is not there is left as written: lm-eval's own reading of it still applies)."""
    if not isinstance(dataset_kwargs, dict):
        return None

    def anchor(value):
        if isinstance(value, str) and not Path(value).is_absolute() and (base / value).exists():
            return str(base / value)
        if isinstance(value, list):
            return [anchor(item) for item in value]
        if isinstance(value, dict):
            return {key: anchor(item) for key, item in value.items()}
        return value

    anchored = {key: anchor(value) if key in ("data_files", "data_dir") else value for key, value in dataset_kwargs.items()}
    return anchored if anchored != dataset_kwargs else None


@contextmanager
def _offline():
    saved = {key: os.environ.get(key) for key in OFFLINE_ENV}
    os.environ.update(OFFLINE_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _plain(value):
    """lm-eval's results as JSON-safe data: numpy numbers become floats, callables and other objects strings."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return str(value)
