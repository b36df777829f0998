"""dpo: online DPO. The policy samples answers, the judge ranks them, the best/worst pairs train the policy.

    steep dpo PIPELINE.yaml

Each round samples `samples_per_prompt` answers per prompt from the *current* policy (that is what makes it
online), judges every answer (scores, rationale and the judge's identity are kept in `samples.jsonl`), turns each
prompt's best and worst answer into a preference pair (`pairs.jsonl`; dropped when their score gap is at most
`min_margin`, ties included) and runs core trl `DPOTrainer` on them. The policy is a LoRA adapter on the input
model. The reference is the input model (`reference: input`: the adapter disabled, no second copy in memory) or
the previous round's policy (`reference: previous_round`: a frozen copy of the adapter). `sft_loss_weight` adds
the chosen answer's NLL to the DPO loss (RPO), which keeps a small policy's format and length while the
preference moves.

After every round the policy answers the held-out prompts: its strict and partial pass rates, answer length,
win rate against the previous round's answers under the judge, and the length drift against the input model go
to the round's summary (manifest `rounds`, and one `dpo_round` row a round in `metrics.jsonl`). A round whose
answers drift in length beyond `length_guard.max_drift` is flagged, or ends the loop (`action: stop`).

A killed dpo resumes where it stopped: every round keeps its judged samples and pairs, its trainer checkpoints,
its trained policy adapter and its held-out answers under `checkpoints/round<i>/`; a rerun reuses what was paid
for (no sample is drawn or judged twice), continues the round's training from its last checkpoint, and ends with
the pairs an uninterrupted run has.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Literal

from pydantic import Field

from steep.artifacts import atomic_write_json, read_jsonl, write_jsonl
from steep.generate.config import EngineConfig, GenerationConfig, HFEngineConfig
from steep.judge.factory import JudgeConfig
from steep.model.config import LoraConfig
from steep.schema import ExistingPath, StrictModel
from steep.stage import FileInput, FileOrStage, PreviousModel, StageContext, StageSpec, file_or_stage_output
from steep.tasks.spec import RulesTask
from steep.trainer.config import OptimConfig


class LengthGuard(StrictModel):
    """What to do when a round's held-out answers drift in length away from the input model's: DPO with a judge
    that prefers short (or long) answers walks the policy there round after round, a known failure."""

    max_drift: float = Field(0.2, gt=0, description="allowed |mean words / input model's mean words - 1|")
    action: Literal["flag", "stop", "off"] = Field("flag", description="flag: warn and mark the round; stop: no further rounds")


class DpoConfig(StrictModel):
    """Online DPO: sample from the current policy, rank with the judge, train on best-vs-worst pairs, repeat."""

    enabled: bool = True
    prompts: FileOrStage = Field(description="a JSONL of {messages}, or {from: synth} (synth's dpo_prompts)")
    heldout: ExistingPath
    judge: JudgeConfig
    rounds: int = Field(1, ge=1, description="sample, judge, train; the next round samples the trained policy")
    samples_per_prompt: int = Field(4, ge=2, description="answers per prompt; the best and worst make a pair")
    max_prompts_per_round: int = Field(256, ge=1)
    max_heldout: int = Field(64, ge=1)
    min_margin: float = Field(0.0, ge=0, lt=1, description="drop pairs whose chosen-rejected score gap is at most this")
    length_neutral_pairs: bool = Field(True, description="chosen and rejected of similar length, so DPO cannot learn length (see pair_from_verdicts)")
    reference: Literal["input", "previous_round"] = Field("input", description="the model DPO's KL term anchors to")
    beta: float = Field(0.1, gt=0)
    # On by default: measured on the demo, plain DPO (0) shrinks answers and loses the house format, because it
    # can lower the rejected answer's likelihood faster than it raises the chosen one's.
    sft_loss_weight: float = Field(1.0, ge=0, description="weight of the chosen answers' NLL added to the DPO loss (RPO); 0 = plain DPO")
    max_length: int = Field(512, ge=16)
    length_guard: LengthGuard = LengthGuard()
    lora: LoraConfig = LoraConfig()
    optim: OptimConfig = OptimConfig(learning_rate=5e-4, epochs=2, batch_size=8)
    generation: GenerationConfig = GenerationConfig(temperature=1.0)
    engine: EngineConfig = Field(HFEngineConfig(), description="where training answers are sampled: hf (in process) or openai (a vLLM server)")
    heldout_generation: GenerationConfig = GenerationConfig(temperature=0.0)
    heldout_samples: int = Field(1, ge=1, description="answers sampled per held-out prompt (use >1 with temperature > 0)")


def heldout_tasks(cfg: DpoConfig) -> list[RulesTask]:
    return [RulesTask(heldout=cfg.heldout, judge=cfg.judge, max_prompts=cfg.max_heldout, samples=cfg.heldout_samples, generation=cfg.heldout_generation)]


def consumes(cfg: DpoConfig) -> dict:
    return {"model": PreviousModel(), "prompts": file_or_stage_output(cfg.prompts, "dpo_prompts"), "heldout": FileInput(cfg.heldout)}


def sample_preference_pairs(
    generator, judge, prompts, k: int, generation: GenerationConfig, seed: int, min_margin: float = 0.0, length_neutral: bool = False
):
    """Sample k answers per prompt, judge them; return (judged sample rows, preference pairs).

    A prompt yields no pair when its best and worst answers' scores differ by at most `min_margin` (all tied)."""
    from steep.judge.base import pair_from_verdicts

    repeated = [prompt for prompt in prompts for _ in range(k)]
    answers = [reply.text for group in generator.sample(prompts, k, generation, seed=seed) for reply in group]
    verdicts = judge.judge_batch(repeated, answers)
    samples, pairs = [], []
    for index, prompt in enumerate(prompts):
        group = slice(index * k, (index + 1) * k)
        group_answers, group_verdicts = answers[group], verdicts[group]
        for answer, verdict in zip(group_answers, group_verdicts):
            samples.append({"prompt": prompt, "answer": answer, **verdict.to_dict(), "judge": judge.identity})
        pair = pair_from_verdicts(prompt, group_answers, group_verdicts, min_margin=min_margin, length_neutral=length_neutral)
        if pair is not None:
            pairs.append({**pair.to_record(include_judgement=True), "judge": judge.identity})
    return samples, pairs


