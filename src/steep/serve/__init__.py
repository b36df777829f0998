"""Serve a steep model behind an OpenAI-compatible API, with guardrails on what goes in and what comes out.

    from steep.serve import ServeConfig, create_app
    uvicorn.run(create_app(engine, ServeConfig(), chat_template_sha256=sha), host="127.0.0.1", port=8000)

`steep serve RUN_DIR | MODEL_DIR [--adapter name=path ...]` does this for a finished run or any model directory.
Importing this package is cheap (pydantic only) so the pipeline schema can use `ServeConfig`; FastAPI is imported
when `create_app` is first touched.

Modules, one job each:
- `app`        routes, the order of checks, OpenAI response shapes (chat, completions, SSE chunks)
- `wire`       request models (lenient where OpenAI clients are, strict where ignoring would change the answer)
- `errors`     OpenAI's error shape
- `engine`     what the server needs from a model (`BatchEngine`, or a simple `ChatEngine`), `Sampling`
- `hf_engine`  transformers engine: batches, streaming, LoRA adapters chosen per request
- `batching`   the queue: one worker owns the model; alike requests arriving together run as one batch
- `guard`      input and output rails (curate's PII and secret detectors, compliance terms, injection, topics)
- `stream`     the guard on streamed text: a held-back window so a value split across chunks is still caught
- `auth`       hashed named API keys, STEEP_API_KEY; `rate_limit` token buckets per key
- `metrics`    Prometheus text; `audit` JSONL of guard decisions without the matched text
- `server`     uvicorn in a thread on a free loopback port (tests, bench)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steep.serve.config import ServeConfig
from steep.serve.engine import BatchEngine, ChatEngine, Completion, Sampling
from steep.serve.guard import Guard, GuardConfig, GuardDecision

if TYPE_CHECKING:
    from steep.serve.app import create_app

__all__ = [
    "BatchEngine", "ChatEngine", "Completion", "Guard", "GuardConfig", "GuardDecision", "Sampling", "ServeConfig",
    "create_app",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from steep.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'steep.serve' has no attribute {name!r}")
