"""Multi-turn rollouts against a simulated user, whole-conversation judging, late-turn coherence and fact recall.

    dialogues = roll_out(generator, scenarios, rollouts=4, max_turns=12, system_prompt="", generation=g, seed=0,
                         make_user=user_factory(TemplateUserConfig(), max_turns=12))
    judge_dialogues(judge, dialogues, worst_turn_weight=0.5, fact_recall_weight=0.5)   # scores attached in place
    report, dialogues = measure_coherence_report(generator, judge, CoherenceTask(...), seed=0)

rs rolls out its training scenarios with `roll_out` (per-turn best-of-k optional) and measures held-out
coherence with `measure_coherence_report`; eval calls `measure_coherence` (the same numbers) on every model.

A judged dialogue (a row of rs's `dialogues.jsonl`) holds: `scenario_id`, `rollout`, `messages`, `end_reason`
(why the user stopped), `facts` and `user_asks` (what fact recall checked), `turn_scores`, `turn_rationales`,
`worst_turn` (1-based), `worst_turn_score`, `worst_turn_rationale`, `rules_mean`, `fact_recall`, `fact_misses`
(`{turn, fact}` for every due fact the reply lacked), `score` (the conversation score) and `judge`.
"""

from __future__ import annotations

import math
from collections import Counter

from steep.generate.config import GenerationConfig
from steep.generate.hf import HFChatGenerator
from steep.judge.base import Judge, Verdict, rank_verdicts
from steep.simulate.model_user import ModelUserConfig, next_turns, user_factory
from steep.simulate.user import Scenario, ScriptedUser, load_scenarios
from steep.tasks.metrics import all_rules_late, coherence_by_turn, coherence_late, fact_checks, fact_recall, fact_recall_by_turn, fact_recall_late
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
    make_user=None,
    fact_recall_weight: float = 0.0,
    hint_prefill: str | None = None,
    hint_share: float = 0.5,
) -> list[dict]:
    """Play every (scenario, rollout) conversation to its end; one batched generate call per turn.

    `make_user(scenario)` builds the simulator (default `ScriptedUser`); the conversation ends when it says so
    (`end_reason`) or after `max_turns` assistant turns ("turn_limit").

    With `candidates_per_turn` k > 1, each turn samples k replies and keeps the best in context (rejection
    sampling per turn): the judge's score, blended with the share of due facts the reply gives back when
    `fact_recall_weight` > 0. A 12-turn dialogue then carries the best of k at every turn instead of hoping one
    of a few whole rollouts happens to be good throughout, which for long dialogues is rare.
    """
    if candidates_per_turn > 1 and judge is None:
        raise ValueError("per-turn selection needs a judge")
    make_user = make_user or ScriptedUser
    conversations = []
    for scenario in scenarios:
        facts = [f.model_dump() for f in scenario.all_facts]
        for rollout in range(rollouts):
            start = [{"role": "system", "content": system_prompt}] if system_prompt else []
            conversations.append({"scenario_id": scenario.id, "rollout": rollout, "user": make_user(scenario), "messages": start,
                                  "facts": facts, "user_asks": {}, "end_reason": None})  # fmt: skip
    for turn in range(max_turns):
        waiting = [c for c in conversations if c["end_reason"] is None]
        if not waiting:
            break
        active = []
        for conversation, move in zip(waiting, next_turns([c["user"] for c in waiting], [c["messages"] for c in waiting])):
            if move.text is None:
                conversation["end_reason"] = move.end or "script_done"
                continue
            conversation["messages"].append({"role": "user", "content": move.text})
            if move.asks:
                conversation["user_asks"][str(turn + 1)] = list(move.asks)
            active.append(conversation)
        if not active:
            break
        k = candidates_per_turn
        hinted = math.ceil(hint_share * k) if hint_prefill else 0
        prefixes = [_hint(hint_prefill, c) if j < hinted else None for c in active for j in range(k)]
        replies = _generate(generator, [c["messages"] for c in active for _ in range(k)], prefixes, generation, seed + turn)
        options = [replies[i * k : (i + 1) * k] for i in range(len(active))]
        if k > 1:
            flat = [(c, option) for c, opts in zip(active, options) for option in opts]
            verdicts = judge.judge_batch([c["messages"] for c, _ in flat], [option for _, option in flat])
            if fact_recall_weight > 0:
                verdicts = [_with_turn_recall(v, c, option, fact_recall_weight) for v, (c, option) in zip(verdicts, flat)]
            options = [[opts[rank_verdicts(opts, verdicts[i * k : (i + 1) * k])[0]]] for i, opts in enumerate(options)]
        for conversation, opts in zip(active, options):
            conversation["messages"].append({"role": "assistant", "content": opts[0]})
    dialogues = []
    for c in conversations:
        dialogues.append({"scenario_id": c["scenario_id"], "rollout": c["rollout"], "messages": c["messages"],
                          "end_reason": c["end_reason"] or "turn_limit", "facts": c["facts"], "user_asks": c["user_asks"]})  # fmt: skip
    return dialogues


