"""dpo: online DPO. The policy samples answers, the judge ranks them, the best/worst pairs train the policy.

    steep dpo PIPELINE.yaml

Each round samples `samples_per_prompt` answers per prompt from the *current* policy (that is what makes it
online), judges every answer (scores and rationale are kept in `samples.jsonl`), turns each prompt's best and worst
answer into a preference pair (`pairs.jsonl`, skipped when they tie) and runs core trl `DPOTrainer` on them. The
policy is a LoRA adapter on the sft model; with the adapter disabled, the same weights are the frozen reference,
so no second copy of the model is held in memory. Metrics: rule pass rate and mean answer length on held-out
prompts (greedy), before and after.
"""

from __future__ import annotations

from pathlib import Path

from steep.artifacts import read_jsonl, write_jsonl
from steep.config import GenerationConfig
from steep.evaluate.metrics import all_rules_pass_rate, mean_words, per_rule_pass_rates, rule_pass_rate
from steep.generate.hf import HFChatGenerator
from steep.judge.base import pair_from_verdicts
from steep.judge.rules import RulesJudge
from steep.train.common import compact_progress, load_stage_model, peft_lora_config, trainable_parameters, trainer_arguments
from steep.train.sft import save_adapter_and_model


def judged_answers(generator: HFChatGenerator, judge: RulesJudge, prompts: list[list[dict]], generation: GenerationConfig, seed: int):
    answers = [g.text for g in generator.generate_chat(prompts, generation, seed=seed)]
    verdicts = [judge.judge(prompt, answer) for prompt, answer in zip(prompts, answers)]
    return answers, verdicts


def heldout_report(generator, judge, prompts, generation, seed, samples: int = 1) -> dict:
    """Rule pass rate and answer length on held-out prompts; with `samples` > 1 (and sampling on) the expected
    pass rate of the policy's own distribution, which is what DPO optimizes and is steadier than one greedy
    answer per prompt from a small model."""
    answers, verdicts = judged_answers(generator, judge, [p for p in prompts for _ in range(samples)], generation, seed)
    return {
        "rule_pass_rate": rule_pass_rate(verdicts),
        "all_rules_pass_rate": all_rules_pass_rate(verdicts),
        "mean_answer_len": mean_words(answers),
        "per_rule": per_rule_pass_rates(verdicts),
    }


def sample_preference_pairs(generator, judge, prompts, k: int, generation: GenerationConfig, seed: int):
    """Sample k answers per prompt, judge them; return (judged sample rows, preference pairs)."""
    repeated = [prompt for prompt in prompts for _ in range(k)]
    answers, verdicts = judged_answers(generator, judge, repeated, generation, seed)
    samples, pairs = [], []
    for index, prompt in enumerate(prompts):
        group = slice(index * k, (index + 1) * k)
        group_answers, group_verdicts = answers[group], verdicts[group]
        for answer, verdict in zip(group_answers, group_verdicts):
            samples.append({"prompt": prompt, "answer": answer, "score": verdict.score, "passed": verdict.passed, "rationale": verdict.rationale})
        pair = pair_from_verdicts(prompt, group_answers, group_verdicts)
        if pair is not None:
            pairs.append(pair.to_record(include_judgement=True))
    return samples, pairs


def train_dpo_round(model, tokenizer, pairs: list[dict], cfg, work_dir: Path, seed: int, device: str, round_index: int):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    args = DPOConfig(
        **trainer_arguments(cfg.optim, Path(work_dir) / f"round{round_index}", seed + round_index, device),
        beta=cfg.beta,
        max_length=cfg.max_length,
        dataset_num_proc=None,
    )
    peft_config = None if hasattr(model, "peft_config") else peft_lora_config(cfg.lora)
    trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_list(pairs), processing_class=tokenizer, peft_config=peft_config)
    compact_progress(trainer)
    result = trainer.train()
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    return trainer.model, {
        "train_loss_final": logged[-1]["loss"] if logged else None,
        "reward_margin_final": logged[-1].get("rewards/margins") if logged else None,
        "train_runtime_s": result.metrics.get("train_runtime"),
    }


