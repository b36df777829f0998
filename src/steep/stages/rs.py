"""rs: rejection-sampled multi-turn SFT. Roll out whole dialogues against a simulated user, keep the best, train.

    steep rs PIPELINE.yaml

Each scenario is rolled out `rollouts_per_scenario` times (sampling), turn by turn, all conversations batched
together; with `candidates_per_turn` > 1 every turn is itself the judge's best of that many samples. The judge
scores every assistant turn (scores and rationales are kept in `dialogues.jsonl`); a conversation's score is the
mean of its turns. The best `keep_per_scenario` of each scenario go to `kept.jsonl` and LoRA SFT trains on them,
loss on assistant turns only. The metric is late-turn coherence: the mean judge score of assistant turns >=
`late_turn` in rollouts of held-out scenarios.

A killed rs resumes: the judged dialogues are written before training starts and reused by a rerun, and training
continues from its last checkpoint.
"""

from __future__ import annotations

import json

from pydantic import Field

from steep.artifacts import atomic_write_json, read_jsonl, write_jsonl
from steep.generate.config import GenerationConfig
from steep.judge.factory import JudgeConfig
from steep.model.config import LoraConfig
from steep.schema import ExistingPath, StrictModel
from steep.stage import FileInput, PreviousModel, StageContext, StageSpec
from steep.tasks.spec import CoherenceTask
from steep.trainer.config import OptimConfig


class RsConfig(StrictModel):
    """Rejection-sampled multi-turn SFT: roll out dialogues, judge whole conversations, train on the best."""

    enabled: bool = True
    scenarios: ExistingPath
    heldout: ExistingPath
    judge: JudgeConfig
    system_prompt: str = ""
    max_scenarios: int = Field(1000, ge=1, description="scenarios rolled out (the first N of the file)")
    rollouts_per_scenario: int = Field(4, ge=1)
    candidates_per_turn: int = Field(1, ge=1, description="sample k replies per turn and keep the judge's best")
    keep_per_scenario: int = Field(1, ge=1)
    min_score: float = Field(0.0, ge=0, le=1, description="drop kept dialogues scoring below this")
    max_turns: int = Field(12, ge=1)
    late_turn: int = Field(8, ge=1, description="coherence_late averages assistant turns with index >= this")
    max_length: int = Field(1536, ge=16)
    max_heldout: int = Field(16, ge=1)
    heldout_rollouts: int = Field(1, ge=1, description="rollouts per held-out scenario (use >1 with temperature > 0)")
    lora: LoraConfig = LoraConfig()
    optim: OptimConfig = OptimConfig(learning_rate=3e-4, epochs=2, batch_size=4)
    generation: GenerationConfig = GenerationConfig(temperature=1.0)
    heldout_generation: GenerationConfig = GenerationConfig(temperature=0.0)


def heldout_tasks(cfg: RsConfig) -> list[CoherenceTask]:
    return [
        CoherenceTask(
            heldout=cfg.heldout, judge=cfg.judge, system_prompt=cfg.system_prompt, max_dialogues=cfg.max_heldout,
            max_turns=cfg.max_turns, late_turn=cfg.late_turn, rollouts=cfg.heldout_rollouts, generation=cfg.heldout_generation,
        )
    ]  # fmt: skip


def consumes(cfg: RsConfig) -> dict:
    return {"model": PreviousModel(), "scenarios": FileInput(cfg.scenarios), "heldout": FileInput(cfg.heldout)}


def keep_best(dialogues: list[dict], keep: int) -> list[dict]:
    """The `keep` highest-scoring dialogues of each scenario (ties: earlier rollout first, deterministic)."""
    by_scenario: dict[str, list[dict]] = {}
    for dialogue in dialogues:
        by_scenario.setdefault(dialogue["scenario_id"], []).append(dialogue)
    kept = []
    for group in by_scenario.values():
        kept.extend(sorted(group, key=lambda d: (-d["score"], d["rollout"]))[:keep])
    return kept