def round_prompts(prompts: list[list[dict]], limit: int, round_index: int) -> list[list[dict]]:
    """Rotate through the prompt pool so successive rounds see different prompts when the pool is larger."""
    if len(prompts) <= limit:
        return prompts
    start = (round_index * limit) % len(prompts)
    rotated = prompts[start:] + prompts[:start]
    return rotated[:limit]


def pass_rate_by_use_case(samples: list[dict], use_case_of: dict[str, str]) -> dict[str, float]:
    """Mean sampled score per use case, for prompts that name one (`meta.use_case`, as synth writes); {} if none do."""
    scores: dict[str, list[float]] = {}
    for sample in samples:
        use_case = use_case_of.get(json.dumps(sample["prompt"], sort_keys=True))
        if use_case:
            scores.setdefault(use_case, []).append(sample["score"])
    return {name: sum(values) / len(values) for name, values in sorted(scores.items())}


def sampled_report(samples: list[dict], pairs: list[dict], k: int) -> dict:
    """What a round's own samples say: pass rates, length, and the share of prompts whose answers all tied."""
    from steep.tasks.metrics import mean_words

    prompts = len(samples) // k if k else 0
    return {
        "prompts": prompts,
        "pairs": len(pairs),
        "tie_rate": 1 - len(pairs) / prompts if prompts else 0.0,
        "sampled_pass_rate": sum(s["score"] for s in samples) / len(samples) if samples else 0.0,
        "sampled_all_rules_pass_rate": sum(all(s["passed"].values()) for s in samples) / len(samples) if samples else 0.0,
        "sampled_mean_answer_len": mean_words([s["answer"] for s in samples]) if samples else 0.0,
        "judge_margin_mean": sum(p["chosen_score"] - p["rejected_score"] for p in pairs) / len(pairs) if pairs else 0.0,
    }


