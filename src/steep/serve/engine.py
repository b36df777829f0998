"""The one thing the server needs from a model: turn chat messages into a reply.

`steep.serve.app.create_app` takes any object with this shape. The real engines live in `steep.generate`
(transformers with a static KV cache, vLLM when installed) and are built by `steep serve RUN_DIR`; tests pass a
ten-line fake. Keeping the protocol here, free of torch, lets the app be imported and tested without a model.

    class MyEngine:
        model_name = "my-model"
        def chat(self, messages, *, max_tokens, temperature, top_p, stop, seed) -> Completion: ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

FinishReason = Literal["stop", "length"]
_FINISH_REASONS: frozenset[str] = frozenset(("stop", "length"))


@dataclass(frozen=True)
class Completion:
    """One generated reply and what it cost.

    `finish_reason` is "stop" when the model ended its turn (EOS or a stop sequence) and "length" when it ran into
    `max_tokens`. Token counts are the engine's own (prompt after the chat template is applied), so `usage` in the
    API response is exact rather than estimated.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason

    def __post_init__(self) -> None:
        # An engine bug should fail here, loudly, rather than as a malformed API response.
        if not isinstance(self.text, str):
            raise TypeError(f"Completion.text must be str, got {type(self.text).__name__}")
        if self.prompt_tokens < 0 or self.completion_tokens < 0:
            raise ValueError(
                f"token counts must be >= 0, got prompt_tokens={self.prompt_tokens}, "
                f"completion_tokens={self.completion_tokens}"
            )
        if self.finish_reason not in _FINISH_REASONS:
            raise ValueError(f"finish_reason must be 'stop' or 'length', got {self.finish_reason!r}")


@runtime_checkable
class ChatEngine(Protocol):
    """A loaded chat model. Calls are blocking and need not be thread-safe: the server serializes them.

    `messages` are OpenAI-style `{"role": "system"|"user"|"assistant", "content": str}` dicts; the engine applies
    its own chat template (the one whose sha256 the server reports). `stop` is None or a non-empty list of
    strings; the returned text must not include the stop sequence. `seed` None means unseeded sampling;
    `temperature` 0 means greedy.
    """

    model_name: str

    def chat(
        self,
        messages: list[dict],
        *,
        max_tokens: int,
        temperature: float,
        top_p: float,
        stop: list[str] | None,
        seed: int | None,
    ) -> Completion: ...