def _hint(template: str | None, conversation: dict) -> str | None:
    """The prefill for this turn: `template` with the facts due now, or None when a field is not due."""
    messages = conversation["messages"] + [{"role": "assistant", "content": ""}]
    turn = sum(1 for m in messages if m.get("role") == "user")
    due = {c["fact"] for c in fact_checks(messages, conversation["facts"], conversation["user_asks"]) if c["turn"] == turn}
    values = {f["name"]: f["value"] for f in conversation["facts"] if f["name"] in due}
    try:
        return template.format(**values) if template else None
    except (KeyError, IndexError):
        return None


def _generate(generator, conversations: list[list[dict]], prefixes: list[str | None], generation: GenerationConfig, seed: int) -> list[str]:
    """Reply texts; a conversation with a prefix gets a reply that continues it (prefix + " " + continuation)."""
    if not any(prefixes):
        return [reply.text for reply in generator.generate_chat(conversations, generation, seed=seed)]
    if not isinstance(generator, HFChatGenerator):
        raise ValueError("hint_prefill needs the in-process HF engine (it continues a rendered prompt)")
    replies = generator.generate_chat(conversations, generation, seed=seed, prefixes=prefixes)
    return [f"{p.rstrip()} {r.text}".rstrip() if p else r.text for p, r in zip(prefixes, replies)]


def _with_turn_recall(verdict: Verdict, conversation: dict, option: str, weight: float) -> Verdict:
    """The verdict with its score blended with this reply's fact recall (unchanged when no fact is due)."""
    messages = conversation["messages"] + [{"role": "assistant", "content": option}]
    turn = sum(1 for m in messages if m.get("role") == "user")
    checks = [c for c in fact_checks(messages, conversation["facts"], conversation["user_asks"]) if c["turn"] == turn]
    if not checks:
        return verdict
    recall = sum(c["hit"] for c in checks) / len(checks)
    return Verdict((1 - weight) * verdict.score + weight * recall, verdict.passed, verdict.rationale)


def conversation_score(turn_scores: list[float], recall: float | None, *, worst_turn_weight: float, fact_recall_weight: float) -> float:
    """`(1 - w_worst - w_recall) * mean turn score + w_worst * worst turn + w_recall * fact recall`.

    The worst-turn term is what makes one bad turn sink a conversation: with w_worst = 0.5, a 12-turn dialogue
    with one turn at 0.0 and the rest at 1.0 scores 0.5 * 0.917 + 0.5 * 0.0 = 0.458, below a dialogue steady at
    0.75 (0.75). With no fact due (recall None) its weight goes to the mean turn score."""
    if not turn_scores:
        return 0.0
    if recall is None:
        recall, fact_recall_weight = 0.0, 0.0
    mean = sum(turn_scores) / len(turn_scores)
    return (1 - worst_turn_weight - fact_recall_weight) * mean + worst_turn_weight * min(turn_scores) + fact_recall_weight * recall


