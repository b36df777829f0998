"""rs: rejection-sampled multi-turn SFT. Roll out whole dialogues against a simulated user, keep the best, train.

    steep rs PIPELINE.yaml

Each scenario is rolled out `rollouts_per_scenario` times (sampling), turn by turn, all conversations batched
together; with `candidates_per_turn` > 1 every turn is itself the judge's best of that many samples. The conversation judge scores every assistant turn (scores and rationales are kept in
`dialogues.jsonl`); a conversation's score is the mean of its turns. The best `keep_per_scenario` of each
scenario go to `kept.jsonl` and LoRA SFT trains on them, loss on assistant turns only. The metric is late-turn
coherence: the mean judge score of assistant turns >= `late_turn` in greedy rollouts of held-out scenarios.
"""

from __future__ import annotations

from pathlib import Path

from steep.artifacts import write_jsonl
from steep.config import GenerationConfig
from steep.evaluate.metrics import coherence_by_turn, coherence_late
from steep.generate.hf import HFChatGenerator
from steep.judge.base import rank_verdicts
from steep.judge.rules import RulesJudge
from steep.simulate.user import Scenario, ScriptedUser, load_scenarios
from steep.train.common import load_stage_model, trainable_parameters
from steep.train.sft import save_adapter_and_model, train_lora_on_chats


def roll_out(
    generator: HFChatGenerator,
    scenarios: list[Scenario],
    rollouts: int,
    max_turns: int,
    system_prompt: str,
    generation: GenerationConfig,
    seed: int,
    *,
    judge: RulesJudge | None = None,
    candidates_per_turn: int = 1,
) -> list[dict]:
    """Play every (scenario, rollout) conversation to its end; one batched generate call per turn.

    With `candidates_per_turn` k > 1, each turn samples k replies and keeps the one the judge scores best in
    context (rejection sampling per turn): a 12-turn dialogue then carries the best of k at every turn instead
    of hoping one of a few whole rollouts happens to be good throughout, which for long dialogues is rare.
    """
    if candidates_per_turn > 1 and judge is None:
        raise ValueError("per-turn selection needs a judge")
    conversations = []
    for scenario in scenarios:
        for rollout in range(rollouts):
            start = [{"role": "system", "content": system_prompt}] if system_prompt else []
            conversations.append({"scenario_id": scenario.id, "rollout": rollout, "user": ScriptedUser(scenario), "messages": start})
    for turn in range(max_turns):
        active = []
        for conversation in conversations:
            message = conversation["user"].next_message(conversation["messages"])
            if message is not None:
                conversation["messages"].append({"role": "user", "content": message})
                active.append(conversation)
        if not active:
            break
        k = candidates_per_turn
        replies = generator.generate_chat([c["messages"] for c in active for _ in range(k)], generation, seed=seed + turn)
        for index, conversation in enumerate(active):
            options = [reply.text for reply in replies[index * k : (index + 1) * k]]
            if k > 1:
                verdicts = [judge.judge(conversation["messages"], option) for option in options]
                options = [options[rank_verdicts(options, verdicts)[0]]]
            conversation["messages"].append({"role": "assistant", "content": options[0]})
    return [{"scenario_id": c["scenario_id"], "rollout": c["rollout"], "messages": c["messages"]} for c in conversations]


def judge_dialogues(judge: RulesJudge, dialogues: list[dict]) -> list[list]:
    """Attach per-turn verdicts to each dialogue (in place) and return the verdict lists."""
    all_verdicts = []
    for dialogue in dialogues:
        verdicts = judge.judge_conversation(dialogue["messages"])
        dialogue["turn_scores"] = [v.score for v in verdicts]
        dialogue["turn_rationales"] = [v.rationale for v in verdicts]
        dialogue["score"] = sum(v.score for v in verdicts) / len(verdicts) if verdicts else 0.0
        all_verdicts.append(verdicts)
    return all_verdicts