def _roll_out_and_select(ctx: StageContext, generator, judge) -> tuple[list[dict], list[dict]]:
    from steep.simulate.user import load_scenarios
    from steep.tasks.dialogue import judge_dialogues, roll_out

    cfg: RsConfig = ctx.config
    scenarios = load_scenarios(cfg.scenarios)[: cfg.max_scenarios]
    dialogues = roll_out(
        generator, scenarios, cfg.rollouts_per_scenario, cfg.max_turns, cfg.system_prompt, cfg.generation, ctx.seed,
        judge=judge, candidates_per_turn=cfg.candidates_per_turn,
    )  # fmt: skip
    judge_dialogues(judge, dialogues)
    kept = [d for d in keep_best(dialogues, cfg.keep_per_scenario) if d["score"] >= cfg.min_score]
    if not kept:
        raise RuntimeError(f"rs: no dialogue scored >= rs.min_score={cfg.min_score}; lower it or sample more")
    write_jsonl(ctx.work_dir / "kept.jsonl", kept)
    write_jsonl(ctx.work_dir / "dialogues.jsonl", dialogues)  # written last: its presence means rollouts are done
    return dialogues, kept


def run(ctx: StageContext) -> dict:
    from steep.generate.hf import HFChatGenerator
    from steep.judge.factory import build_training_judge
    from steep.model.export import save_adapter_and_model
    from steep.model.load import load_chat_model
    from steep.tasks.dialogue import measure_coherence
    from steep.trainer.core import TrainPlace, train_chats

    cfg: RsConfig = ctx.config
    model, tokenizer, template_sha = load_chat_model(ctx, cfg.lora)
    judge = build_training_judge(cfg.judge, where="rs.judge")
    task = heldout_tasks(cfg)[0]
    generator = HFChatGenerator(model, tokenizer, ctx.device)

    before_path = ctx.work_dir / "checkpoints" / "heldout_before.json"
    if before_path.exists():
        before, before_by_turn = json.loads(before_path.read_text(encoding="utf-8"))
    else:
        before, before_by_turn, _ = measure_coherence(generator, judge, task, ctx.seed)
        atomic_write_json(before_path, [before, before_by_turn])
    ctx.log.info(f"held-out late coherence (turns >= {cfg.late_turn}) before: {before:.3f}")

    if (ctx.work_dir / "dialogues.jsonl").exists():
        dialogues, kept = read_jsonl(ctx.work_dir / "dialogues.jsonl"), read_jsonl(ctx.work_dir / "kept.jsonl")
        ctx.log.info(f"reusing {len(dialogues)} judged dialogues from an earlier attempt")
    else:
        dialogues, kept = _roll_out_and_select(ctx, generator, judge)
    mean_all = sum(d["score"] for d in dialogues) / len(dialogues)
    mean_kept = sum(d["score"] for d in kept) / len(kept)
    ctx.log.info(f"{len(dialogues)} dialogues rolled out, mean score {mean_all:.3f}; kept {len(kept)}, mean {mean_kept:.3f}")

    place = TrainPlace(ctx.work_dir / "checkpoints" / "trainer", ctx.work_dir / "metrics.jsonl", seed=ctx.seed, device=ctx.device, log=ctx.log)
    peft_model, summary = train_chats(
        model, tokenizer, [d["messages"] for d in kept], lora=cfg.lora, optim=cfg.optim, max_length=cfg.max_length, place=place
    )
    after, after_by_turn, heldout_dialogues = measure_coherence(HFChatGenerator(peft_model, tokenizer, ctx.device), judge, task, ctx.seed)
    ctx.log.info(f"held-out late coherence after: {after:.3f}")
    write_jsonl(ctx.work_dir / "heldout_dialogues.jsonl", heldout_dialogues)
    saved = save_adapter_and_model(peft_model, tokenizer, ctx.work_dir)
    ctx.add_outputs("dialogues.jsonl", "kept.jsonl", "adapter", "model")
    return {
        "coherence_late_before": before,
        "coherence_late_after": after,
        # JSON keys are strings: turn numbers read back from a cached report come as "1", "2", ...
        "coherence_by_turn_before": {str(k): v for k, v in before_by_turn.items()},
        "coherence_by_turn_after": {str(k): v for k, v in after_by_turn.items()},
        "dialogues": len(dialogues),
        "kept": len(kept),
        "mean_score_all": mean_all,
        "mean_score_kept": mean_kept,
        "heldout_scenarios": len({d["scenario_id"] for d in heldout_dialogues}),
        "judge": judge.identity,
        "chat_template_sha256": template_sha,
        **saved,
        **summary,
    }


STAGE = StageSpec(
    name="rs", config=RsConfig, run=run, consumes=consumes, produces=("dialogues", "kept", "adapter", "model"),
    makes_model=True, tasks=heldout_tasks,
)  # fmt: skip
