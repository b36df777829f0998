"""The assistant-token mask for chat templates without `{% generation %}` markers (`steep.model.chat_mask`).

The reference is the template that has markers: ChatML with and without them renders the same text, so the
found mask must equal the one transformers computes from the markers, token for token.
"""

from __future__ import annotations

import pytest

from steep.model.chat_mask import tokenize_conversation
from steep.model.load import load_tokenizer
from steep.model.template import CHATML_TEMPLATE, ChatTemplateError, check_chat_template

MARKERLESS_CHATML = CHATML_TEMPLATE.replace("{% generation %}", "").replace("{% endgeneration %}", "")
# SmolLM2-Instruct's own template (copied from its tokenizer): ChatML with a default system prompt, no markers.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CONVERSATIONS = [
    [{"role": "user", "content": "How long does claim 7 take?"}, {"role": "assistant", "content": "Answer: claim 7 settles in 9 working days.\nSource: POL-1007"}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the deductible on policy 3?"},
        {"role": "assistant", "content": "Fifty euros."},
        {"role": "user", "content": "And on policy 4?"},
        {"role": "assistant", "content": "Also fifty.\nSource: POL-1004"},
        {"role": "user", "content": "Thanks."},
        {"role": "assistant", "content": "Glad to help."},
    ],
    # the same answer twice: the span of the second turn must not be found at the first one
    [{"role": "user", "content": "Open?"}, {"role": "assistant", "content": "Yes."}, {"role": "user", "content": "Sure?"}, {"role": "assistant", "content": "Yes."}],
]


def _masked_text(tokenizer, encoded, keep=1) -> str:
    return tokenizer.decode([t for t, m in zip(encoded["input_ids"], encoded["assistant_masks"]) if m == keep], skip_special_tokens=False)


@pytest.mark.parametrize("conversation", CONVERSATIONS)
def test_found_mask_equals_the_generation_marker_mask(tiny_model_dir, conversation):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    tokenizer.chat_template = CHATML_TEMPLATE
    reference = tokenize_conversation(tokenizer, conversation)
    tokenizer.chat_template = MARKERLESS_CHATML
    found = tokenize_conversation(tokenizer, conversation)
    assert found["input_ids"] == reference["input_ids"]
    assert found["assistant_masks"] == reference["assistant_masks"]
    assert sum(found["assistant_masks"]) > 0


def test_real_template_masks_every_assistant_turn_and_its_end_token(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    tokenizer.chat_template = SMOLLM2_TEMPLATE
    encoded = tokenize_conversation(tokenizer, CONVERSATIONS[1])
    masked, unmasked = _masked_text(tokenizer, encoded), _masked_text(tokenizer, encoded, keep=0)
    assert masked == "Fifty euros.<|im_end|>Also fifty.\nSource: POL-1004<|im_end|>Glad to help.<|im_end|>"
    for text in ("Be brief.", "policy 3?", "And on policy 4?", "Thanks.", "<|im_start|>assistant\n"):
        assert text in unmasked and text not in masked


@pytest.mark.parametrize("template", [SMOLLM2_TEMPLATE, CHATML_TEMPLATE])
def test_an_assistant_turn_with_weight_0_stays_in_the_context_without_loss(tiny_model_dir, template):
    """rs keeps a judged conversation whole but trains only the turns its judge passed: `"weight": 0` on a turn."""
    tokenizer = load_tokenizer(str(tiny_model_dir))
    tokenizer.chat_template = template
    conversation = [dict(m) for m in CONVERSATIONS[1]]
    conversation[4]["weight"] = 0  # "Also fifty.\nSource: POL-1004"
    encoded = tokenize_conversation(tokenizer, conversation)
    assert _masked_text(tokenizer, encoded) == "Fifty euros.<|im_end|>Glad to help.<|im_end|>"
    assert "Also fifty." in _masked_text(tokenizer, encoded, keep=0)
    assert encoded["input_ids"] == tokenize_conversation(tokenizer, CONVERSATIONS[1])["input_ids"]


def test_template_that_is_not_prefix_preserving_falls_back_to_finding_the_content(tiny_model_dir):
    """A template that marks the final turn differently (as some reasoning templates do) breaks the prefix rule
    for the earlier turns; the template's own words inside the final assistant turn are the assistant's to say."""
    tokenizer = load_tokenizer(str(tiny_model_dir))
    tokenizer.chat_template = MARKERLESS_CHATML.replace(
        "{{ '<|im_start|>assistant\n' }}{{ message['content'] + '<|im_end|>' }}",
        "{{ '<|im_start|>assistant\n' }}{% if loop.last %}{{ 'Final: ' }}{% endif %}{{ message['content'] + '<|im_end|>' }}",
    )
    encoded = tokenize_conversation(tokenizer, CONVERSATIONS[2])
    assert _masked_text(tokenizer, encoded) == "Yes.<|im_end|>Final: Yes.<|im_end|>"


def test_template_that_rewrites_an_assistant_turn_is_found_by_the_round_trip(tiny_model_dir):
    """A template that renders something else than the assistant's words is caught before any training."""
    tokenizer = load_tokenizer(str(tiny_model_dir))
    tokenizer.chat_template = MARKERLESS_CHATML.replace("message['content'] + '<|im_end|>' }}", "'(hidden)<|im_end|>' }}", 1)
    with pytest.raises(ChatTemplateError, match="not inside the assistant mask"):
        check_chat_template(tokenizer)
