"""The OpenAI-compatible HTTP server for a steep model, with the output guard in front of it.

Run it with `steep serve RUN_DIR`: that loads the model from the run directory into an engine
(`steep.generate`), checks the chat template hash against the manifests, and calls

    uvicorn.run(create_app(engine, config.serve, chat_template_sha256=sha), host=config.serve.host,
                port=config.serve.port)

Any OpenAI client then works against it:

    curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\
      -d '{"model": "steep", "messages": [{"role": "user", "content": "What is our refund window?"}]}'

Endpoints: `POST /v1/chat/completions` (non-streaming), `GET /v1/models`, `GET /v1/models/{id}`, `GET /health`.

Wire rules: lenient on input as OpenAI clients expect (unknown fields such as `user`, `presence_penalty` or
`logprobs` are accepted and ignored; nulls mean "default"), strict where ignoring would silently change the answer
(`stream: true`, `n > 1`, `tools`, a JSON `response_format` are 400s, not ignored). `max_tokens` (or
`max_completion_tokens`, which wins when both are sent) above `serve.max_tokens_limit` is a 400 naming the limit,
as OpenAI does for its own limits, not a silent clamp; omitted, it defaults to the limit. Every error uses
OpenAI's shape `{"error": {"message", "type", "param", "code"}}`; validation errors are 400 (OpenAI), not 422.

Guard: the request is checked before the engine runs and the reply after; a refusal is still a 200 whose content
is `serve.guard.refusal` and whose `finish_reason` is "content_filter", as OpenAI reports its own filter. A
refused request was never tokenized, so its usage is all zeros.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import threading
import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from steep.serve.config import ServeConfig
from steep.serve.engine import ChatEngine, Completion
from steep.serve.guard import Guard

log = logging.getLogger("steep.serve")

_MAX_STOP_SEQUENCES = 4  # OpenAI's limit; engines check every stop string after every token.
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


# --------------------------------------------------------------------------------------------------- errors


class OpenAIError(Exception):
    """An error to send in OpenAI's shape. Raised anywhere in a request; turned into JSON by a handler."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status_code, headers=self.headers)


def _param_path(loc: tuple[Any, ...]) -> str | None:
    """("messages", 0, "role") -> "messages[0].role"; pydantic's "body" prefix (FastAPI) dropped."""
    path = ""
    for part in loc:
        if part == "body" and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


def _validation_error(errors: list[dict[str, Any]]) -> OpenAIError:
    messages = []
    for err in errors:
        param = _param_path(tuple(err.get("loc", ())))
        text = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        messages.append(f"{param}: {text}" if param else text)
    first_param = _param_path(tuple(errors[0].get("loc", ()))) if errors else None
    return OpenAIError(400, "; ".join(messages) or "invalid request", param=first_param)


# --------------------------------------------------------------------------------------------------- wire models


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


class ChatCompletionRequest(_Lenient):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    stop: list[str] | None = None
    seed: int | None = None
    n: int | None = None
    stream: bool | None = None
    # Declared only to refuse them: ignoring these would return something the client did not ask for.
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    response_format: dict[str, Any] | None = None

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

    @field_validator("stream")
    @classmethod
    def _no_streaming(cls, stream: bool | None) -> bool | None:
        if stream:
            raise ValueError("streaming not supported yet; send stream: false (or omit it)")
        return stream

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


# --------------------------------------------------------------------------------------------------- auth


def _bearer_auth(api_key_env: str | None):
    """A dependency that checks `Authorization: Bearer <token>`, or None when auth is off."""
    if api_key_env is None:
        return None
    token = os.environ.get(api_key_env, "")
    if not token.strip():
        raise RuntimeError(
            f"serve.api_key_env is {api_key_env!r}, but that environment variable is unset or empty; "
            f"export {api_key_env}=<token> or set serve.api_key_env to null to serve without auth"
        )
    expected = token.strip().encode()
    unauthorized = {"WWW-Authenticate": "Bearer"}

    def require_bearer(request: Request) -> None:
        scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not supplied.strip():
            raise OpenAIError(
                401,
                "Missing API key: send 'Authorization: Bearer <key>'.",
                code="invalid_api_key",
                headers=unauthorized,
            )
        # Bytes, not str: compare_digest rejects non-ASCII str with a TypeError (a 500 instead of a 401).
        if not hmac.compare_digest(supplied.strip().encode(), expected):
            raise OpenAIError(401, "Incorrect API key provided.", code="invalid_api_key", headers=unauthorized)

    return require_bearer


# --------------------------------------------------------------------------------------------------- app


