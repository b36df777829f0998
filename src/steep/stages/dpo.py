"""dpo: online DPO. The policy samples answers, the judge ranks them, the best/worst pairs train the policy.

    steep dpo PIPELINE.yaml

Each round samples `samples_per_prompt` answers per prompt from the *current* policy (that is what makes it
online), judges every answer (scores, rationale and the judge's identity are kept in `samples.jsonl`), turns each
prompt's best and worst answer into a preference pair (`pairs.jsonl`, skipped when they tie) and runs core trl
`DPOTrainer` on them. The policy is a LoRA adapter on the input model; with the adapter disabled, the same
weights are the frozen reference, so no second copy of the model is held in memory. Metrics: rule pass rate and
mean answer length on held-out prompts, before and after.

A killed dpo resumes where it stopped: every round keeps its judged samples and pairs, its trainer checkpoints
and, once trained, its policy adapter under `checkpoints/round<i>/`; a rerun reuses what was paid for (no
sample is drawn or judged twice), continues the round's training from its last checkpoint, and ends with the
pairs an uninterrupted run has.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from pydantic import Field

from steep.artifacts import atomic_write_json, read_jsonl, write_jsonl
from steep.generate.config import GenerationConfig
from steep.judge.factory import JudgeConfig
from steep.model.config import LoraConfig
from steep.schema import ExistingPath, StrictModel
from steep.stage import FileInput, PreviousModel, StageContext, StageSpec
from steep.tasks.spec import RulesTask
from steep.trainer.config import OptimConfig


class DpoConfig(StrictModel):
    """Online DPO: sample from the current policy, rank with the judge, train on best-vs-worst pairs, repeat."""

    enabled: bool = True
    prompts: ExistingPath
    heldout: ExistingPath
    judge: JudgeConfig
    rounds: int = Field(1, ge=1, description="sample, judge, train; the next round samples the trained policy")
    samples_per_prompt: int = Field(4, ge=2, description="answers per prompt; the best and worst make a pair")
    max_prompts_per_round: int = Field(256, ge=1)
    max_heldout: int = Field(64, ge=1)
    beta: float = Field(0.1, gt=0)
    max_length: int = Field(512, ge=16)
    lora: LoraConfig = LoraConfig()
    optim: OptimConfig = OptimConfig(learning_rate=5e-4, epochs=2, batch_size=8)
    generation: GenerationConfig = GenerationConfig(temperature=1.0)
    heldout_generation: GenerationConfig = GenerationConfig(temperature=0.0)
    heldout_samples: int = Field(1, ge=1, description="answers sampled per held-out prompt (use >1 with temperature > 0)")


def heldout_tasks(cfg: DpoConfig) -> list[RulesTask]:
    return [RulesTask(heldout=cfg.heldout, judge=cfg.judge, max_prompts=cfg.max_heldout, samples=cfg.heldout_samples, generation=cfg.heldout_generation)]


def consumes(cfg: DpoConfig) -> dict:
    return {"model": PreviousModel(), "prompts": FileInput(cfg.prompts), "heldout": FileInput(cfg.heldout)}


def sample_preference_pairs(generator, judge, prompts, k: int, generation: GenerationConfig, seed: int):
    """Sample k answers per prompt, judge them; return (judged sample rows, preference pairs)."""
    from steep.judge.base import pair_from_verdicts
    from steep.tasks.answers import judged_answers

    repeated = [prompt for prompt in prompts for _ in range(k)]
    answers, verdicts = judged_answers(generator, judge, repeated, generation, seed)
    samples, pairs = [], []
    for index, prompt in enumerate(prompts):
        group = slice(index * k, (index + 1) * k)
        group_answers, group_verdicts = answers[group], verdicts[group]
        for answer, verdict in zip(group_answers, group_verdicts):
            samples.append({"prompt": prompt, "answer": answer, **verdict.to_dict(), "judge": judge.identity})
        pair = pair_from_verdicts(prompt, group_answers, group_verdicts)
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


def sampled_pass_rate(samples: list[dict]) -> float:
    return sum(s["score"] for s in samples) / len(samples) if samples else 0.0


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


def run(ctx: StageContext) -> dict:
    from peft import PeftModel

    from steep.generate.hf import HFChatGenerator
    from steep.judge.factory import build_training_judge
    from steep.model.export import save_adapter_and_model
    from steep.model.load import load_chat_model
    from steep.tasks.answers import measure_rules
    from steep.trainer.core import TrainPlace, combine_summaries, train_dpo

    cfg: DpoConfig = ctx.config
    judge = build_training_judge(cfg.judge, where="dpo.judge")  # refuses before a model is loaded
    model, tokenizer, template_sha = load_chat_model(ctx, cfg.lora)
    task = heldout_tasks(cfg)[0]
    state = ctx.work_dir / "checkpoints"

    def heldout(policy) -> dict:
        return measure_rules(HFChatGenerator(policy, tokenizer, ctx.device), judge, task, ctx.seed)[0]

    before = _cached(state / "heldout_before.json", lambda: heldout(model))
    ctx.log.info(f"held-out rule pass rate before: {before['rule_pass_rate']:.3f}")

    prompts = [row["messages"] for row in read_jsonl(cfg.prompts)]
    all_samples, all_pairs, rounds = [], [], []
    policy, policy_dir = model, None  # policy_dir: the latest finished round's adapter, not yet loaded
    for index in range(cfg.rounds):
        round_dir = state / f"round{index}"
        done = round_dir / "done.json"
        if (round_dir / "pairs.jsonl").exists():
            samples, pairs = read_jsonl(round_dir / "samples.jsonl"), read_jsonl(round_dir / "pairs.jsonl")
            ctx.log.info(f"round {index}: reusing {len(samples)} judged samples and {len(pairs)} pairs from an earlier attempt")
        else:
            if policy_dir is not None:
                policy, policy_dir = PeftModel.from_pretrained(model, policy_dir, is_trainable=True), None
            generator = HFChatGenerator(policy, tokenizer, ctx.device)
            chosen_prompts = round_prompts(prompts, cfg.max_prompts_per_round, index)
            samples, pairs = sample_preference_pairs(generator, judge, chosen_prompts, cfg.samples_per_prompt, cfg.generation, ctx.seed + index)
            for row in samples + pairs:
                row["round"] = index
            write_jsonl(round_dir / "samples.jsonl", samples)
            write_jsonl(round_dir / "pairs.jsonl", pairs)  # written last: its presence means the round is judged
            ctx.log.info(f"round {index}: sampled and judged {len(samples)} answers to {len(chosen_prompts)} prompts")
        all_samples.extend(samples)
        all_pairs.extend(pairs)
        pass_rate = sampled_pass_rate(samples)
        if done.exists():
            summary = json.loads(done.read_text(encoding="utf-8"))
            if summary["pairs"]:
                policy_dir = round_dir / "policy"
            rounds.append(summary)
            continue
        ctx.log.info(f"round {index}: {len(pairs)} pairs, sampled pass rate {pass_rate:.3f}")
        summary = {"round": index, "pairs": len(pairs), "sampled_pass_rate": pass_rate}
        if pairs:
            if policy_dir is not None:
                policy, policy_dir = PeftModel.from_pretrained(model, policy_dir, is_trainable=True), None
            place = TrainPlace(
                round_dir / "trainer", ctx.work_dir / "metrics.jsonl", phase=f"round{index}", seed=ctx.seed + index,
                device=ctx.device, log=ctx.log,
            )  # fmt: skip
            policy, train_summary = train_dpo(policy, tokenizer, pairs, lora=cfg.lora, optim=cfg.optim, beta=cfg.beta, max_length=cfg.max_length, place=place)
            _save_policy(policy, round_dir)
            summary |= train_summary
        else:
            ctx.log.info(f"round {index}: every prompt's samples tied: nothing to learn from this round")
        atomic_write_json(done, summary)
        rounds.append(summary)
    if policy_dir is not None:
        policy = PeftModel.from_pretrained(model, policy_dir, is_trainable=True)
    if not hasattr(policy, "peft_config"):
        raise RuntimeError("dpo produced no preference pairs in any round: raise samples_per_prompt or temperature")

    after = heldout(policy)
    ctx.log.info(f"held-out rule pass rate after: {after['rule_pass_rate']:.3f}")
    write_jsonl(ctx.work_dir / "samples.jsonl", all_samples)
    write_jsonl(ctx.work_dir / "pairs.jsonl", all_pairs)
    saved = save_adapter_and_model(policy, tokenizer, ctx.work_dir)
    ctx.add_outputs("samples.jsonl", "pairs.jsonl", "adapter", "model")
    reports = {"before": before, "after": after}
    moved = {f"{key}_{when}": reports[when][key] for key in before for when in reports}  # rule_pass_rate_before, ...
    lineage = {"judge": judge.identity, "chat_template_sha256": template_sha}
    return {**moved, "rounds": rounds, "pairs": len(all_pairs), **lineage, **combine_summaries(rounds), **saved}


STAGE = StageSpec(
    name="dpo", config=DpoConfig, run=run, consumes=consumes, produces=("samples", "pairs", "adapter", "model"),
    makes_model=True, tasks=heldout_tasks,
)  # fmt: skip
