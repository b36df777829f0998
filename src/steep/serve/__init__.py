"""Serve a steep model behind an OpenAI-compatible API, with a guard on what it may say.

    from steep.serve import ServeConfig, create_app
    uvicorn.run(create_app(engine, ServeConfig(), chat_template_sha256=sha), host="127.0.0.1", port=8000)

`steep serve RUN_DIR` does this for a finished run. Importing this package is cheap (pydantic only) so the pipeline
schema can use `ServeConfig`; FastAPI is imported when `create_app` is first touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steep.serve.config import ServeConfig
from steep.serve.engine import ChatEngine, Completion
from steep.serve.guard import Guard, GuardConfig, GuardDecision

if TYPE_CHECKING:
    from steep.serve.app import create_app

__all__ = ["ChatEngine", "Completion", "Guard", "GuardConfig", "GuardDecision", "ServeConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from steep.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'steep.serve' has no attribute {name!r}")
