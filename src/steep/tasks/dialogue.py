"""Multi-turn rollouts against a simulated user, whole-conversation judging, and late-turn coherence.

    dialogues = roll_out(generator, scenarios, rollouts=4, max_turns=12, system_prompt="", generation=g, seed=0)
    verdicts = judge_dialogues(judge, dialogues)          # per-turn scores and rationales attached in place
    late, by_turn, dialogues = measure_coherence(generator, judge, CoherenceTask(...), seed=0)

rs rolls out its training scenarios with `roll_out` (per-turn best-of-k optional) and measures held-out
coherence with `measure_coherence`; eval calls the same function on every stage's model.
"""

from __future__ import annotations

from steep.generate.config import GenerationConfig
from steep.generate.hf import HFChatGenerator
from steep.judge.base import Judge, rank_verdicts
from steep.simulate.user import Scenario, ScriptedUser, load_scenarios
from steep.tasks.metrics import coherence_by_turn, coherence_late
from steep.tasks.spec import CoherenceTask


def roll_out(
    generator: HFChatGenerator,
    scenarios: list[Scenario],
    rollouts: int,
    max_turns: int,
    system_prompt: str,
    generation: GenerationConfig,
    seed: int,
    *,
    judge: Judge | None = None,
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


def judge_dialogues(judge: Judge, dialogues: list[dict]) -> list[list]:
    """Attach per-turn verdicts to each dialogue (in place) and return the verdict lists."""
    all_verdicts = []
    for dialogue in dialogues:
        verdicts = judge.judge_conversation(dialogue["messages"])
        dialogue["turn_scores"] = [v.score for v in verdicts]
        dialogue["turn_rationales"] = [v.rationale for v in verdicts]
        dialogue["score"] = sum(v.score for v in verdicts) / len(verdicts) if verdicts else 0.0
        dialogue["judge"] = judge.identity
        all_verdicts.append(verdicts)
    return all_verdicts


def measure_coherence(generator: HFChatGenerator, judge: Judge, task: CoherenceTask, seed: int) -> tuple[float, dict[int, float], list[dict]]:
    """(late-turn coherence, mean score by assistant turn, the judged held-out dialogues)."""
    scenarios = load_scenarios(task.heldout)[: task.max_dialogues]
    dialogues = roll_out(generator, scenarios, task.rollouts, task.max_turns, task.system_prompt, task.generation, seed)
    verdicts = judge_dialogues(judge, dialogues)
    return coherence_late(verdicts, from_turn=task.late_turn), coherence_by_turn(verdicts), dialogues
