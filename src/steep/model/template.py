"""The chat template: steep's default ChatML for models without one, its round-trip check, its hash, stop ids.

The template is one artifact: saved with the tokenizer, hashed in every manifest from sft on, and checked again
when the model is served. A template whose assistant mask is off by a token would silently train on the user's
words, so `check_chat_template` proves the mask before any training.
"""

from __future__ import annotations

import hashlib

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


def end_of_turn_ids(tokenizer) -> list[int]:
    """Token ids that end an assistant turn: eos plus ChatML's `<|im_end|>` when the vocabulary has it."""
    ids = {tokenizer.eos_token_id}
    vocab = tokenizer.get_vocab()
    if "<|im_end|>" in vocab:
        ids.add(vocab["<|im_end|>"])
    return sorted(i for i in ids if i is not None)


class ChatTemplateError(ValueError):
    pass


def check_chat_template(tokenizer) -> str:
    """Round-trip the chat template before training on it; return its sha256.

    Renders a two-turn conversation, asks for the assistant-token mask that `{% generation %}` marks, and checks
    that the masked tokens decode to exactly the assistant messages. A template whose mask is off by a token
    would silently train on the user's words (or miss the end-of-turn token, and the model never stops).
    """
    messages = [
        {"role": "system", "content": "You are a test."},
        {"role": "user", "content": "First question?"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "Second question?"},
        {"role": "assistant", "content": "Second answer."},
    ]
    try:
        encoded = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    except Exception as error:  # jinja errors come in many classes
        raise ChatTemplateError(f"the chat template cannot render a conversation: {error}") from error
    ids, mask = encoded["input_ids"], encoded.get("assistant_masks")
    if not mask or not any(mask):
        raise ChatTemplateError("the chat template has no {% generation %} markers: loss could not be limited to assistant turns")
    masked = tokenizer.decode([token for token, keep in zip(ids, mask) if keep], skip_special_tokens=False)
    for turn in ("First answer.", "Second answer."):
        if turn not in masked:
            raise ChatTemplateError(f"assistant text {turn!r} is not inside the assistant mask: {masked!r}")
    for leaked in ("First question?", "You are a test."):
        if leaked in masked:
            raise ChatTemplateError(f"non-assistant text {leaked!r} falls inside the assistant mask")
    return chat_template_sha256(tokenizer)
