"""What the server needs from a model: turn prompts into replies, in batches, and stream one reply.

`steep.serve.app.create_app` takes either engine shape below. The real one is `steep.serve.hf_engine.HFEngine`
(transformers, several LoRA adapters on one base), built by `steep serve`; tests pass a ten-line fake.
Keeping the protocols here, free of torch, lets the app be imported and tested without a model.

    class MyEngine:                       # the full shape: batched, streaming, adapters
        model_name = "my-model"
        adapters = ("support", "legal")   # extra servable names (LoRA adapters); () when none
        def generate(self, prompts, sampling, adapter) -> list[Completion]: ...
        def stream(self, prompt, sampling, adapter) -> Iterator[str | Completion]: ...

    class MySimpleEngine:                 # the old shape still works: one chat at a time, no streaming
        model_name = "my-model"
        def chat(self, messages, *, max_tokens, temperature, top_p, stop, seed) -> Completion: ...

A prompt is a chat (a list of `{"role", "content"}` dicts, rendered with the model's own template) or a str (a raw
completion prompt, tokenized as is). `adapter` None means the base model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

FinishReason = Literal["stop", "length"]
_FINISH_REASONS: frozenset[str] = frozenset(("stop", "length"))

Prompt = list[dict] | str


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


@dataclass(frozen=True)
class Sampling:
    """How to sample one reply. Hashable: the batcher groups requests whose sampling is equal.

    `stop` is None or a tuple of non-empty strings; the returned text must not include the stop sequence.
    `seed` None means unseeded sampling; `temperature` 0 means greedy.
    """

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] | None = None
    seed: int | None = None


@runtime_checkable
class ChatEngine(Protocol):
    """The old, simple shape: one chat at a time. Calls are blocking and need not be thread-safe."""

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


@runtime_checkable
class BatchEngine(Protocol):
    """A loaded model that generates for several prompts at once and streams one reply.

    Calls are blocking and need not be thread-safe: the server calls from one worker thread only
    (`steep.serve.batching`). `stream` yields text pieces in order, then exactly one `Completion` for the whole
    reply (its text is the concatenation of the pieces).
    """

    model_name: str
    adapters: tuple[str, ...]

    def generate(self, prompts: Sequence[Prompt], sampling: Sampling, adapter: str | None) -> list[Completion]: ...

    def stream(self, prompt: Prompt, sampling: Sampling, adapter: str | None) -> Iterator[str | Completion]: ...


class ChatEngineAdapter:
    """A `ChatEngine` seen as a `BatchEngine`: one call per prompt, the whole reply as one streamed piece.

    A raw completion prompt becomes one user message: a chat-only engine has nothing better to offer."""

    def __init__(self, engine: ChatEngine) -> None:
        self.engine = engine
        self.model_name = engine.model_name
        self.adapters: tuple[str, ...] = ()

    def _one(self, prompt: Prompt, sampling: Sampling) -> Completion:
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        return self.engine.chat(
            messages, max_tokens=sampling.max_tokens, temperature=sampling.temperature, top_p=sampling.top_p,
            stop=list(sampling.stop) if sampling.stop else None, seed=sampling.seed,
        )  # fmt: skip

    def generate(self, prompts: Sequence[Prompt], sampling: Sampling, adapter: str | None) -> list[Completion]:
        return [self._one(prompt, sampling) for prompt in prompts]

    def stream(self, prompt: Prompt, sampling: Sampling, adapter: str | None) -> Iterator[str | Completion]:
        completion = self._one(prompt, sampling)
        if completion.text:
            yield completion.text
        yield completion


def as_batch_engine(engine: object) -> BatchEngine:
    """The engine itself when it has the full shape, else a `ChatEngineAdapter` around its `chat`."""
    if callable(getattr(engine, "generate", None)) and callable(getattr(engine, "stream", None)):
        if not hasattr(engine, "adapters"):
            raise TypeError(f"{type(engine).__name__} has generate/stream but no `adapters` attribute")
        return engine  # type: ignore[return-value]
    if callable(getattr(engine, "chat", None)):
        return ChatEngineAdapter(engine)  # type: ignore[arg-type]
    raise TypeError(f"engine must have generate/stream or a chat(messages, ...) method, got {type(engine).__name__}")
