"""cpt: domain-adaptive continued pre-training on the curated corpus, with replay of general text.

    steep cpt PIPELINE.yaml        (or: steep run PIPELINE.yaml --from cpt --until cpt)

Reads the curated documents, mixes in general text at `cpt.replay.ratio` (replay tokens per domain token, by
bytes as a proxy) so the model does not forget, trains the whole model on EOS-joined fixed-length blocks (the
learning rate warms up again from zero, then decays on a cosine: `cpt.optim`), and reports held-out bits per byte
on domain and general text before and after. `cpt.lora` trains a LoRA adapter instead of every weight and merges
it into `model/` after a parity check.
"""

from __future__ import annotations

import random
from pathlib import Path

from steep.artifacts import read_jsonl
from steep.train.common import base_revision, bits_per_byte, load_model, load_tokenizer, trainable_parameters
from steep.train.export import merge_with_parity_check
from steep.train.lm import train_lora_on_text, train_on_text


def read_documents(path: Path) -> list[str]:
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    return [row["text"] for file in files for row in read_jsonl(file) if row.get("text", "").strip()]


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


def heldout_bpb(model, tokenizer, files, max_docs: int, seq_len: int, device: str) -> float | None:
    texts = [text for file in files for text in read_documents(file)][:max_docs]
    return bits_per_byte(model, tokenizer, texts, seq_len, device) if texts else None


def run(ctx) -> dict:
    cfg = ctx.config.cpt
    model_ref = ctx.input_path("model")
    # the base model may be a hub id pinned to `base.revision`: load that revision, not the hub's latest
    tokenizer = load_tokenizer(model_ref, revision=base_revision(ctx))
    model = load_model(model_ref, ctx.device, ctx.config.base.dtype, revision=base_revision(ctx))

    domain = read_documents(Path(ctx.input_path("documents")))
    general_pool = [text for path in cfg.replay.files for text in read_documents(path)]
    domain_bytes = sum(len(t.encode("utf-8")) for t in domain)
    replay = replay_sample(general_pool, domain_bytes, cfg.replay.ratio, ctx.seed)
    ctx.log(f"{len(domain)} domain documents ({domain_bytes / 1e6:.2f} MB) + {len(replay)} replay documents")

    def measure() -> dict:
        return {
            "domain": heldout_bpb(model, tokenizer, cfg.heldout.domain, cfg.heldout.max_docs, cfg.seq_len, ctx.device),
            "general": heldout_bpb(model, tokenizer, cfg.heldout.general, cfg.heldout.max_docs, cfg.seq_len, ctx.device),
        }

    before = measure()
    ctx.log(f"held-out bpb before: {before}")
    train_args = dict(seq_len=cfg.seq_len, optim=cfg.optim, work_dir=ctx.work_dir, seed=ctx.seed, device=ctx.device)
    if cfg.lora is None:
        train_metrics = train_on_text(model, tokenizer, domain + replay, **train_args)
    else:
        # the adapter's layers are injected into `model`'s modules, so `measure` below sees the trained adapter
        peft_model, train_metrics = train_lora_on_text(model, tokenizer, domain + replay, lora=cfg.lora, **train_args)
    after = measure()
    ctx.log(f"held-out bpb after: {after}")

    model_dir = ctx.work_dir / "model"
    saved: dict = {}
    if cfg.lora is None:
        model.save_pretrained(model_dir, safe_serialization=True)
        tokenizer.save_pretrained(model_dir)
    else:
        saved = {**trainable_parameters(peft_model), **merge_with_parity_check(peft_model, tokenizer, model_dir)}
    ctx.add_output("model", model_dir)
    return {
        **saved,
        "domain_bpb_before": before["domain"],
        "domain_bpb_after": after["domain"],
        "general_bpb_before": before["general"],
        "general_bpb_after": after["general"],
        "domain_docs": len(domain),
        "replay_docs": len(replay),
        "train_loss_final": train_metrics.get("train_loss_final"),
        "train_runtime_s": train_metrics.get("train_runtime"),
    }
