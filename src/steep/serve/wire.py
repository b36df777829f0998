"""The OpenAI wire format the server accepts: chat completion and (legacy) completion requests.

Lenient on input as OpenAI clients expect (unknown fields such as `user`, `presence_penalty` or `logprobs` are
accepted and ignored; nulls mean "default"), strict where ignoring would silently change the answer (`n > 1`,
`tools`, a JSON `response_format`, `echo`, `best_of > 1`, `suffix` are 400s, not ignored).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_MAX_STOP_SEQUENCES = 4  # OpenAI's limit; engines check every stop string after every token.


class _Lenient(BaseModel):
    # The wire is lenient, configs are strict: OpenAI clients send fields we do not use (user, logit_bias, ...).
    model_config = ConfigDict(extra="ignore")


class ChatMessage(_Lenient):
    role: Literal["system", "user", "assistant"]
    content: str

    @field_validator("content", mode="before")
    @classmethod
    def _join_text_parts(cls, content: Any) -> Any:
        """A string, or a list of `{"type": "text", "text": ...}` parts joined with newlines (as vLLM does)."""
        if content is None:
            raise ValueError("content is required (null content, as sent with tool calls, is not supported)")
        if not isinstance(content, list):
            return content  # str passes; anything else fails str validation with pydantic's message
        texts = []
        for index, part in enumerate(content):
            if not isinstance(part, dict):
                raise ValueError(f"content[{index}] must be an object like {{'type': 'text', 'text': '...'}}")
            if part.get("type") != "text":
                raise ValueError(f"content[{index}] has type {part.get('type')!r}; only 'text' parts are supported")
            if not isinstance(part.get("text"), str):
                raise ValueError(f"content[{index}].text must be a string")
            texts.append(part["text"])
        return "\n".join(texts)


class _Sampling(_Lenient):
    """What both completion endpoints accept about sampling and streaming, validated the same way."""

    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    stop: list[str] | None = None
    seed: int | None = None
    n: int | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_as_list(cls, stop: Any) -> Any:
        if isinstance(stop, str):
            stop = [stop]
        if isinstance(stop, list):
            if len(stop) > _MAX_STOP_SEQUENCES:
                raise ValueError(f"at most {_MAX_STOP_SEQUENCES} stop sequences are supported, got {len(stop)}")
            if any(isinstance(s, str) and not s for s in stop):
                raise ValueError("stop sequences must be non-empty strings")
            return stop or None
        return stop

    @field_validator("n")
    @classmethod
    def _only_one_choice(cls, n: int | None) -> int | None:
        if n is not None and n != 1:
            raise ValueError(f"only n=1 is supported, got n={n}; send separate requests for more samples")
        return n


class ChatCompletionRequest(_Sampling):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    # Declared only to refuse them: ignoring these would return something the client did not ask for.
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    response_format: dict[str, Any] | None = None

    @field_validator("tools", "functions")
    @classmethod
    def _no_tools(cls, tools: list[Any] | None) -> list[Any] | None:
        if tools:
            raise ValueError("tool calling is not supported yet")
        return tools

    @field_validator("response_format")
    @classmethod
    def _text_only(cls, response_format: dict[str, Any] | None) -> dict[str, Any] | None:
        if response_format and response_format.get("type", "text") != "text":
            raise ValueError(f"response_format type {response_format.get('type')!r} is not supported yet; use 'text'")
        return response_format


class CompletionRequest(_Sampling):
    """`POST /v1/completions`: one raw prompt, continued as is (no chat template)."""

    model: str
    prompt: str | list[str]
    echo: bool | None = None
    best_of: int | None = None
    suffix: str | None = None

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, prompt: str | list[str]) -> str:
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise ValueError(f"exactly one prompt is supported, got {len(prompt)}; send separate requests")
            prompt = prompt[0]
        if not prompt:
            raise ValueError("prompt must not be empty")
        return prompt

    @field_validator("echo", "suffix")
    @classmethod
    def _unsupported(cls, value: Any) -> Any:
        if value:
            raise ValueError("not supported by this server")
        return value

    @field_validator("best_of")
    @classmethod
    def _best_of_one(cls, best_of: int | None) -> int | None:
        if best_of is not None and best_of != 1:
            raise ValueError("only best_of=1 is supported")
        return best_of
