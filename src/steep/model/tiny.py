"""A tiny model built offline from config: a byte-level BPE tokenizer with ChatML and a small Llama.

    tokenizer = build_tokenizer(texts, vocab_size=2048)
    model = build_tiny_model(TinyArchitectureConfig(), tokenizer, seed=0)

The demo's base model and every test's model come from here: nothing is downloaded.
"""

from __future__ import annotations

from steep.model.config import TinyArchitectureConfig
from steep.model.template import CHATML_SPECIAL_TOKENS, CHATML_TEMPLATE

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
