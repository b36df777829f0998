"""Generation engines: `hf` (in process, `steep.generate.hf`) and `openai` (an OpenAI-compatible server such as
vLLM, `steep.generate.openai_engine`). Both answer `generate_chat(conversations, generation, seed)` and
`sample(conversations, k, generation, seed)`; `build_engine` picks one from a stage's `engine:` config."""

from __future__ import annotations


def build_engine(config, model=None, tokenizer=None, device: str = "cpu"):
    """The engine `config.kind` names: `hf` samples `model` in this process, `openai` the configured server."""
    if config.kind == "hf":
        from steep.generate.hf import HFChatGenerator

        return HFChatGenerator(model, tokenizer, device)
    if config.kind == "openai":
        from steep.generate.openai_engine import OpenAIChatGenerator

        return OpenAIChatGenerator(config)
    raise ValueError(f"unknown engine kind {config.kind!r}")