def keep_best(dialogues: list[dict], keep: int) -> list[dict]:
    """The `keep` highest-scoring dialogues of each scenario (ties: earlier rollout first, deterministic)."""
    by_scenario: dict[str, list[dict]] = {}
    for dialogue in dialogues:
        by_scenario.setdefault(dialogue["scenario_id"], []).append(dialogue)
    kept = []
    for group in by_scenario.values():
        kept.extend(sorted(group, key=lambda d: (-d["score"], d["rollout"]))[:keep])
    return kept


def late_coherence(generator, judge, scenarios, cfg, seed) -> tuple[float, dict[int, float], list[dict]]:
    dialogues = roll_out(generator, scenarios, cfg.heldout_rollouts, cfg.max_turns, cfg.system_prompt, cfg.heldout_generation, seed)
    verdicts = judge_dialogues(judge, dialogues)
    return coherence_late(verdicts, from_turn=cfg.late_turn), coherence_by_turn(verdicts), dialogues


def run(ctx) -> dict:
    cfg = ctx.config.rs
    model, tokenizer, template_sha = load_stage_model(ctx, cfg.lora)
    judge = RulesJudge(cfg.judge)
    scenarios = load_scenarios(Path(cfg.scenarios))[: cfg.max_scenarios]
    heldout = load_scenarios(Path(cfg.heldout))[: cfg.max_heldout]

    generator = HFChatGenerator(model, tokenizer, ctx.device)
    before, before_by_turn, _ = late_coherence(generator, judge, heldout, cfg, ctx.seed)
    ctx.log(f"held-out late coherence (turns >= {cfg.late_turn}) before: {before:.3f}")

    dialogues = roll_out(
        generator, scenarios, cfg.rollouts_per_scenario, cfg.max_turns, cfg.system_prompt, cfg.generation, ctx.seed,
        judge=judge, candidates_per_turn=cfg.candidates_per_turn,
    )
    judge_dialogues(judge, dialogues)
    kept = [d for d in keep_best(dialogues, cfg.keep_per_scenario) if d["score"] >= cfg.min_score]
    if not kept:
        raise RuntimeError(f"rs: no dialogue scored >= rs.min_score={cfg.min_score}; lower it or sample more")
    mean_all = sum(d["score"] for d in dialogues) / len(dialogues)
    mean_kept = sum(d["score"] for d in kept) / len(kept)
    ctx.log(f"{len(dialogues)} dialogues rolled out, mean score {mean_all:.3f}; kept {len(kept)}, mean {mean_kept:.3f}")
    write_jsonl(ctx.work_dir / "dialogues.jsonl", dialogues)
    write_jsonl(ctx.work_dir / "kept.jsonl", kept)
    ctx.add_output("dialogues", ctx.work_dir / "dialogues.jsonl")

    peft_model, train_metrics = train_lora_on_chats(
        model, tokenizer, [d["messages"] for d in kept],
        lora=cfg.lora, optim=cfg.optim, max_length=cfg.max_length, work_dir=ctx.work_dir, seed=ctx.seed, device=ctx.device,
    )
    after, after_by_turn, heldout_dialogues = late_coherence(HFChatGenerator(peft_model, tokenizer, ctx.device), judge, heldout, cfg, ctx.seed)
    ctx.log(f"held-out late coherence after: {after:.3f}")
    write_jsonl(ctx.work_dir / "heldout_dialogues.jsonl", heldout_dialogues)
    params = trainable_parameters(peft_model)
    saved = save_adapter_and_model(peft_model, tokenizer, ctx)
    return {
        "coherence_late_before": before,
        "coherence_late_after": after,
        "coherence_by_turn_before": before_by_turn,
        "coherence_by_turn_after": after_by_turn,
        "dialogues": len(dialogues),
        "kept": len(kept),
        "mean_score_all": mean_all,
        "mean_score_kept": mean_kept,
        "heldout_scenarios": len(heldout),
        "chat_template_sha256": template_sha,
        **params,
        **saved,
        "train_loss_final": train_metrics.get("train_loss_final"),
        "train_runtime_s": train_metrics.get("train_runtime"),
    }
