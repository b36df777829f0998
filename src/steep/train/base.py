"""The base stage: resolve the base model, or build and briefly pre-train one from scratch, offline.

    steep run PIPELINE.yaml --until base

`base.path` and `base.hub_id` are only referenced (a 16 GB checkpoint is not copied); `base.from_scratch` trains a
byte-level BPE tokenizer and a small Llama on the given corpus and writes both to `base/model/`. Every later stage
loads through the same `load_model`/`load_tokenizer` calls, whichever source this was.
"""

from __future__ import annotations

from pathlib import Path

from steep.artifacts import read_jsonl
from steep.config import FromScratchConfig, TinyArchitectureConfig
from steep.train.common import CHATML_SPECIAL_TOKENS, CHATML_TEMPLATE

BOS, EOS, PAD = "<s>", "</s>", "<pad>"


def build_tokenizer(texts: list[str], vocab_size: int):
    """Train a byte-level BPE tokenizer (GPT-2 style: no unknown tokens, any UTF-8 round-trips) with ChatML."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [PAD, BOS, EOS, *CHATML_SPECIAL_TOKENS]
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(CHATML_SPECIAL_TOKENS),
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tiny_model(arch: TinyArchitectureConfig, tokenizer, seed: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch.hidden_size,
        intermediate_size=arch.intermediate_size,
        num_hidden_layers=arch.num_layers,
        num_attention_heads=arch.num_heads,
        num_key_value_heads=arch.num_heads,
        max_position_embeddings=arch.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        # generation stops at the end of an assistant turn as well as at eos
        eos_token_id=[tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")],
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config)


def corpus_texts(files: list[Path]) -> list[str]:
    return [row["text"] for path in files for row in read_jsonl(path) if row.get("text", "").strip()]


def tokenizer_texts(files: list[Path]) -> list[str]:
    """Text of `text` rows and of every message in `messages` rows: what the tokenizer may learn merges from."""
    texts = []
    for path in files:
        for row in read_jsonl(path):
            if "messages" in row:
                texts.extend(message["content"] for message in row["messages"])
            elif row.get("text"):
                texts.append(row["text"])
    return texts


def rendered_chats(files: list[Path], tokenizer) -> list[str]:
    """Chat rows rendered with the template, as pre-training text: modern base models have seen conversations,
    so their chat tokens are trained before sft ever starts (a template token never seen is an untrained
    embedding that LoRA, which leaves embeddings frozen, can barely learn to emit)."""
    rows = [row for path in files for row in read_jsonl(path)]
    return [tokenizer.apply_chat_template(row["messages"], tokenize=False) for row in rows]


def build_from_scratch(cfg: FromScratchConfig, work_dir: Path, seed: int, device: str) -> dict:
    from steep.train.lm import train_on_text

    texts = corpus_texts(cfg.corpus)
    # A real base model's tokenizer was trained on web-scale text and splits business English into few tokens;
    # `tokenizer_corpus` gives a from-scratch tokenizer that coverage without training the weights on that text.
    tokenizer = build_tokenizer(texts + tokenizer_texts(cfg.tokenizer_corpus), cfg.architecture.vocab_size)
    chats = rendered_chats(cfg.chat_corpus, tokenizer)
    model = build_tiny_model(cfg.architecture, tokenizer, seed).to(device)
    metrics = train_on_text(
        model, tokenizer, texts + chats, seq_len=cfg.seq_len, optim=cfg.optim, work_dir=work_dir, seed=seed, device=device
    )
    model_dir = work_dir / "model"
    model.save_pretrained(model_dir, safe_serialization=True)
    tokenizer.save_pretrained(model_dir)
    n_params = sum(p.numel() for p in model.parameters())
    return {
        "params": n_params,
        "vocab_size": len(tokenizer),
        "corpus_docs": len(texts),
        "chat_docs": len(chats),
        "pretrain_loss_final": metrics.get("train_loss_final"),
        "pretrain_steps": metrics.get("train_steps") or metrics.get("global_step"),
    }


def run(ctx) -> dict:
    """Stage entry point (see steep.pipeline.StageContext)."""
    base = ctx.config.base
    if base.from_scratch is not None:
        metrics = build_from_scratch(base.from_scratch, ctx.work_dir, ctx.seed, ctx.device)
        ctx.add_output("model", ctx.work_dir / "model")
        return metrics
    # A referenced model: check it loads (tokenizer and config) before any later stage depends on it.
    from transformers import AutoConfig, AutoTokenizer

    reference = str(base.path) if base.path is not None else base.hub_id
    AutoTokenizer.from_pretrained(reference, revision=base.revision)
    model_config = AutoConfig.from_pretrained(reference, revision=base.revision)
    ctx.add_reference("model", reference, revision=base.revision)
    return {"architecture": model_config.model_type}
