"""eval: every stage's model on the same held-out tasks, with the metric names the stages report.

    steep eval PIPELINE.yaml

One row per model (base, cpt, sft, dpo, rs), one column per metric of each task in `eval.tasks`. Left empty (the
usual case), the tasks are the ones the training stages in the pipeline measure themselves with (cpt's bits per
byte, sft's format adherence, dpo's rule pass rate, rs's late-turn coherence), cut to eval's own, smaller
slices (`max_docs`, `max_prompts`, `max_dialogues`), so the same name means the same measure. Writes
`metrics.json`, `answers.jsonl` (what was scored, per model and task) and `report.html`.

With `leaks:` (`steep.tasks.leaks`), eval also asks every model the canaries' probe questions
(`leak_probes.jsonl`, values masked) and searches every file of the run for the canary values: `metrics.json`
gets a top-level `leaks` dict (`count`, `hits` by canary id and place), each hit an error in the log.
"""

from __future__ import annotations

from pydantic import Field

from steep.artifacts import atomic_write_json, atomic_write_text, write_jsonl
from steep.schema import StrictModel
from steep.stage import EveryModel, FileInput, StageContext, StageOutput, StageSpec
from steep.tasks.leaks import LeaksConfig
from steep.tasks.names import TASK_METRICS
from steep.tasks.spec import Task, limited, task_files


class EvalConfig(StrictModel):
    """Evaluate every stage's model on held-out tasks (by default: those the training stages declare)."""

    enabled: bool = True
    max_docs: int = Field(100, ge=1)
    max_prompts: int = Field(32, ge=1)
    max_dialogues: int = Field(8, ge=1)
    tasks: list[Task] = Field(default=[], description="held-out tasks; empty: the training stages' own (filled in by the pipeline)")
    leaks: LeaksConfig | None = Field(None, description="canary leak tests over the run's files and the models' answers")


def consumes(cfg: EvalConfig) -> dict:
    inputs: dict = {"models": EveryModel()}
    for index, task in enumerate(cfg.tasks):
        inputs |= {f"tasks[{index}].files[{i}]": FileInput(path) for i, path in enumerate(task_files(task))}
    if cfg.leaks is not None:
        inputs["leaks.canaries"] = FileInput(cfg.leaks.canaries)
        # what curate wrote is what the scan reads most: a changed exclusion report reruns the check
        inputs |= {f"leaks.curate.{name}": StageOutput("curate", name, optional=True) for name in ("documents", "excluded")}
    return inputs


def run(ctx: StageContext) -> dict:
    from steep.model.load import load_stage_model
    from steep.model.template import chat_template_sha256
    from steep.stages.eval_report import render_report
    from steep.tasks.leaks import LeakCheck
    from steep.tasks.measure import run_task

    cfg: EvalConfig = ctx.config
    tasks = [limited(task, max_docs=cfg.max_docs, max_prompts=cfg.max_prompts, max_dialogues=cfg.max_dialogues) for task in cfg.tasks]
    rows: dict[str, dict] = {}
    answers: list[dict] = []
    leak_check = LeakCheck(cfg.leaks, ctx.work_dir.parent, ctx.log) if cfg.leaks is not None else None
    for name in ctx.inputs:
        if not name.startswith("model."):
            continue
        stage = name.removeprefix("model.")
        model, tokenizer = load_stage_model(ctx, input_name=name)
        row: dict = {"chat_template_sha256": chat_template_sha256(tokenizer)}
        for index, task in enumerate(tasks):
            result = run_task(task, model, tokenizer, ctx.device, ctx.seed)
            row |= result.metrics
            answers += [{"model": stage, "task": index, "kind": task.kind, **record} for record in result.records]
        rows[stage] = row
        if leak_check is not None:
            leak_check.probe(stage, model, tokenizer, ctx.device, ctx.seed)
        shown = list(dict.fromkeys(m.key for task in tasks for m in TASK_METRICS[task.kind] if isinstance(row.get(m.key), float)))
        ctx.log.info(f"{stage}: " + ", ".join(f"{key}={row[key]:.3f}" for key in shown))
        del model
    metrics = {"models": rows, "tasks": [task.kind for task in tasks]}
    write_jsonl(ctx.work_dir / "answers.jsonl", answers)
    if leak_check is not None:  # after answers.jsonl is written: the scan reads it too
        write_jsonl(ctx.work_dir / "leak_probes.jsonl", leak_check.records)
        ctx.add_outputs("leak_probes.jsonl")
        metrics["leaks"] = leak_check.finish()
    if ctx.gates:  # the gates as they stand with eval's numbers in (the runner checks and enforces them)
        from steep.tasks.gates import evaluate_gates

        metrics["gates"] = evaluate_gates(ctx.gates, {**ctx.upstream_metrics, "eval": metrics})
    atomic_write_json(ctx.work_dir / "metrics.json", metrics)
    atomic_write_text(ctx.work_dir / "report.html", render_report(rows, ctx.upstream_metrics))
    ctx.add_outputs("metrics.json", "answers.jsonl", "report.html")
    return metrics


STAGE = StageSpec(name="eval", config=EvalConfig, run=run, consumes=consumes, produces=("metrics", "answers", "report"))
