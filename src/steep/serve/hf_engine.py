"""The server's engine over a transformers model (`steep.generate.hf`): one request at a time, the app serializes."""

from __future__ import annotations

from steep.generate.config import GenerationConfig
from steep.generate.hf import HFChatGenerator
from steep.serve.engine import Completion


class HFChatEngine:
    """`steep.serve.engine.ChatEngine` over a transformers model: one request at a time, the server serializes."""

    def __init__(self, model, tokenizer, device: str, model_name: str):
        self.generator = HFChatGenerator(model, tokenizer, device)
        self.model_name = model_name

    def chat(self, messages, *, max_tokens, temperature, top_p, stop, seed):
        generation = GenerationConfig(max_new_tokens=max_tokens, temperature=temperature, top_p=top_p, batch_size=1)
        result = self.generator.generate_chat([messages], generation, seed=seed)[0]
        text, finish = result.text, result.finish_reason
        for marker in stop or []:
            if marker in text:
                text, finish = text[: text.index(marker)], "stop"
        return Completion(text=text, prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens, finish_reason=finish)