def length_drift(after_words: float, before_words: float) -> float:
    """Relative change of the mean answer length: 0.25 = a quarter longer, -0.5 = half as long."""
    return after_words / before_words - 1 if before_words > 0 else 0.0


def with_verdict_cache(judge_config, cache_dir: Path):
    """A judge config that caches its verdicts in `cache_dir` when it can cache and names no cache of its own: a
    stage that fails when its judge goes down mid-round reruns without paying again for what was judged."""
    if "cache_dir" in type(judge_config).model_fields and judge_config.cache_dir is None:
        return judge_config.model_copy(update={"cache_dir": cache_dir})
    return judge_config


def _cached(path: Path, compute):
    """JSON at `path`, or compute it and write it there first (held-out reports a rerun must not pay for twice)."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    value = compute()
    atomic_write_json(path, value)
    return value


def _save_policy(policy, round_dir: Path) -> None:
    """The round's trained adapter, renamed into place whole (a kill mid-save leaves no policy dir)."""
    partial = round_dir / "policy.partial"
    shutil.rmtree(partial, ignore_errors=True)
    policy.save_pretrained(partial)
    os.replace(partial, round_dir / "policy")


def _restore_adapter(policy, adapter_dir: Path) -> None:
    """Put an earlier round's adapter weights back into `policy` (the same adapter config, so only weights)."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(policy, load_file(str(adapter_dir / "adapter_model.safetensors")))


def _append_metrics_row(path: Path, row: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")


def run(ctx: StageContext) -> dict:
    from peft import PeftModel

    from steep.generate import build_engine
    from steep.generate.hf import HFChatGenerator
    from steep.judge.factory import build_training_judge
    from steep.model.export import save_adapter_and_model
    from steep.model.load import load_chat_model
    from steep.tasks.answers import measure_rules
    from steep.tasks.winrate import win_rate
    from steep.trainer.core import TrainPlace, combine_summaries, train_dpo

    cfg: DpoConfig = ctx.config
    state = ctx.work_dir / "checkpoints"
    judge = build_training_judge(with_verdict_cache(cfg.judge, state / "judge_cache"), where="dpo.judge")  # refuses before a model is loaded
    model, tokenizer, template_sha = load_chat_model(ctx, cfg.lora)
    task = heldout_tasks(cfg)[0]
    k = cfg.samples_per_prompt

    def heldout(policy, where: Path) -> tuple[dict, list[dict]]:
        """`policy`'s held-out report and judged answers, kept under `where` so a rerun never pays twice."""
        report_path, answers_path = where / "heldout.json", where / "heldout_answers.jsonl"
        if report_path.exists() and answers_path.exists():
            return json.loads(report_path.read_text(encoding="utf-8")), read_jsonl(answers_path)
        report, records = measure_rules(HFChatGenerator(policy, tokenizer, ctx.device), judge, task, ctx.seed)
        write_jsonl(answers_path, records)
        atomic_write_json(report_path, report)  # written last: its presence means the answers are complete
        return report, records

    before, previous_answers = heldout(model, state / "input")
    previous_report = before
    ctx.log.info(f"held-out pass rate before: {before['rule_pass_rate']:.3f} (all rules {before['all_rules_pass_rate']:.3f})")

    prompt_rows = read_jsonl(ctx.input_path("prompts"))
    prompts = [row["messages"] for row in prompt_rows]
    use_case_of = {json.dumps(row["messages"], sort_keys=True): (row.get("meta") or {}).get("use_case") for row in prompt_rows}
    all_samples, all_pairs, rounds = [], [], []
    policy, policy_dir = model, None  # policy_dir: the latest finished round's adapter, not yet loaded
    kept_dir: Path | None = None  # the latest round's adapter that the length guard let stand

    def current_policy():
        nonlocal policy, policy_dir
        if policy_dir is not None:
            policy, policy_dir = PeftModel.from_pretrained(model, policy_dir, is_trainable=True), None
        return policy

    server = build_engine(cfg.engine) if cfg.engine.kind != "hf" else None

    def sampler():
        """The engine that samples this round's answers from the current policy."""
        if server is None:
            return HFChatGenerator(current_policy(), tokenizer, ctx.device, cache=cfg.engine.cache, compile=cfg.engine.compile)
        if kept_dir is not None:  # the server holds the input model; the policy is an adapter on it
            server.use_adapter(f"steep-dpo-{ctx.work_dir.parent.name}-{kept_dir.parent.name}", kept_dir)
        return server

    for index in range(cfg.rounds):
        round_dir = state / f"round{index}"
        done = round_dir / "done.json"
        if (round_dir / "pairs.jsonl").exists():
            samples, pairs = read_jsonl(round_dir / "samples.jsonl"), read_jsonl(round_dir / "pairs.jsonl")
            ctx.log.info(f"round {index}: reusing {len(samples)} judged samples and {len(pairs)} pairs from an earlier attempt")
        else:
            generator = sampler()
            chosen_prompts = round_prompts(prompts, cfg.max_prompts_per_round, index)
            samples, pairs = sample_preference_pairs(
                generator, judge, chosen_prompts, k, cfg.generation, ctx.seed + index, cfg.min_margin, cfg.length_neutral_pairs
            )
            sampled_by = kept_dir.parent.name if kept_dir is not None else "input"  # the policy these answers came from
            for row in samples + pairs:
                row |= {"round": index, "policy": sampled_by}
            write_jsonl(round_dir / "samples.jsonl", samples)
            write_jsonl(round_dir / "pairs.jsonl", pairs)  # written last: its presence means the round is judged
            ctx.log.info(f"round {index}: sampled and judged {len(samples)} answers to {len(chosen_prompts)} prompts")
        all_samples.extend(samples)
        all_pairs.extend(pairs)
        if done.exists():
            summary = json.loads(done.read_text(encoding="utf-8"))
            rounds.append(summary)
            if summary.get("stopped_by_length_guard"):  # this round's policy was dropped: the previous one stands
                break
            if summary["pairs"]:
                policy_dir = kept_dir = round_dir / "policy"
            previous_report, previous_answers = heldout(None, round_dir)  # cached: no model is needed
            continue

        summary = {"round": index, **sampled_report(samples, pairs, k)}
        if by_use_case := pass_rate_by_use_case(samples, use_case_of):
            summary["sampled_pass_rate_by_use_case"] = by_use_case
        ctx.log.info(
            f"round {index}: {len(pairs)} pairs, {summary['tie_rate']:.0%} of prompts tied, sampled pass rate "
            f"{summary['sampled_pass_rate']:.3f} (all rules {summary['sampled_all_rules_pass_rate']:.3f})"
        )
        if pairs:
            if (round_dir / "policy").exists() and (round_dir / "train.json").exists():  # trained before a kill
                train_summary = json.loads((round_dir / "train.json").read_text(encoding="utf-8"))
                policy_dir = round_dir / "policy"
            else:
                place = TrainPlace(
                    round_dir / "trainer", ctx.work_dir / "metrics.jsonl", phase=f"round{index}", seed=ctx.seed + index,
                    device=ctx.device, log=ctx.log,
                )  # fmt: skip
                policy, train_summary = train_dpo(
                    current_policy(), tokenizer, pairs, lora=cfg.lora, optim=cfg.optim, beta=cfg.beta, max_length=cfg.max_length,
                    place=place, reference=cfg.reference, sft_loss_weight=cfg.sft_loss_weight,
                )  # fmt: skip
                _save_policy(policy, round_dir)
                atomic_write_json(round_dir / "train.json", train_summary)
            summary |= train_summary
            report, answers = heldout(current_policy(), round_dir)
        else:
            ctx.log.info(f"round {index}: every prompt's samples tied: nothing to learn from this round")
            report, answers = previous_report, previous_answers
            write_jsonl(round_dir / "heldout_answers.jsonl", answers)
            atomic_write_json(round_dir / "heldout.json", report)
        summary |= {f"heldout_{key}": value for key, value in report.items()}
        versus = win_rate(judge, [r["prompt"] for r in answers], [r["answer"] for r in answers], [r["answer"] for r in previous_answers])
        summary |= {"win_rate_vs_previous": versus["win_rate"], "both_order_agreement": versus["both_order_agreement"]}
        summary["length_drift"] = length_drift(report["mean_answer_len"], before["mean_answer_len"])
        ctx.log.info(
            f"round {index}: held-out pass rate {report['rule_pass_rate']:.3f} (all rules {report['all_rules_pass_rate']:.3f}), "
            f"{report['mean_answer_len']:.1f} words ({summary['length_drift']:+.0%}), win rate vs previous {versus['win_rate']:.3f}"
        )
        guard = cfg.length_guard
        if guard.action != "off" and abs(summary["length_drift"]) > guard.max_drift:
            summary["length_flagged"] = True
            summary["stopped_by_length_guard"] = guard.action == "stop"
            message = (
                f"dpo round {index}: held-out answers are {report['mean_answer_len']:.1f} words against the input model's "
                f"{before['mean_answer_len']:.1f} ({summary['length_drift']:+.0%}; dpo.length_guard.max_drift={guard.max_drift})"
            )
            if guard.action == "stop" and kept_dir is None:
                raise RuntimeError(
                    f"{message}: no earlier round's policy to keep (length_guard.action=stop); turn on "
                    "dpo.length_neutral_pairs, raise dpo.sft_loss_weight or lower dpo.optim.learning_rate"
                )
            ctx.log.warning(message + (f"; keeping {kept_dir.parent.name}'s policy, no further rounds" if guard.action == "stop" else "; flagged"))
        atomic_write_json(done, summary)
        _append_metrics_row(ctx.work_dir / "metrics.jsonl", {"phase": "dpo_round", **{key: value for key, value in summary.items() if not isinstance(value, dict)}})
        rounds.append(summary)
        if summary.get("stopped_by_length_guard"):
            _restore_adapter(current_policy(), kept_dir)
            break
        previous_report, previous_answers = report, answers
        if pairs:
            kept_dir = round_dir / "policy"

    policy = current_policy()
    if not hasattr(policy, "peft_config"):
        raise RuntimeError("dpo produced no preference pairs in any round: raise samples_per_prompt or temperature, or lower min_margin")
    after = previous_report
    ctx.log.info(f"held-out pass rate after: {after['rule_pass_rate']:.3f} (all rules {after['all_rules_pass_rate']:.3f})")
    write_jsonl(ctx.work_dir / "samples.jsonl", all_samples)
    write_jsonl(ctx.work_dir / "pairs.jsonl", all_pairs)
    saved = save_adapter_and_model(policy, tokenizer, ctx.work_dir)
    ctx.add_outputs("samples.jsonl", "pairs.jsonl", "adapter", "model")
    reports = {"before": before, "after": after}
    moved = {f"{key}_{when}": reports[when][key] for key in before for when in reports}  # rule_pass_rate_before, ...
    lineage = {"judge": judge.identity, "reference": cfg.reference, "chat_template_sha256": template_sha}
    return {
        **moved, "rounds": rounds, "pairs": len(all_pairs), **lineage, **judge.usage.to_dict(),
        **combine_summaries(rounds), **saved,
    }  # fmt: skip


STAGE = StageSpec(
    name="dpo", config=DpoConfig, run=run, consumes=consumes, produces=("samples", "pairs", "adapter", "model"),
    makes_model=True, tasks=heldout_tasks,
)  # fmt: skip