def create_app(engine: ChatEngine, config: ServeConfig, *, chat_template_sha256: str | None = None) -> FastAPI:
    """Build the server around a loaded engine.

    Raises RuntimeError when `config.api_key_env` is set but the variable is unset or empty, TypeError when
    `engine` has no `chat` method, and ValueError when `chat_template_sha256` is not a sha256 hex digest.
    """
    if not callable(getattr(engine, "chat", None)):
        raise TypeError(f"engine must have a chat(messages, ...) method, got {type(engine).__name__}")
    if chat_template_sha256 is not None and not _SHA256_HEX.match(chat_template_sha256):
        raise ValueError(f"chat_template_sha256 must be 64 lowercase hex characters, got {chat_template_sha256!r}")

    guard = Guard(config.guard)
    require_bearer = _bearer_auth(config.api_key_env)
    # One model, one request at a time in this skeleton: the engine (a torch model with its KV cache) is not
    # thread-safe, so calls are serialized. Waiting requests queue on the lock inside the threadpool; batching
    # concurrent requests is vLLM's job. A threading lock, not an asyncio one, so exclusion holds no matter
    # which event loop (or test client) calls in.
    engine_lock = threading.Lock()
    fingerprint = f"steep-{chat_template_sha256[:12]}" if chat_template_sha256 else None

    def generate(messages: list[dict], **sampling: Any) -> Completion:
        with engine_lock:
            return engine.chat(messages, **sampling)

    # No /docs or /redoc: their pages pull swagger/redoc assets from a CDN, and steep sends nothing anywhere.
    # The schema itself stays at /openapi.json.
    app = FastAPI(title="steep", docs_url=None, redoc_url=None)

    @app.exception_handler(OpenAIError)
    async def _openai_error(_request: Request, exc: OpenAIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _request_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_error(list(exc.errors())).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = f"{exc.detail}: {request.method} {request.url.path}"
        code = "not_found" if exc.status_code == 404 else None
        return OpenAIError(exc.status_code, message, code=code, headers=exc.headers).response()

    def model_card() -> dict[str, Any]:
        return {"id": config.model_name, "object": "model", "created": 0, "owned_by": "steep"}

    def check_model(name: str) -> None:
        if name != config.model_name:
            raise OpenAIError(
                404,
                f"The model {name!r} does not exist; this server serves {config.model_name!r}.",
                param="model",
                code="model_not_found",
            )

    @app.get("/health")
    async def health() -> dict[str, Any]:
        # Unauthenticated on purpose, for load balancers and `steep serve` readiness checks; it reveals only what
        # /v1/models does plus the template hash.
        return {"status": "ok", "model": config.model_name, "chat_template_sha256": chat_template_sha256}

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_bearer)] if require_bearer else [])

    @v1.get("/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @v1.get("/models/{model_id:path}")
    async def retrieve_model(model_id: str) -> dict[str, Any]:
        check_model(model_id)
        return model_card()

    # The body is parsed here rather than by FastAPI so that auth (a router dependency) runs before the body is
    # even read, and so every validation error comes out as one OpenAI-shaped 400.
    @v1.post("/chat/completions")
    async def chat_completions(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            payload = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise OpenAIError(400, f"Request body is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise OpenAIError(400, "Request body must be a JSON object.")
        try:
            body = ChatCompletionRequest.model_validate(payload)
        except ValidationError as exc:
            raise _validation_error(list(exc.errors(include_url=False))) from None

        check_model(body.model)
        max_tokens = body.max_completion_tokens or body.max_tokens or config.max_tokens_limit
        if max_tokens > config.max_tokens_limit:
            param = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
            raise OpenAIError(
                400,
                f"{param}={max_tokens} exceeds this server's limit of {config.max_tokens_limit} "
                f"(serve.max_tokens_limit).",
                param=param,
            )

        request_id = f"chatcmpl-{uuid.uuid4().hex}"
        messages = [{"role": m.role, "content": m.content} for m in body.messages]

        verdict = guard.check_input(messages)
        if not verdict.allowed:
            log.warning("%s: request refused by guard: %s", request_id, ", ".join(verdict.reasons))
            return _completion_response(
                request_id, config.model_name, fingerprint, verdict.text, "content_filter", 0, 0
            )

        try:
            completion = await run_in_threadpool(
                generate,
                messages,
                max_tokens=max_tokens,
                temperature=1.0 if body.temperature is None else body.temperature,
                top_p=1.0 if body.top_p is None else body.top_p,
                stop=body.stop,
                seed=body.seed,
            )
        except Exception as exc:  # the engine is third-party code; the client gets a clean 500, the log the trace
            log.exception("%s: engine failed", request_id)
            raise OpenAIError(
                500, f"The model failed to generate a reply ({type(exc).__name__}).", type="server_error"
            ) from None

        # Whole-reply check. Streaming, when it comes, must hold back text until the guard has seen it.
        verdict = guard.check_output(completion.text)
        finish_reason = completion.finish_reason if verdict.allowed else "content_filter"
        if verdict.reasons:
            action = "redacted" if verdict.allowed else "replaced"
            log.warning("%s: reply %s by guard: %s", request_id, action, ", ".join(verdict.reasons))
        return _completion_response(
            request_id,
            config.model_name,
            fingerprint,
            verdict.text,
            finish_reason,
            completion.prompt_tokens,
            completion.completion_tokens,
        )

    app.include_router(v1)
    return app


def _completion_response(
    request_id: str,
    model: str,
    fingerprint: str | None,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> JSONResponse:
    return JSONResponse(
        {
            "id": request_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": fingerprint,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )
