"""rs: rejection-sampled multi-turn SFT. Roll out whole dialogues against a simulated user, keep the best, train.

    steep rs PIPELINE.yaml

Each round, every scenario is rolled out `rollouts_per_scenario` times (K candidate conversations, sampled
from the current policy, all batched together) against a simulated user (`user`: scripted, template or a
model) that states facts (a name, a reference number, a constraint), asks them back, and ends when its goal is
reached, it gives up, or at `max_turns`. With `candidates_per_turn` > 1 every turn is itself the best of that
many samples. The judge scores every assistant turn (the judge door: rules, HTTP and model judges alike), and a
conversation's score blends the mean turn, the worst turn (one bad turn sinks a conversation) and fact recall
(did the replies keep what the user said; judge-independent, from the scenario's facts).

Selection, per scenario: the top `keep_per_scenario`, the top `keep_fraction`, or every candidate at or above
`min_score` (`keep`); never below `min_score`; near-duplicate keepers (word-shingle Jaccard >=
`near_duplicate_jaccard` with a keeper of the same scenario, this round or earlier) dropped. Keepers pool across
rounds, and each round trains a fresh LoRA on the input model with the whole pool (as ReST-EM retrains from the
base each iteration: no drift compounds, and training on the last round alone would forget earlier behaviour).
Loss on every assistant turn (or only on turns scoring >= `train_turn_min_score`), with earlier chats (`replay`,
e.g. sft's) mixed in so that long dialogues do not cost single answers. Scenarios with no keeper are listed in the
metrics and the log; scenarios whose candidates all score the same are warned about loudly and counted
(`tied_scenarios`): the judge cannot tell them apart, so "keeping the best" is a coin flip there. A round in
which facts were due and no candidate gave one back is warned about too: selection cannot raise fact recall there.

Held-out (before = the input model, after = the trained one, same scenarios, user and seed): `coherence_late`
(mean rule score on turns >= `late_turn`), `fact_recall_late`, `all_rules_late`, both by turn, and why users
stopped (`end_reasons`).

`dialogues.jsonl` holds every candidate of every round with its scores, worst turn, fact misses, `kept` and
`reject_reason`; `kept.jsonl` the pooled keepers. A killed rs resumes per round: a round's judged dialogues are
written before its training starts and reused by a rerun, a finished round's adapter is reloaded, and
training continues from its last checkpoint.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from typing import Literal

from pydantic import Field, model_validator

from steep.artifacts import atomic_write_json, iter_jsonl, read_jsonl, write_jsonl
from steep.generate.config import EngineConfig, GenerationConfig, HFEngineConfig
from steep.judge.factory import JudgeConfig
from steep.model.config import LoraConfig
from steep.schema import ExistingPath, StrictModel
from steep.simulate.model_user import TemplateUserConfig, UserConfig
from steep.stage import FileInput, FileOrStage, PreviousModel, StageContext, StageSpec, file_or_stage_output
from steep.tasks.metrics import shingle_jaccard
from steep.tasks.spec import CoherenceTask
from steep.trainer.config import OptimConfig

TIE = 1e-9  # candidates whose scores differ by less than this are tied


class ConversationScoring(StrictModel):
    """score = (1 - worst_turn_weight - fact_recall_weight) * mean turn + worst_turn_weight * worst turn +
    fact_recall_weight * fact recall (its weight goes to the mean when no fact is due)."""

    worst_turn_weight: float = Field(0.3, ge=0, le=1)
    fact_recall_weight: float = Field(0.3, ge=0, le=1)
    per_turn_fact_weight: float = Field(0.5, ge=0, le=1, description="fact recall's share when candidates_per_turn picks a turn's best")

    @model_validator(mode="after")
    def _weights_sum(self) -> ConversationScoring:
        if self.worst_turn_weight + self.fact_recall_weight > 1:
            raise ValueError("worst_turn_weight + fact_recall_weight must be <= 1")
        return self


class ChatReplayConfig(StrictModel):
    """Chats rs trains on beside its keepers, so learning long dialogues does not cost the single answers sft and
    dpo taught (rejection-sampling recipes mix the earlier SFT data back in): `ratio` replayed chats per kept one."""

    files: list[ExistingPath] = Field(min_length=1, description="JSONL rows with `messages` (e.g. sft's train file)")
    ratio: float = Field(0.5, gt=0, le=10)


class RsConfig(StrictModel):
    """Rejection-sampled multi-turn SFT: roll out dialogues, judge whole conversations, train on the best."""

    enabled: bool = True
    scenarios: FileOrStage = Field(description="a JSONL of scenarios, or {from: synth} (synth's rs_scenarios)")
    heldout: ExistingPath
    judge: JudgeConfig
    system_prompt: str = ""
    user: UserConfig = TemplateUserConfig()
    max_scenarios: int = Field(1000, ge=1, description="scenarios rolled out (the first N of the file)")
    rollouts_per_scenario: int = Field(4, ge=1, description="K candidate conversations per scenario and round")
    candidates_per_turn: int = Field(1, ge=1, description="sample k replies per turn and keep the best")
    rounds: int = Field(1, ge=1, description="roll out from the current policy, pool keepers, retrain; repeat")
    keep: Literal["top_k", "top_fraction", "above_min_score"] = "top_k"
    keep_per_scenario: int = Field(1, ge=1, description="keep: top_k keeps this many per scenario")
    keep_fraction: float = Field(0.25, gt=0, le=1, description="keep: top_fraction keeps ceil(this * K) per scenario")
    min_score: float = Field(0.0, ge=0, le=1, description="never keep a dialogue scoring below this")
    train_turn_min_score: float = Field(
        0.0, ge=0, le=1, description="assistant turns of a kept dialogue the judge scored below this stay as context, without loss"
    )
    near_duplicate_jaccard: float = Field(0.8, gt=0, le=1, description="drop a keeper this similar to one already kept (1.0: exact only)")
    scoring: ConversationScoring = ConversationScoring()
    replay: ChatReplayConfig | None = Field(None, description="earlier chats (sft's) mixed into rs training")
    hint_prefill: str | None = Field(None, description="STaR-style hint for training rollouts: a reply prefix with {fact} fields, e.g. 'Answer: For case {case_id}:'")
    hint_share: float = Field(0.5, ge=0, le=1, description="share of each turn's candidates that start from hint_prefill")
    max_turns: int = Field(12, ge=1)
    late_turn: int = Field(8, ge=1, description="coherence_late and fact_recall_late use assistant turns >= this")
    max_length: int = Field(1536, ge=16)
    max_heldout: int = Field(16, ge=1)
    heldout_rollouts: int = Field(1, ge=1, description="rollouts per held-out scenario (use >1 with temperature > 0)")
    lora: LoraConfig = LoraConfig()
    optim: OptimConfig = OptimConfig(learning_rate=3e-4, epochs=2, batch_size=4)
    generation: GenerationConfig = GenerationConfig(temperature=1.0)
    engine: EngineConfig = Field(HFEngineConfig(), description="where training rollouts are sampled: hf (in process) or openai (a vLLM server)")
    heldout_generation: GenerationConfig = GenerationConfig(temperature=0.0)

    @model_validator(mode="after")
    def _hints_need_the_local_engine(self) -> RsConfig:
        if self.hint_prefill and self.engine.kind != "hf":
            raise ValueError("hint_prefill starts replies inside the model's own template: it needs engine.kind: hf")
        return self


def heldout_tasks(cfg: RsConfig) -> list[CoherenceTask]:
    return [
        CoherenceTask(
            heldout=cfg.heldout, judge=cfg.judge, system_prompt=cfg.system_prompt, max_dialogues=cfg.max_heldout,
            max_turns=cfg.max_turns, late_turn=cfg.late_turn, rollouts=cfg.heldout_rollouts, generation=cfg.heldout_generation,
            user=cfg.user,
        )
    ]  # fmt: skip


def consumes(cfg: RsConfig) -> dict:
    inputs = {"model": PreviousModel(), "scenarios": file_or_stage_output(cfg.scenarios, "rs_scenarios"), "heldout": FileInput(cfg.heldout)}
    for i, path in enumerate(cfg.replay.files if cfg.replay else []):
        inputs[f"replay[{i}]"] = FileInput(path)
    return inputs


def replay_chats(replay: ChatReplayConfig, n_kept: int, seed: int) -> list[list[dict]]:
    """round(ratio * n_kept) chats drawn without replacement (all of them when there are fewer), the same for the
    same seed: a resumed round trains on the same mix."""
    rows = []
    for path in replay.files:
        for line, row in iter_jsonl(path):
            if not isinstance(row, dict) or not isinstance(row.get("messages"), list) or not row["messages"]:
                raise ValueError(f"rs.replay: {path}:{line} has no `messages` list")
            rows.append(row)
    wanted = min(len(rows), round(replay.ratio * n_kept))
    return [row["messages"] for row in random.Random(seed).sample(rows, wanted)]


def keep_best(dialogues: list[dict], keep: int) -> list[dict]:
    """The `keep` highest-scoring dialogues of each scenario (ties: earlier rollout first, deterministic)."""
    by_scenario: dict[str, list[dict]] = {}
    for dialogue in dialogues:
        by_scenario.setdefault(dialogue["scenario_id"], []).append(dialogue)
    kept = []
    for group in by_scenario.values():
        kept.extend(sorted(group, key=lambda d: (-d["score"], d["rollout"]))[:keep])
    return kept


def training_messages(dialogue: dict, min_turn_score: float) -> list[dict] | None:
    """A kept dialogue as SFT data: assistant turns the judge scored below `min_turn_score` stay as context with
    `weight: 0` (no loss), so one bad turn in a good conversation is not learned; None when no turn is left to train."""
    scores = iter(dialogue["turn_scores"])
    messages = []
    for message in dialogue["messages"]:
        if message["role"] == "assistant" and next(scores) < min_turn_score:
            message = {**message, "weight": 0}
        messages.append(message)
    trained = any(m["role"] == "assistant" and m.get("weight", 1) != 0 for m in messages)
    return messages if trained else None


def assistant_text(dialogue: dict) -> str:
    return "\n".join(m["content"] for m in dialogue["messages"] if m["role"] == "assistant")


def select(dialogues: list[dict], cfg: RsConfig, pooled: list[dict] = ()) -> dict:
    """Mark every dialogue `kept` (with a `reject_reason` when not) and return what selection found:
    `{kept, tied, without_keeper}` (the kept dialogues; scenario ids whose candidates all scored the same; ids with
    no candidate at or above `min_score`). `pooled`: keepers of earlier rounds, for near-duplicate checks."""
    by_scenario: dict[str, list[dict]] = {}
    for dialogue in dialogues:
        by_scenario.setdefault(dialogue["scenario_id"], []).append(dialogue)
    earlier: dict[str, list[str]] = {}
    for keeper in pooled:
        earlier.setdefault(keeper["scenario_id"], []).append(assistant_text(keeper))
    kept, tied, without = [], [], []
    for scenario_id, group in by_scenario.items():
        scores = [d["score"] for d in group]
        is_tied = len(group) > 1 and max(scores) - min(scores) < TIE
        if is_tied:
            tied.append(scenario_id)
        quota = {"top_k": cfg.keep_per_scenario, "top_fraction": math.ceil(cfg.keep_fraction * len(group)), "above_min_score": len(group)}[cfg.keep]
        texts = list(earlier.get(scenario_id, []))
        n_kept = 0
        for dialogue in sorted(group, key=lambda d: (-d["score"], d["rollout"])):
            dialogue["tied"] = is_tied
            text = assistant_text(dialogue)
            if dialogue["score"] < cfg.min_score:
                reason = "below_min_score"
            elif n_kept >= quota:
                reason = "not_top"
            elif any(shingle_jaccard(text, other) >= cfg.near_duplicate_jaccard for other in texts):
                reason = "near_duplicate"
            else:
                reason = None
            dialogue["kept"], dialogue["reject_reason"] = reason is None, reason
            if reason is None:
                n_kept += 1
                texts.append(text)
                kept.append(dialogue)
        if not any(d["score"] >= cfg.min_score for d in group):
            without.append(scenario_id)
    return {"kept": kept, "tied": tied, "without_keeper": without}


def fact_recall_spread(dialogues: list[dict]) -> dict:
    """How many scenarios had a fact due, and in how many at least one candidate gave a due fact back: selection
    can raise fact recall only through the second kind."""
    best: dict[str, float] = {}
    for dialogue in dialogues:
        if dialogue.get("fact_recall") is not None:
            best[dialogue["scenario_id"]] = max(best.get(dialogue["scenario_id"], 0.0), dialogue["fact_recall"])
    return {"scenarios_with_due_facts": len(best), "scenarios_with_recalling_candidate": sum(v > 0 for v in best.values())}


def _warn_no_recall(ctx: StageContext, info: dict) -> None:
    if info["scenarios_with_due_facts"] and not info["scenarios_with_recalling_candidate"]:
        ctx.log.warning(
            f"rs round {info['round']}: facts were due in {info['scenarios_with_due_facts']} scenarios and no candidate "
            "gave a single one back, so selection cannot raise fact recall (the model may not copy them at all). "
            "Try rs.hint_prefill, more rollouts_per_scenario or candidates_per_turn, or a stronger model."
        )


def _warn_ties(ctx: StageContext, round_index: int, dialogues: list[dict], tied: list[str], n_scenarios: int) -> None:
    if not tied:
        return
    scores = {d["score"] for d in dialogues}
    turn_scores = {s for d in dialogues for s in d["turn_scores"]}
    if len(turn_scores) <= 1:
        ctx.log.warning(
            f"rs round {round_index}: the judge gave EVERY turn of EVERY candidate the same score "
            f"({next(iter(turn_scores), 0.0):.3f}): it cannot tell any answer from another, so rs selects nothing "
            "and its training is plain self-distillation. Check rs.judge (rules that match this domain, a rubric)."
        )
    shown = ", ".join(tied[:5]) + (", ..." if len(tied) > 5 else "")
    ctx.log.warning(
        f"rs round {round_index}: in {len(tied)} of {n_scenarios} scenarios all candidates scored the same "
        f"({len(scores)} distinct conversation scores in the round); keeping 'the best' there is a coin flip: {shown}"
    )


def _roll_out_and_select(ctx: StageContext, generator, judge, round_index: int, pooled: list[dict], make_user) -> tuple[list[dict], dict]:
    from steep.simulate.user import load_scenarios
    from steep.tasks.dialogue import judge_dialogues, roll_out

    cfg: RsConfig = ctx.config
    scenarios = load_scenarios(ctx.input_path("scenarios"))[: cfg.max_scenarios]
    dialogues = roll_out(
        generator, scenarios, cfg.rollouts_per_scenario, cfg.max_turns, cfg.system_prompt, cfg.generation,
        ctx.seed + 1000 * (round_index - 1), judge=judge, candidates_per_turn=cfg.candidates_per_turn,
        make_user=make_user, fact_recall_weight=cfg.scoring.per_turn_fact_weight, hint_prefill=cfg.hint_prefill,
        hint_share=cfg.hint_share,
    )  # fmt: skip
    judge_dialogues(judge, dialogues, worst_turn_weight=cfg.scoring.worst_turn_weight, fact_recall_weight=cfg.scoring.fact_recall_weight)
    for dialogue in dialogues:
        dialogue["round"] = round_index
    found = select(dialogues, cfg, pooled)
    info = {"round": round_index, "dialogues": len(dialogues), "kept": len(found["kept"]),
            "tied": found["tied"], "without_keeper": found["without_keeper"]}  # fmt: skip
    use_case_of = {s.id: s.meta.get("use_case") for s in scenarios if s.meta.get("use_case")}  # synth's scenarios name one
    if use_case_of:
        kept = [use_case_of.get(d["scenario_id"]) for d in found["kept"]]
        info["kept_by_use_case"] = {name: kept.count(name) for name in sorted(set(use_case_of.values()))}
    return dialogues, info


def _save_round_adapter(peft_model, out_dir) -> None:
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    peft_model.save_pretrained(tmp)
    tmp.rename(out_dir)  # atomic: a round's adapter directory exists only complete


def run(ctx: StageContext) -> dict:
    from steep.generate import build_engine
    from steep.generate.hf import HFChatGenerator
    from steep.judge.factory import build_training_judge
    from steep.model.export import save_adapter_and_model
    from steep.model.load import load_chat_model
    from steep.tasks.dialogue import build_users, measure_coherence_report
    from steep.trainer.core import TrainPlace, combine_summaries, train_chats

    cfg: RsConfig = ctx.config
    model, tokenizer, template_sha = load_chat_model(ctx, cfg.lora)
    judge = build_training_judge(cfg.judge, where="rs.judge")
    task = heldout_tasks(cfg)[0]
    make_user = build_users(cfg.user, max_turns=cfg.max_turns, seed=ctx.seed, device=ctx.device)
    checkpoints = ctx.work_dir / "checkpoints"
    server = build_engine(cfg.engine) if cfg.engine.kind != "hf" else None

    before_path = checkpoints / "heldout_before_report.json"
    if before_path.exists():
        before = json.loads(before_path.read_text(encoding="utf-8"))
    else:
        before = measure_coherence_report(HFChatGenerator(model, tokenizer, ctx.device), judge, task, ctx.seed, make_user)[0]
        atomic_write_json(before_path, before)
    ctx.log.info(f"held-out (turns >= {cfg.late_turn}) before: coherence {before['coherence_late']:.3f}, fact recall {_fmt(before['fact_recall_late'])}")

    dialogues: list[dict] = []
    pool: list[dict] = []
    rounds: list[dict] = []
    summaries: list[dict] = []
    policy = model
    peft_model = None
    for r in range(1, cfg.rounds + 1):
        round_dir = checkpoints / f"round-{r}"
        if (round_dir / "dialogues.jsonl").exists():
            round_dialogues = read_jsonl(round_dir / "dialogues.jsonl")
            info = json.loads((round_dir / "selection.json").read_text(encoding="utf-8"))
            ctx.log.info(f"round {r}: reusing {len(round_dialogues)} judged dialogues from an earlier attempt")
        else:
            if server is None:
                generator = HFChatGenerator(policy, tokenizer, ctx.device, cache=cfg.engine.cache, compile=cfg.engine.compile)
            else:  # the server holds the input model; a later round's policy is the previous round's adapter
                if r > 1:
                    server.use_adapter(f"steep-rs-{ctx.work_dir.parent.name}-round-{r - 1}", checkpoints / f"round-{r - 1}" / "adapter")
                generator = server
            round_dialogues, info = _roll_out_and_select(ctx, generator, judge, r, pool, make_user)
            atomic_write_json(round_dir / "selection.json", info)
            write_jsonl(round_dir / "dialogues.jsonl", round_dialogues)  # written last: its presence means the round is judged
        dialogues += round_dialogues
        pool += [d for d in round_dialogues if d["kept"]]
        info = {**info, **fact_recall_spread(round_dialogues)}  # from the dialogues: a reused round gets it too
        rounds.append(info)
        _report_round(ctx, info, round_dialogues)
        if not pool:
            raise RuntimeError(f"rs: no dialogue scored >= rs.min_score={cfg.min_score}; lower it or sample more")
        write_jsonl(ctx.work_dir / "kept.jsonl", pool)
        write_jsonl(ctx.work_dir / "dialogues.jsonl", dialogues)

        adapter_dir = round_dir / "adapter"
        if r < cfg.rounds and adapter_dir.exists():  # trained before a kill: reload it to roll out the next round
            from peft import PeftModel

            policy = PeftModel.from_pretrained(load_chat_model(ctx, cfg.lora)[0], adapter_dir)
            ctx.log.info(f"round {r}: reusing its trained adapter")
            continue
        base = model if r == 1 else load_chat_model(ctx, cfg.lora)[0]  # each round trains a fresh LoRA on the input model
        policy = None
        place = TrainPlace(checkpoints / ("trainer" if r == 1 else f"trainer-round-{r}"), ctx.work_dir / "metrics.jsonl",
                           phase="train" if cfg.rounds == 1 else f"round{r}", seed=ctx.seed, device=ctx.device, log=ctx.log)  # fmt: skip
        chats = [chat for chat in (training_messages(d, cfg.train_turn_min_score) for d in pool) if chat is not None]
        if not chats:
            raise RuntimeError(f"rs: no kept dialogue has a turn scoring >= rs.train_turn_min_score={cfg.train_turn_min_score}")
        if cfg.replay is not None:
            replayed = replay_chats(cfg.replay, len(chats), ctx.seed + r)
            ctx.log.info(f"round {r}: training on {len(chats)} kept dialogues and {len(replayed)} replayed chats")
            chats += replayed
        peft_model, summary = train_chats(base, tokenizer, chats, lora=cfg.lora, optim=cfg.optim, max_length=cfg.max_length, place=place)
        summaries.append(summary)
        if r < cfg.rounds:
            _save_round_adapter(peft_model, adapter_dir)
        policy = peft_model

    after, heldout_dialogues = measure_coherence_report(HFChatGenerator(peft_model, tokenizer, ctx.device), judge, task, ctx.seed, make_user)
    ctx.log.info(f"held-out after: coherence {after['coherence_late']:.3f}, fact recall {_fmt(after['fact_recall_late'])}")
    write_jsonl(ctx.work_dir / "heldout_dialogues.jsonl", heldout_dialogues)
    saved = save_adapter_and_model(peft_model, tokenizer, ctx.work_dir)
    ctx.add_outputs("dialogues.jsonl", "kept.jsonl", "adapter", "model")
    scenario_ids = list(dict.fromkeys(d["scenario_id"] for d in dialogues))
    pooled_ids = {d["scenario_id"] for d in pool}
    without = [s for s in scenario_ids if s not in pooled_ids]
    if without:
        ctx.log.warning(f"rs: {len(without)} scenarios have no keeper in any round (nothing scored >= {cfg.min_score}): {', '.join(without)}")
    tied = sum(len(info["tied"]) for info in rounds)
    return {
        **{f"{key}_before": _json_keys(value) for key, value in before.items()},
        **{f"{key}_after": _json_keys(value) for key, value in after.items()},
        "dialogues": len(dialogues),
        "kept": len(pool),
        "mean_score_all": sum(d["score"] for d in dialogues) / len(dialogues),
        "mean_score_kept": sum(d["score"] for d in pool) / len(pool),
        "rounds": [{**info, "tied": len(info["tied"])} for info in rounds],
        "scenarios_without_keeper": without,
        "tied_scenarios": tied,
        "worst_turn_mean_all": _mean(d["worst_turn_score"] for d in dialogues),
        "worst_turn_mean_kept": _mean(d["worst_turn_score"] for d in pool),
        "heldout_scenarios": len({d["scenario_id"] for d in heldout_dialogues}),
        "judge": judge.identity,
        "chat_template_sha256": template_sha,
        **saved,
        **combine_summaries(summaries),
    }


def _report_round(ctx: StageContext, info: dict, round_dialogues: list[dict]) -> None:
    kept = [d for d in round_dialogues if d["kept"]]
    mean_all = _mean(d["score"] for d in round_dialogues)
    ctx.log.info(f"round {info['round']}: {info['dialogues']} dialogues, mean score {mean_all:.3f}; kept {info['kept']}, mean {_fmt(_mean(d['score'] for d in kept))}")
    n_scenarios = len({d["scenario_id"] for d in round_dialogues})
    _warn_ties(ctx, info["round"], round_dialogues, info["tied"], n_scenarios)
    _warn_no_recall(ctx, info)
    if info["without_keeper"]:
        ctx.log.warning(f"rs round {info['round']}: no candidate scored >= rs.min_score in {len(info['without_keeper'])} scenarios: {', '.join(info['without_keeper'])}")


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _json_keys(value):
    # JSON keys are strings: turn numbers read back from a cached report come as "1", "2", ...
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


STAGE = StageSpec(
    name="rs", config=RsConfig, run=run, consumes=consumes, produces=("dialogues", "kept", "adapter", "model"),
    makes_model=True, tasks=heldout_tasks,
)  # fmt: skip
