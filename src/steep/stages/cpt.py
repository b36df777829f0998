"""cpt: domain-adaptive continued pre-training on the curated corpus, with replay of general text.

    steep cpt PIPELINE.yaml        (or: steep run PIPELINE.yaml --from cpt --until cpt)

Reads the curated documents, mixes in general text at `cpt.replay.ratio` (replay tokens per domain token, by
bytes as a proxy) so the model does not forget, trains the whole model on EOS-joined fixed-length blocks (the
learning rate warms up again from zero, then decays on a cosine: `cpt.optim`), and reports held-out bits per byte
on domain and general text before and after. `cpt.lora` trains a LoRA adapter instead of every weight (QLoRA with
`lora.load_in_4bit`) and merges it into `model/` after a parity check.
"""

from __future__ import annotations

import random

from pydantic import Field

from steep.model.config import LoraConfig
from steep.schema import ExistingPath, StrictModel
from steep.stage import FileInput, PreviousModel, StageContext, StageOutput, StageSpec
from steep.tasks.spec import BpbTask
from steep.trainer.config import OptimConfig


class ReplayConfig(StrictModel):
    """General text mixed into cpt so the model keeps what it knew: `ratio` is replay tokens per domain token."""

    files: list[ExistingPath] = []
    ratio: float = Field(0.25, ge=0)


class HeldOutConfig(StrictModel):
    domain: list[ExistingPath] = []
    general: list[ExistingPath] = []
    max_docs: int = Field(200, ge=1)


class CptConfig(StrictModel):
    enabled: bool = True
    seq_len: int = Field(256, ge=16)
    replay: ReplayConfig = ReplayConfig()
    heldout: HeldOutConfig = HeldOutConfig()
    optim: OptimConfig = OptimConfig(learning_rate=1e-3, epochs=1, batch_size=16)
    # None: full continued pre-training (every weight). A LoRA config: train an adapter on the packed text and
    # merge it (parity-checked) into `model/`; cheaper, and forgets less, at the cost of learning less.
    lora: LoraConfig | None = None


def heldout_tasks(cfg: CptConfig) -> list[BpbTask]:
    held = cfg.heldout
    return [
        BpbTask(name=name, files=files, seq_len=cfg.seq_len, max_docs=held.max_docs)
        for name, files in (("domain", held.domain), ("general", held.general))
        if files
    ]


def consumes(cfg: CptConfig) -> dict:
    inputs: dict = {"model": PreviousModel(), "documents": StageOutput("curate", "documents")}
    inputs |= {f"replay[{i}]": FileInput(p) for i, p in enumerate(cfg.replay.files)}
    inputs |= {f"heldout.domain[{i}]": FileInput(p) for i, p in enumerate(cfg.heldout.domain)}
    inputs |= {f"heldout.general[{i}]": FileInput(p) for i, p in enumerate(cfg.heldout.general)}
    return inputs


def replay_sample(general: list[str], domain_bytes: int, ratio: float, seed: int) -> list[str]:
    """Draw general documents until their bytes reach ratio × domain bytes (cycling if the pool is small)."""
    if ratio <= 0 or not general:
        return []
    rng = random.Random(seed)
    target = ratio * domain_bytes
    pool: list[str] = []
    chosen: list[str] = []
    total = 0
    while total < target:
        if not pool:
            pool = general[:]
            rng.shuffle(pool)
        text = pool.pop()
        chosen.append(text)
        total += len(text.encode("utf-8"))
    return chosen


def run(ctx: StageContext) -> dict:
    from steep.model.export import merge_with_parity_check
    from steep.model.load import load_stage_model
    from steep.model.lora import trainable_parameters
    from steep.tasks.bpb import measure_bpb, read_documents
    from steep.trainer.core import TrainPlace, train_text

    cfg: CptConfig = ctx.config
    model, tokenizer = load_stage_model(ctx, cfg.lora)
    domain = read_documents(ctx.input_path("documents"))
    general_pool = [text for path in cfg.replay.files for text in read_documents(path)]
    domain_bytes = sum(len(t.encode("utf-8")) for t in domain)
    replay = replay_sample(general_pool, domain_bytes, cfg.replay.ratio, ctx.seed)
    ctx.log.info(f"{len(domain)} domain documents ({domain_bytes / 1e6:.2f} MB) + {len(replay)} replay documents")

    tasks = heldout_tasks(cfg)

    def measure(current) -> dict:
        found = {f"{task.name}_bpb": measure_bpb(current, tokenizer, task, ctx.device) for task in tasks}
        return {name: found.get(f"{name}_bpb") for name in ("domain", "general")}

    before = measure(model)
    ctx.log.info(f"held-out bits per byte before: {before}")
    place = TrainPlace(ctx.work_dir / "checkpoints", ctx.work_dir / "metrics.jsonl", seed=ctx.seed, device=ctx.device, log=ctx.log)
    trained, summary = train_text(model, tokenizer, domain + replay, seq_len=cfg.seq_len, optim=cfg.optim, place=place, lora=cfg.lora)
    after = measure(trained)
    ctx.log.info(f"held-out bits per byte after: {after}")

    model_dir = ctx.work_dir / "model"
    saved: dict = {}
    if cfg.lora is None:
        trained.save_pretrained(model_dir, safe_serialization=True)
        tokenizer.save_pretrained(model_dir)
    else:
        saved = {**trainable_parameters(trained), **merge_with_parity_check(trained, tokenizer, model_dir)}
    ctx.add_output("model", model_dir)
    return {
        **saved,
        "domain_bpb_before": before["domain"],
        "domain_bpb_after": after["domain"],
        "general_bpb_before": before["general"],
        "general_bpb_after": after["general"],
        "domain_docs": len(domain),
        "replay_docs": len(replay),
        **summary,
    }


STAGE = StageSpec(
    name="cpt", config=CptConfig, run=run, consumes=consumes, produces=("model",), makes_model=True, tasks=heldout_tasks
)
