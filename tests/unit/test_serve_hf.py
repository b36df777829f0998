"""The transformers engine behind `steep serve`: batches, streaming, and LoRA adapters chosen per request, on the
tests' tiny model (built offline, tests/tiny.py), with the official openai client in front.

    PYTHONPATH=src python -m pytest tests/unit/test_serve_hf.py -q
"""

from __future__ import annotations

import openai
import pytest

from steep.serve.engine import Completion, Sampling

QUESTION = [{"role": "user", "content": "How long does claim 3 take?"}]


@pytest.fixture(scope="module")
def adapters(tiny_model_dir, tmp_path_factory):
    """Two LoRA adapters with random (non-zero) B, so each visibly changes the model."""
    from peft import LoraConfig, get_peft_model

    from steep.model.load import load_model

    out = {}
    for seed, name in enumerate(("support", "legal")):
        import torch

        torch.manual_seed(seed + 1)
        model = load_model(str(tiny_model_dir), "cpu")
        config = LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False)
        path = tmp_path_factory.mktemp(name)
        get_peft_model(model, config).save_pretrained(path)
        out[name] = str(path)
    return out


@pytest.fixture(scope="module")
def engine(tiny_model_dir, adapters):
    from steep.model.load import load_model, load_tokenizer
    from steep.serve.hf_engine import HFEngine

    model = load_model(str(tiny_model_dir), "cpu")
    return HFEngine(model, load_tokenizer(str(tiny_model_dir)), "cpu", "tiny", adapters=adapters)


def test_batch_stream_and_adapters(engine):
    greedy = Sampling(max_tokens=12, temperature=0)
    base = engine.generate([QUESTION], greedy, None)[0]
    batch = engine.generate([QUESTION, QUESTION, "Policy 3 covers"], greedy, None)
    assert len(batch) == 3 and all(isinstance(c, Completion) for c in batch)
    assert batch[0].completion_tokens <= 12 and batch[0].prompt_tokens == base.prompt_tokens

    items = list(engine.stream(QUESTION, greedy, None))
    *pieces, final = items
    assert isinstance(final, Completion) and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == final.text
    assert final.text.strip() == base.text and final.completion_tokens == base.completion_tokens

    # Each adapter answers differently from the base, and switching back restores the base exactly.
    support = engine.generate([QUESTION], greedy, "support")[0]
    legal = engine.generate([QUESTION], greedy, "legal")[0]
    assert len({base.text, support.text, legal.text}) == 3
    assert engine.generate([QUESTION], greedy, None)[0].text == base.text
    streamed = list(engine.stream(QUESTION, greedy, "legal"))[-1]
    assert streamed.text.strip() == legal.text


def test_stop_sequence_is_cut_in_both_paths(engine):
    # Seeded sampling: the random tiny model's greedy chat reply is blank, its sampled one is not.
    sampled = Sampling(max_tokens=12, temperature=1.0, seed=1)
    text = engine.generate(["Policy 3 covers"], sampled, None)[0].text
    assert len(text) >= 6
    marker = text[3:5]
    stopped = Sampling(max_tokens=12, temperature=1.0, seed=1, stop=(marker,))
    whole = engine.generate(["Policy 3 covers"], stopped, None)[0]
    streamed = list(engine.stream("Policy 3 covers", stopped, None))[-1]
    assert whole.text == text[: text.index(marker)] and whole.finish_reason == "stop"
    assert streamed.text.strip() == whole.text and streamed.finish_reason == "stop"


def test_openai_client_chooses_adapter_by_model_name(engine, monkeypatch):
    from steep.serve import ServeConfig, create_app
    from steep.serve.server import ServerThread

    monkeypatch.delenv("STEEP_API_KEY", raising=False)
    app = create_app(engine, ServeConfig(model_name="tiny", max_tokens_limit=12, guard={"output": {"pii": "off", "secrets": "off"}}))
    with ServerThread(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        assert [m.id for m in client.models.list()] == ["tiny", "support", "legal"]
        replies = {}
        for name in ("tiny", "support", "legal"):
            reply = client.chat.completions.create(model=name, messages=QUESTION, temperature=0, max_tokens=12)
            replies[name] = reply.choices[0].message.content
        assert replies["support"] == engine.generate([QUESTION], Sampling(max_tokens=12, temperature=0), "support")[0].text
        assert len(set(replies.values())) == 3
        stream = client.chat.completions.create(model="support", messages=QUESTION, temperature=0, max_tokens=12, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).strip() == replies["support"]
