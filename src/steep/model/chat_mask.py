"""Which tokens of a rendered conversation are the assistant's: the loss mask for chat training, for any template.

    encoded = tokenize_conversation(tokenizer, messages)   # {"input_ids": [...], "assistant_masks": [0, 1, ...]}

Templates with `{% generation %}` markers say it themselves (transformers returns the mask). Real models' templates
almost never have them (SmolLM2, Llama 3, Qwen, Mistral do not), and the user's template must train unedited, so
for those the mask is found: each assistant turn's text span is located in the rendered conversation, then every
token whose characters overlap a span is an assistant token.

A turn's span is found by rendering prefixes: the conversation up to the turn with the generation prompt ends where
the assistant's words begin, and the conversation through the turn ends at its end-of-turn marker, which is
trained so the model learns to stop. Templates that are not prefix-preserving (some rewrite earlier turns, e.g.
dropping old reasoning) fall back to finding the turn's content in the full rendering, plus the end-of-turn marker
right after it.
"""

from __future__ import annotations

from collections.abc import Sequence

# End-of-turn markers of common chat formats, tried after an assistant turn's content when spans are found by search.
END_OF_TURN_MARKERS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "</s>")


class ChatMaskError(ValueError):
    pass


def _render(tokenizer, messages: Sequence[dict], add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=add_generation_prompt)


def has_generation_markers(template: str | None) -> bool:
    return bool(template) and "{% generation %}" in template.replace("{%-", "{%").replace("-%}", "%}")


def assistant_char_spans(tokenizer, messages: Sequence[dict]) -> tuple[str, list[tuple[int, int]]]:
    """(the rendered conversation, the [start, end) character span of every assistant turn in it)."""
    full = _render(tokenizer, messages)
    spans: list[tuple[int, int]] = []
    cursor = 0
    markers = [m for m in (getattr(tokenizer, "eos_token", None), *END_OF_TURN_MARKERS) if m]
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:index], add_generation_prompt=True) if index else ""
        through = _render(tokenizer, messages[: index + 1])
        if full.startswith(through) and through.startswith(before) and cursor <= len(before) < len(through):
            spans.append((len(before), _through_last_marker(through, len(before), markers)))
            cursor = len(through)
            continue
        content = message.get("content") or ""
        start = full.find(content, cursor) if content else -1
        if start < 0:
            raise ChatMaskError(
                f"assistant turn {index} is not in the conversation as the chat template renders it "
                f"(the template drops or rewrites it): {content[:60]!r}"
            )
        end = start + len(content)
        for marker in markers:
            if full.startswith(marker, end):
                end += len(marker)
                break
        spans.append((start, end))
        cursor = end
    return full, spans


def _through_last_marker(text: str, start: int, markers: list[str]) -> int:
    """End of the turn's last end-of-turn marker: what follows it (ChatML's newline) is the template's, not the
    assistant's, and is left out of the loss as the `{% generation %}` convention does."""
    ends = [found + len(marker) for marker in markers if (found := text.rfind(marker, start)) >= 0]
    return max(ends) if ends else len(text)


def tokenize_conversation(tokenizer, messages: Sequence[dict]) -> dict[str, list[int]]:
    """Token ids of the rendered conversation and its assistant mask (1 on every assistant token).

    An assistant message with `"weight": 0` (axolotl's convention) stays in the context but gets no loss: rs uses
    it for the turns of a kept conversation that its judge failed."""
    skipped = [m.get("weight", 1) == 0 for m in messages if m["role"] == "assistant"]
    if has_generation_markers(tokenizer.chat_template) and not any(skipped):
        encoded = tokenizer.apply_chat_template(list(messages), tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
        return {"input_ids": list(encoded["input_ids"]), "assistant_masks": list(encoded["assistant_masks"])}
    if not getattr(tokenizer, "is_fast", False):
        raise ChatMaskError("finding assistant tokens needs a fast tokenizer (character offsets); this one is not")
    text, spans = assistant_char_spans(tokenizer, messages)
    spans = [span for span, skip in zip(spans, skipped) if not skip]
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = [int(any(start < span_end and end > span_start for span_start, span_end in spans)) for start, end in encoded["offset_mapping"]]
    return {"input_ids": list(encoded["input_ids"]), "assistant_masks": mask}
