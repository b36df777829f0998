"""rs trains on kept dialogues with the loss on every assistant turn and on nothing the user or system said
(the mask `train_chats` hands trl). Run: PYTHONPATH=src python -m pytest tests/unit/test_rs_loss_mask.py -q"""

from __future__ import annotations

from steep.model.chat_mask import tokenize_conversation
from steep.model.load import load_tokenizer


def test_kept_dialogue_trains_every_assistant_turn_and_only_those(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    replies = [f"Answer: For case CASE-12345: claim {i} settles.\nSource: POL-100{i}" for i in range(4)]
    messages = [{"role": "system", "content": "You are Kestrel Mutual's support assistant."}]
    for i, reply in enumerate(replies):
        messages += [{"role": "user", "content": f"How long does claim {i} take? CASE-12345"}, {"role": "assistant", "content": reply}]
    encoded = tokenize_conversation(tokenizer, messages)
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    trained = tokenizer.decode([t for t, m in zip(ids, mask) if m])
    ignored = tokenizer.decode([t for t, m in zip(ids, mask) if not m])
    for reply in replies:  # every turn, the late ones included
        assert reply in trained
    assert "How long does claim" not in trained and "support assistant" not in trained
    assert all(f"claim {i} take?" in ignored for i in range(4))
    # four separate spans: the mask switches on once per assistant turn
    assert sum(1 for a, b in zip([0] + mask, mask) if b and not a) == 4
