"""The `serve:` section of a pipeline YAML.

    serve:
      host: 127.0.0.1          # loopback: only this machine can connect
      port: 8000
      model_name: acme-expert  # the one `model` value clients must send
      api_key_env: STEEP_API_KEY
      max_tokens_limit: 512
      guard:
        blocked_terms: ["Project Falcon"]
        redact_patterns: {"<ACCOUNT>": "\\\\b\\\\d{10}\\\\b"}

Run with `steep serve RUN_DIR` (override with `serve.port=9000` and friends).
"""

from __future__ import annotations

from pydantic import Field

from steep.schema import StrictModel
from steep.serve.guard import GuardConfig


class ServeConfig(StrictModel):
    """How the OpenAI-compatible server listens, whom it answers, and what it refuses to say.

    The default host is loopback (127.0.0.1): nothing off this machine can reach the model until you choose to
    bind 0.0.0.0, and then you should also set `api_key_env`. The server only answers requests; it sends
    nothing anywhere (no telemetry, no update checks, no hosted docs assets).

    `api_key_env` names an environment variable that holds the bearer token (the token itself never goes in a
    YAML or a manifest). None means no auth. The variable is read once, when the app is created; if it is unset
    or empty the server refuses to start rather than run open by mistake.
    """

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8000, ge=0, le=65535, description="0 asks the OS for a free port.")
    model_name: str = Field(default="steep", min_length=1, description="The only `model` value accepted.")
    api_key_env: str | None = Field(
        default=None,
        # A variable *name*: this also catches the token itself pasted here by mistake (e.g. "sk-...").
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the env var holding the bearer token; None serves without auth.",
    )
    max_tokens_limit: int = Field(
        default=512,
        ge=1,
        description="Largest max_tokens a request may ask for (larger is a 400); also the default.",
    )
    guard: GuardConfig = Field(default_factory=GuardConfig)