def run(ctx) -> dict:
    cfg = ctx.config.dpo
    model, tokenizer, template_sha = load_stage_model(ctx, cfg.lora)
    judge = RulesJudge(cfg.judge)

    prompts = [row["messages"] for row in read_jsonl(Path(cfg.prompts))]
    heldout = [row["messages"] for row in read_jsonl(Path(cfg.heldout))][: cfg.max_heldout]
    before = heldout_report(HFChatGenerator(model, tokenizer, ctx.device), judge, heldout, cfg.heldout_generation, ctx.seed, cfg.heldout_samples)
    ctx.log(f"held-out rule pass rate before: {before['rule_pass_rate']:.3f}")

    all_samples, all_pairs, rounds = [], [], []
    policy = model
    for round_index in range(cfg.rounds):
        round_prompts = _round_prompts(prompts, cfg.max_prompts_per_round, round_index)
        generator = HFChatGenerator(policy, tokenizer, ctx.device)
        samples, pairs = sample_preference_pairs(generator, judge, round_prompts, cfg.samples_per_prompt, cfg.generation, ctx.seed + round_index)
        sample_pass = rule_pass_rate_of(samples)
        ctx.log(f"round {round_index}: {len(pairs)} pairs from {len(round_prompts)} prompts, sampled pass rate {sample_pass:.3f}")
        for row in samples:
            row["round"] = round_index
        for row in pairs:
            row["round"] = round_index
        all_samples.extend(samples)
        all_pairs.extend(pairs)
        if not pairs:
            ctx.log("every prompt's samples tied: nothing to learn from this round")
            rounds.append({"round": round_index, "pairs": 0, "sampled_pass_rate": sample_pass})
            continue
        policy, train_metrics = train_dpo_round(policy, tokenizer, pairs, cfg, ctx.work_dir, ctx.seed, ctx.device, round_index)
        rounds.append({"round": round_index, "pairs": len(pairs), "sampled_pass_rate": sample_pass, **train_metrics})

    write_jsonl(ctx.work_dir / "samples.jsonl", all_samples)
    write_jsonl(ctx.work_dir / "pairs.jsonl", all_pairs)
    ctx.add_output("pairs", ctx.work_dir / "pairs.jsonl")
    if not hasattr(policy, "peft_config"):
        raise RuntimeError("dpo produced no preference pairs in any round: raise samples_per_prompt or temperature")
    after = heldout_report(HFChatGenerator(policy, tokenizer, ctx.device), judge, heldout, cfg.heldout_generation, ctx.seed, cfg.heldout_samples)
    ctx.log(f"held-out rule pass rate after: {after['rule_pass_rate']:.3f}")
    params = trainable_parameters(policy)
    saved = save_adapter_and_model(policy, tokenizer, ctx)
    return {
        "rule_pass_rate_before": before["rule_pass_rate"],
        "rule_pass_rate_after": after["rule_pass_rate"],
        "all_rules_pass_rate_before": before["all_rules_pass_rate"],
        "all_rules_pass_rate_after": after["all_rules_pass_rate"],
        "mean_answer_len_before": before["mean_answer_len"],
        "mean_answer_len_after": after["mean_answer_len"],
        "per_rule_before": before["per_rule"],
        "per_rule_after": after["per_rule"],
        "rounds": rounds,
        "pairs": len(all_pairs),
        "heldout_prompts": len(heldout),
        "chat_template_sha256": template_sha,
        **params,
        **saved,
    }


def rule_pass_rate_of(samples: list[dict]) -> float:
    return sum(s["score"] for s in samples) / len(samples) if samples else 0.0


def _round_prompts(prompts: list[list[dict]], limit: int, round_index: int) -> list[list[dict]]:
    """Rotate through the prompt pool so successive rounds see different prompts when the pool is larger."""
    if len(prompts) <= limit:
        return prompts
    start = (round_index * limit) % len(prompts)
    rotated = prompts[start:] + prompts[:start]
    return rotated[:limit]
