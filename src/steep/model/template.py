"""The chat template: steep's default ChatML for models without one, its round-trip check, its hash, stop ids.

The template is one artifact: saved with the tokenizer, hashed in every manifest from sft on, and checked again
when the model is served. A model's own template is kept as it is (no `{% generation %}` markers needed:
`steep.model.chat_mask` finds the assistant tokens); only a model without one gets ChatML. A template whose
assistant mask is off by a token would silently train on the user's words, so `check_chat_template` proves the
mask before any training.
"""

from __future__ import annotations

import hashlib

from steep.model.chat_mask import END_OF_TURN_MARKERS, ChatMaskError, tokenize_conversation

# ChatML with `{% generation %}` markers: trl's `assistant_only_loss` reads them to put the loss on assistant
# tokens only. The template is a single artifact: saved with the tokenizer, hashed in every manifest from sft on.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CHATML_SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>")


def ensure_chat_template(tokenizer, model=None) -> bool:
    """Give a base model that has no chat template steep's ChatML one; return True if the tokenizer changed.

    Base checkpoints often ship without a template. Adding ChatML's two special tokens grows the embedding
    matrix, so the model (when given) is resized to match.
    """
    if tokenizer.chat_template:
        return False
    missing = [token for token in CHATML_SPECIAL_TOKENS if token not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": list(missing)})
        if model is not None:
            model.resize_token_embeddings(len(tokenizer))
    tokenizer.chat_template = CHATML_TEMPLATE
    return True


def chat_template_sha256(tokenizer) -> str:
    template = tokenizer.chat_template or ""
    return hashlib.sha256(template.encode("utf-8")).hexdigest()


def end_of_turn_ids(tokenizer, model=None) -> list[int]:
    """Token ids that end an assistant turn: the tokenizer's eos, the model's own `generation_config` eos ids
    (Llama 3 lists `<|eot_id|>` there) and any common end-of-turn marker the vocabulary has (`<|im_end|>`, ...)."""
    ids = {tokenizer.eos_token_id}
    generation_config = getattr(model, "generation_config", None)
    configured = getattr(generation_config, "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    vocab = tokenizer.get_vocab()
    ids.update(vocab[marker] for marker in END_OF_TURN_MARKERS if marker in vocab)
    return sorted(i for i in ids if i is not None)


class ChatTemplateError(ValueError):
    pass


def check_chat_template(tokenizer) -> str:
    """Round-trip the chat template before training on it; return its sha256.

    Renders a two-turn conversation, computes the assistant-token mask (`steep.model.chat_mask`: the template's
    `{% generation %}` markers, or the assistant spans found in the rendering), and checks that the masked tokens
    hold exactly the assistant messages and their end-of-turn tokens. A mask off by a token would silently train on
    the user's words (or miss the end-of-turn token, and the model never stops).
    """
    messages = [
        {"role": "system", "content": "You are a test."},
        {"role": "user", "content": "First question?"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "Second question?"},
        {"role": "assistant", "content": "Second answer."},
    ]
    if not tokenizer.chat_template:
        raise ChatTemplateError("the tokenizer has no chat template (steep.model.template.ensure_chat_template gives ChatML)")
    try:
        encoded = tokenize_conversation(tokenizer, messages)
    except ChatMaskError as error:
        raise ChatTemplateError(str(error)) from error
    except Exception as error:  # jinja errors come in many classes
        raise ChatTemplateError(f"the chat template cannot render a conversation: {error}") from error
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    if not any(mask):
        raise ChatTemplateError("no token of the rendered conversation falls in an assistant turn")
    masked_ids = [token for token, keep in zip(ids, mask) if keep]
    masked = tokenizer.decode(masked_ids, skip_special_tokens=False)
    for turn in ("First answer.", "Second answer."):
        if turn not in masked:
            raise ChatTemplateError(f"assistant text {turn!r} is not inside the assistant mask: {masked!r}")
    for leaked in ("First question?", "Second question?", "You are a test."):
        if leaked in masked:
            raise ChatTemplateError(f"non-assistant text {leaked!r} falls inside the assistant mask")
    if not set(masked_ids) & set(end_of_turn_ids(tokenizer)):
        raise ChatTemplateError(f"no end-of-turn token is inside the assistant mask, so the model would never learn to stop: {masked!r}")
    return chat_template_sha256(tokenizer)
