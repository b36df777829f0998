"""Fake engines for the serve tests: no model, no torch; the text and how it is chunked are chosen by the test.

    engine = ScriptedEngine("Card 4111 1111 1111 1111 ok", chunk_size=3)
"""

from __future__ import annotations

import threading

from steep.serve.engine import Completion


class ScriptedEngine:
    """A BatchEngine that answers every prompt with `reply` (per adapter when `replies` has the name), streamed in
    `chunk_size`-character pieces; records every batch it was given."""

    model_name = "scripted"

    def __init__(self, reply: str = "Claims settle in ten working days.", chunk_size: int = 4,
                 adapters: dict[str, str] | None = None) -> None:  # fmt: skip
        self.reply = reply
        self.chunk_size = chunk_size
        self.replies = adapters or {}
        self.adapters = tuple(self.replies)
        self.batches: list[dict] = []
        self.lock = threading.Lock()

    def _text(self, adapter: str | None) -> str:
        return self.replies.get(adapter, self.reply) if adapter else self.reply

    @staticmethod
    def _prompt_tokens(prompt) -> int:
        if isinstance(prompt, str):
            return len(prompt.split())
        return sum(len(m["content"].split()) for m in prompt)

    def generate(self, prompts, sampling, adapter):
        with self.lock:
            self.batches.append({"prompts": list(prompts), "sampling": sampling, "adapter": adapter, "stream": False})
        text = self._text(adapter)[: sampling.max_tokens * 50]
        return [Completion(text, self._prompt_tokens(p), len(text.split()), "stop") for p in prompts]

    def stream(self, prompt, sampling, adapter):
        with self.lock:
            self.batches.append({"prompts": [prompt], "sampling": sampling, "adapter": adapter, "stream": True})
        text = self._text(adapter)
        for start in range(0, len(text), self.chunk_size):
            yield text[start : start + self.chunk_size]
        yield Completion(text, self._prompt_tokens(prompt), len(text.split()), "stop")
