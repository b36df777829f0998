"""The OpenAI-compatible HTTP server for a steep model, with the guard in front of it.

Run it with `steep serve RUN_DIR` (or `steep serve MODEL_DIR --adapter support=path/to/adapter`): that loads the
model into an engine (`steep.serve.hf_engine`), checks the chat template hash against the run's manifests, and calls

    uvicorn.run(create_app(engine, config.serve, chat_template_sha256=sha), host=..., port=...)

Any OpenAI client then works against it:

    client = openai.OpenAI(base_url="http://127.0.0.1:8000/v1", api_key=os.environ["STEEP_API_KEY"])
    client.chat.completions.create(model="steep", messages=[{"role": "user", "content": "Refund window?"}])

Endpoints: `POST /v1/chat/completions` and `POST /v1/completions` (both with `stream: true` over SSE),
`GET /v1/models`, `GET /v1/models/{id}`, `GET /health`, `GET /metrics` (Prometheus text). The `model` field picks
the base model (`serve.model_name`) or one of the LoRA adapters by its name.

Order of checks for a /v1 request: API key (401) -> the key's rate limit (429 with Retry-After) -> body size
(413) -> JSON and fields (400, OpenAI's shape) -> `model` (404) -> `max_tokens` above `serve.max_tokens_limit`
(400 naming the limit, not a silent clamp; omitted, it defaults to the limit) -> input rails -> the batching
queue -> output rails. A refusal is still a 200 whose content is `serve.guard.refusal` and whose
`finish_reason` is "content_filter", as OpenAI reports its own filter; a refused request never reached the
model, so its usage is all zeros. A streamed reply is guarded with a held-back window (`steep.serve.stream`).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextlib import aclosing, asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from steep.serve.audit import AuditLog
from steep.serve.auth import KeyStore
from steep.serve.batching import Batcher
from steep.serve.config import ServeConfig
from steep.serve.engine import Completion, Prompt, Sampling, as_batch_engine
from steep.serve.errors import OpenAIError, _validation_error
from steep.serve.guard import Guard, GuardDecision
from steep.serve.metrics import Metrics
from steep.serve.rate_limit import RateLimiter
from steep.serve.stream import StreamGuard
from steep.serve.wire import ChatCompletionRequest, CompletionRequest

log = logging.getLogger("steep.serve")

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


class _LatencyMiddleware:
    """Counts /v1 requests by status and times them to the last byte sent (streams included). Pure ASGI, so a
    streamed reply is not buffered."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]
        endpoint = "/v1/models" if path.startswith("/v1/models") else path

        async def timed_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.metrics.observe("steep_request_latency_seconds", time.perf_counter() - started, endpoint=endpoint)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.metrics.inc("steep_requests_total", endpoint=endpoint, status=str(status[0]))


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, or a 413 as soon as it is known to be over `limit` bytes (before reading it all, when declared)."""
    declared = request.headers.get("content-length")
    too_large = OpenAIError(413, f"Request body is larger than this server's limit of {limit} bytes "
                                 "(serve.max_body_bytes).", code="request_too_large")  # fmt: skip
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(raw: bytes, model: type[BaseModel]) -> Any:
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OpenAIError(400, f"Request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise OpenAIError(400, "Request body must be a JSON object.")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise _validation_error(list(exc.errors(include_url=False))) from None


def _sse(payload: dict | str) -> str:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"


def create_app(
    engine: Any,
    config: ServeConfig,
    *,
    chat_template_sha256: str | None = None,
    keys: KeyStore | None = None,
    limiter: RateLimiter | None = None,
) -> FastAPI:
    """Build the server around a loaded engine (`steep.serve.engine`: a BatchEngine, or a plain ChatEngine).

    `keys` defaults to `KeyStore.from_config(config)` (YAML keys, STEEP_API_KEY, api_key_env), `limiter` to
    `RateLimiter(config.rate_limit)`. Raises RuntimeError when `config.api_key_env` is set but the variable is
    unset or empty, TypeError for an engine of neither shape, and ValueError when `chat_template_sha256` is not
    a sha256 hex digest.
    """
    engine = as_batch_engine(engine)
    if chat_template_sha256 is not None and not _SHA256_HEX.match(chat_template_sha256):
        raise ValueError(f"chat_template_sha256 must be 64 lowercase hex characters, got {chat_template_sha256!r}")
    keys = keys if keys is not None else KeyStore.from_config(config)
    limiter = limiter if limiter is not None else RateLimiter(config.rate_limit)
    guard = Guard(config.guard)
    metrics = Metrics()
    audit = AuditLog(config.audit_log)
    batcher = Batcher(engine, config.batching, metrics)
    fingerprint = f"steep-{chat_template_sha256[:12]}" if chat_template_sha256 else None
    served = {config.model_name: None, **{name: name for name in engine.adapters}}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        batcher.close()

    # No /docs or /redoc: their pages pull swagger/redoc assets from a CDN, and steep sends nothing anywhere.
    app = FastAPI(title="steep", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.metrics, app.state.batcher, app.state.guard = metrics, batcher, guard
    app.add_middleware(_LatencyMiddleware, metrics=metrics)
    if config.cors_origins:  # off unless configured: a browser page on another origin cannot call the model
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])  # fmt: skip

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

    # ----------------------------------------------------------------------------------------- access

    def authorize(request: Request) -> str:
        """The caller's name for rate limits, metrics and audit: the key's name, or its address without auth."""
        if not keys.enabled:
            name = f"anonymous@{request.client.host if request.client else 'unknown'}"
            limit = None
        else:
            scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not supplied.strip():
                raise OpenAIError(401, "Missing API key: send 'Authorization: Bearer <key>'.", code="invalid_api_key",
                                  headers=_UNAUTHORIZED)  # fmt: skip
            key = keys.lookup(supplied)
            if key is None:
                raise OpenAIError(401, "Incorrect API key provided.", code="invalid_api_key", headers=_UNAUTHORIZED)
            name, limit = key.name, key.rate_limit
        retry_after = limiter.acquire(name, limit)
        if retry_after is not None:
            metrics.inc("steep_rate_limited_total", key=name)
            raise OpenAIError(429, f"Rate limit reached for {name}; retry in {retry_after} s.", type="requests",
                              code="rate_limit_exceeded", headers={"Retry-After": str(retry_after)})  # fmt: skip
        return name

    def model_card(name: str) -> dict[str, Any]:
        card = {"id": name, "object": "model", "created": 0, "owned_by": "steep"}
        if served[name] is not None:
            card["parent"] = config.model_name  # as vLLM lists a LoRA adapter
        return card

    def resolve_model(name: str) -> str | None:
        if name not in served:
            raise OpenAIError(404, f"The model {name!r} does not exist; this server serves "
                                   f"{', '.join(repr(n) for n in served)}.", param="model", code="model_not_found")  # fmt: skip
        return served[name]

    def check_max_tokens(value: int | None, param: str) -> int:
        max_tokens = value or config.max_tokens_limit
        if max_tokens > config.max_tokens_limit:
            raise OpenAIError(400, f"{param}={max_tokens} exceeds this server's limit of {config.max_tokens_limit} "
                                   "(serve.max_tokens_limit).", param=param)  # fmt: skip
        return max_tokens

    def record(decision: GuardDecision, stage: str, request_id: str, caller: str) -> None:
        for (rule, action), count in decision.counts.items():
            metrics.inc("steep_guard_actions_total", count, rule=rule, action=action)
        audit.record(request_id, caller, stage, decision.counts)
        if decision.reasons:  # a block is worth a warning; redactions are routine (metrics and audit count them)
            (log.info if decision.allowed else log.warning)("%s: %s guard: %s", request_id, stage, ", ".join(decision.reasons))

    # ----------------------------------------------------------------------------------------- routes

    @app.get("/health")
    async def health() -> dict[str, Any]:
        # Unauthenticated on purpose, for load balancers and readiness checks; it reveals only what /v1/models
        # does plus the template hash.
        return {"status": "ok", "model": config.model_name, "adapters": list(engine.adapters),
                "chat_template_sha256": chat_template_sha256}  # fmt: skip

    if config.metrics:

        @app.get("/metrics")
        async def prometheus() -> PlainTextResponse:
            return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    v1 = APIRouter(prefix="/v1")

    @v1.get("/models")
    async def list_models(_caller: str = Depends(authorize)) -> dict[str, Any]:
        return {"object": "list", "data": [model_card(name) for name in served]}

    @v1.get("/models/{model_id:path}")
    async def retrieve_model(model_id: str, _caller: str = Depends(authorize)) -> dict[str, Any]:
        resolve_model(model_id)
        return model_card(model_id)

    # Bodies are read and parsed here rather than by FastAPI so that auth and rate limits (dependencies) run
    # before the body is even read, its size is capped, and every validation error is one OpenAI-shaped 400.
    @v1.post("/chat/completions")
    async def chat_completions(request: Request, caller: str = Depends(authorize)) -> Any:
        body: ChatCompletionRequest = _parse(await _read_body(request, config.max_body_bytes), ChatCompletionRequest)
        adapter = resolve_model(body.model)
        param = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
        max_tokens = check_max_tokens(body.max_completion_tokens or body.max_tokens, param)
        messages = [{"role": m.role, "content": m.content} for m in body.messages]
        return await respond("chat", body, messages, adapter, max_tokens, caller)

    @v1.post("/completions")
    async def completions(request: Request, caller: str = Depends(authorize)) -> Any:
        body: CompletionRequest = _parse(await _read_body(request, config.max_body_bytes), CompletionRequest)
        adapter = resolve_model(body.model)
        max_tokens = check_max_tokens(body.max_tokens, "max_tokens")
        return await respond("text", body, body.prompt, adapter, max_tokens, caller)

    async def respond(kind: str, body: Any, prompt: Prompt, adapter: str | None, max_tokens: int, caller: str) -> Any:
        request_id = f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{uuid.uuid4().hex}"
        shape = _Shape(kind, request_id, body.model, fingerprint)
        include_usage = bool((body.stream_options or {}).get("include_usage"))
        as_messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        verdict = guard.check_input(as_messages)
        record(verdict, "input", request_id, caller)
        if not verdict.allowed:
            refusal = Completion(verdict.text, 0, 0, "stop")
            if body.stream:
                return StreamingResponse(shape.replay(refusal, "content_filter", include_usage), media_type="text/event-stream")
            return JSONResponse(shape.whole(verdict.text, "content_filter", 0, 0))
        if verdict.messages is not None:
            prompt = verdict.messages if isinstance(prompt, list) else verdict.messages[0]["content"]
        sampling = Sampling(
            max_tokens=max_tokens,
            temperature=1.0 if body.temperature is None else body.temperature,
            top_p=1.0 if body.top_p is None else body.top_p,
            stop=tuple(body.stop) if body.stop else None,
            seed=body.seed,
        )
        if body.stream:
            events = stream_events(shape, prompt, sampling, adapter, caller, include_usage)
            return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        try:
            completion = await batcher.generate(prompt, sampling, adapter)
        except Exception as exc:  # the engine is third-party code; the client gets a clean 500, the log the trace
            raise OpenAIError(500, f"The model failed to generate a reply ({type(exc).__name__}).",
                              type="server_error") from None  # fmt: skip
        count_tokens(completion)
        verdict = guard.check_output(completion.text)
        record(verdict, "output", request_id, caller)
        finish = completion.finish_reason if verdict.allowed else "content_filter"
        return JSONResponse(shape.whole(verdict.text, finish, completion.prompt_tokens, completion.completion_tokens))

    def count_tokens(completion: Completion) -> None:
        metrics.inc("steep_tokens_total", completion.prompt_tokens, kind="prompt")
        metrics.inc("steep_tokens_total", completion.completion_tokens, kind="completion")

    async def stream_events(shape: _Shape, prompt: Prompt, sampling: Sampling, adapter: str | None, caller: str,
                            include_usage: bool):  # fmt: skip
        sentry = StreamGuard(guard)
        completion: Completion | None = None
        yield _sse(shape.chunk("", None, first=True))
        try:
            async with aclosing(batcher.stream(prompt, sampling, adapter)) as pieces:
                async for item in pieces:
                    if isinstance(item, Completion):
                        completion = item
                        continue
                    safe = sentry.feed(item)
                    if safe:
                        yield _sse(shape.chunk(safe, None))
                    if sentry.blocked:
                        break  # closing the stream stops the generation: nothing more of this reply is wanted
        except Exception as exc:  # logged with its trace; the client gets an error event
            # Headers are sent; an SSE error event in OpenAI's shape is all a client can still be told.
            log.exception("%s: engine failed while streaming", shape.request_id)
            yield _sse({"error": {"message": f"The model failed to generate a reply ({type(exc).__name__}).",
                                  "type": "server_error", "param": None, "code": None}})  # fmt: skip
            yield _sse("[DONE]")
            return
        tail = sentry.finish()
        if tail:
            yield _sse(shape.chunk(tail, None))
        record(GuardDecision(not sentry.blocked, "", [f"{r} x{n}" for (r, _a), n in sentry.counts.items()], sentry.counts),
               "output", shape.request_id, caller)  # fmt: skip
        if sentry.blocked and sentry.released == 0:
            yield _sse(shape.chunk(guard.config.refusal, None))
        if completion is not None:
            count_tokens(completion)
        finish = "content_filter" if sentry.blocked else (completion.finish_reason if completion else "stop")
        yield _sse(shape.chunk("", finish))
        if include_usage:
            usage = (completion.prompt_tokens, completion.completion_tokens) if completion else (0, 0)
            yield _sse(shape.usage_chunk(*usage))
        yield _sse("[DONE]")

    app.include_router(v1)
    return app


class _Shape:
    """OpenAI's response objects for one request: chat (`chat.completion[.chunk]`) or text (`text_completion`)."""

    def __init__(self, kind: str, request_id: str, model: str, fingerprint: str | None) -> None:
        self.kind, self.request_id, self.model, self.fingerprint = kind, request_id, model, fingerprint
        self.created = int(time.time())

    def _envelope(self, object_name: str, choices: list[dict]) -> dict[str, Any]:
        return {"id": self.request_id, "object": object_name, "created": self.created, "model": self.model,
                "system_fingerprint": self.fingerprint, "choices": choices}  # fmt: skip

    @staticmethod
    def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens}  # fmt: skip

    def whole(self, content: str, finish: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        if self.kind == "chat":
            choice = {"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": None,
                      "finish_reason": finish}  # fmt: skip
            body = self._envelope("chat.completion", [choice])
        else:
            body = self._envelope("text_completion", [{"index": 0, "text": content, "logprobs": None, "finish_reason": finish}])
        body["usage"] = self._usage(prompt_tokens, completion_tokens)
        return body

    def chunk(self, content: str, finish: str | None, first: bool = False) -> dict[str, Any]:
        if self.kind == "chat":
            delta: dict[str, Any] = {"role": "assistant", "content": content} if first else ({"content": content} if content else {})
            return self._envelope("chat.completion.chunk", [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])
        return self._envelope("text_completion", [{"index": 0, "text": content, "logprobs": None, "finish_reason": finish}])

    def usage_chunk(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        body = self._envelope("chat.completion.chunk" if self.kind == "chat" else "text_completion", [])
        body["usage"] = self._usage(prompt_tokens, completion_tokens)
        return body

    async def replay(self, completion: Completion, finish: str, include_usage: bool):
        """A finished reply (a refusal) as a stream."""
        yield _sse(self.chunk("", None, first=True))
        if completion.text:
            yield _sse(self.chunk(completion.text, None))
        yield _sse(self.chunk("", finish))
        if include_usage:
            yield _sse(self.usage_chunk(completion.prompt_tokens, completion.completion_tokens))
        yield _sse("[DONE]")