def judge_dialogues(judge: Judge, dialogues: list[dict], *, worst_turn_weight: float = 0.0, fact_recall_weight: float = 0.0) -> list[list]:
    """Judge every assistant turn (through the judge door: rules, HTTP or model judges alike), check fact
    recall, and attach the scores to each dialogue in place (see the module docstring); return the verdicts.

    With both weights 0 (the default) `score` is the mean turn score, as held-out coherence has always used."""
    if worst_turn_weight + fact_recall_weight > 1:
        raise ValueError("worst_turn_weight + fact_recall_weight must be <= 1")
    all_verdicts = []
    for dialogue in dialogues:
        verdicts = judge.judge_conversation(dialogue["messages"])
        scores = [v.score for v in verdicts]
        checks = fact_checks(dialogue["messages"], dialogue.get("facts", []), dialogue.get("user_asks"))
        recall = fact_recall([checks])
        worst = min(range(len(scores)), key=lambda i: (scores[i], i)) if scores else None
        dialogue["turn_scores"] = scores
        dialogue["turn_rationales"] = [v.rationale for v in verdicts]
        dialogue["worst_turn"] = worst + 1 if worst is not None else None
        dialogue["worst_turn_score"] = scores[worst] if worst is not None else None
        dialogue["worst_turn_rationale"] = verdicts[worst].rationale if worst is not None else None
        dialogue["rules_mean"] = sum(scores) / len(scores) if scores else 0.0
        dialogue["fact_recall"] = recall
        dialogue["fact_misses"] = [{"turn": c["turn"], "fact": c["fact"]} for c in checks if not c["hit"]]
        dialogue["score"] = conversation_score(scores, recall, worst_turn_weight=worst_turn_weight, fact_recall_weight=fact_recall_weight)
        dialogue["judge"] = judge.identity
        all_verdicts.append(verdicts)
    return all_verdicts


def coherence_report(dialogues: list[dict], verdicts: list[list], late_turn: int) -> dict:
    """Coherence as users feel it, on judged dialogues: the rule pass rate late (`coherence_late`) and by turn,
    every rule passed late (`all_rules_late`, consistency with the system prompt), fact recall late and by turn,
    and why the users stopped."""
    checks = [fact_checks(d["messages"], d.get("facts", []), d.get("user_asks")) for d in dialogues]
    return {
        "coherence_late": coherence_late(verdicts, from_turn=late_turn),
        "coherence_by_turn": coherence_by_turn(verdicts),
        "fact_recall_late": fact_recall_late(checks, from_turn=late_turn),
        "fact_recall_by_turn": fact_recall_by_turn(checks),
        "all_rules_late": all_rules_late(verdicts, from_turn=late_turn),
        "end_reasons": dict(sorted(Counter(d["end_reason"] for d in dialogues).items())),
    }


def build_users(user_config, *, max_turns: int, seed: int, device: str = "cpu"):
    """`make_user` for a user config: a model user's engine is an OpenAI-compatible client or a local HF model."""
    if not isinstance(user_config, ModelUserConfig):
        return user_factory(user_config, max_turns=max_turns, seed=seed)
    if user_config.backend == "openai":
        from steep.generate.config import OpenAIEngineConfig
        from steep.generate.openai_engine import OpenAIChatGenerator

        if not user_config.base_url:
            raise ValueError("user.base_url is required for backend: openai")
        engine = OpenAIChatGenerator(OpenAIEngineConfig(
            base_url=user_config.base_url, model=user_config.model, api_key_env=user_config.api_key_env, timeout_s=user_config.timeout_s,
        ))  # fmt: skip
    else:
        from steep.model.load import load_model, load_tokenizer
        from steep.model.template import ensure_chat_template

        tokenizer = load_tokenizer(user_config.model)
        model = load_model(user_config.model, device)
        ensure_chat_template(tokenizer, model)
        engine = HFChatGenerator(model, tokenizer, device)
    generation = GenerationConfig(max_new_tokens=user_config.max_new_tokens, temperature=user_config.temperature, top_p=user_config.top_p)
    return user_factory(user_config, max_turns=max_turns, seed=seed, engine=engine, generation=generation)


def measure_coherence_report(generator: HFChatGenerator, judge: Judge, task: CoherenceTask, seed: int, make_user=None) -> tuple[dict, list[dict]]:
    """(`coherence_report` of the task's held-out rollouts, the judged dialogues)."""
    scenarios = load_scenarios(task.heldout)[: task.max_dialogues]
    make_user = make_user or build_users(task.user, max_turns=task.max_turns, seed=seed)
    dialogues = roll_out(generator, scenarios, task.rollouts, task.max_turns, task.system_prompt, task.generation, seed, make_user=make_user)
    verdicts = judge_dialogues(judge, dialogues)
    return coherence_report(dialogues, verdicts, task.late_turn), dialogues


def measure_coherence(generator: HFChatGenerator, judge: Judge, task: CoherenceTask, seed: int) -> tuple[float, dict[int, float], list[dict]]:
    """(late-turn coherence, mean score by assistant turn, the judged held-out dialogues)."""
    report, dialogues = measure_coherence_report(generator, judge, task, seed)
    return report["coherence_late"], report["coherence_by_turn"], dialogues
