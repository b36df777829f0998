"""The `serve:` section of a pipeline YAML.

    serve:
      host: 127.0.0.1            # loopback: only this machine can connect
      port: 8000
      model_name: acme-expert    # the base model's name; LoRA adapters are served under their own names
      api_keys:                  # sha256 of each key, never the key: python -m steep.serve.auth hash sk-...
        - {name: support-bot, sha256: 9f86d0..., rate_limit: {requests_per_minute: 600, burst: 50}}
      rate_limit: {requests_per_minute: 120, burst: 30}   # per key (per client address without auth)
      max_body_bytes: 1048576    # larger request bodies are a 413
      max_tokens_limit: 512      # larger max_tokens is a 400
      batching: {max_batch_size: 8, max_wait_ms: 5}
      audit_log: runs/acme/serve/audit.jsonl
      guard:
        blocked_terms: ["Project Falcon"]          # curate.compliance terms are added (compliance_terms_from_curate)
        output: {pii: redact, secrets: redact}

Run with `steep serve RUN_DIR` (override with `serve.port=9000` and friends). For a quick start without keys in
the YAML, `STEEP_API_KEY=key1,key2 steep serve RUN_DIR` accepts those keys (named env-0, env-1).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from steep.schema import StrictModel
from steep.serve.guard import GuardConfig


class RateLimitConfig(StrictModel):
    """A token bucket per key: `burst` requests at once, refilled at `requests_per_minute`."""

    requests_per_minute: float = Field(default=120.0, gt=0)
    burst: int = Field(default=30, ge=1)


class ApiKeyConfig(StrictModel):
    """One client's key, stored as its sha256 hex digest (`python -m steep.serve.auth hash KEY` prints it)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$", description="Shown in metrics and the audit log.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hashlib.sha256(key.encode()).hexdigest()")
    rate_limit: RateLimitConfig | None = Field(default=None, description="Overrides serve.rate_limit for this key.")


class BatchingConfig(StrictModel):
    """Requests arriving within `max_wait_ms` of each other, for the same model (adapter) with the same sampling
    settings, are generated as one batch of at most `max_batch_size`. 1 serves one request at a time."""

    max_batch_size: int = Field(default=8, ge=1)
    max_wait_ms: float = Field(default=5.0, ge=0)


class ServeConfig(StrictModel):
    """How the OpenAI-compatible server listens, whom it answers, and what it refuses to say.

    The default host is loopback (127.0.0.1): nothing off this machine can reach the model until you choose to
    bind 0.0.0.0, and then `steep serve` refuses to start without API keys. The server only answers requests; it
    sends nothing anywhere (no telemetry, no update checks, no hosted docs assets).

    Keys: `api_keys` (hashed, named), plus the comma-separated keys in `STEEP_API_KEY` when that variable is set
    and `env_keys` is true, plus the legacy `api_key_env` (the name of a variable holding key(s); unset or empty
    is an error at start-up rather than an open server). No key from any source means no auth.
    """

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8000, ge=0, le=65535, description="0 asks the OS for a free port.")
    model_name: str = Field(default="steep", min_length=1, description="The base model's `model` value.")
    api_key_env: str | None = Field(
        default=None,
        # A variable *name*: this also catches the token itself pasted here by mistake (e.g. "sk-...").
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of an env var holding bearer key(s), comma-separated; must be set when named.",
    )
    api_keys: list[ApiKeyConfig] = Field(default_factory=list)
    env_keys: bool = Field(default=True, description="Also accept the keys in STEEP_API_KEY when it is set.")
    rate_limit: RateLimitConfig | None = Field(
        default_factory=RateLimitConfig, description="Per key; null turns rate limiting off."
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Larger request bodies get a 413.")
    max_tokens_limit: int = Field(
        default=512,
        ge=1,
        description="Largest max_tokens a request may ask for (larger is a 400); also the default.",
    )
    batching: BatchingConfig = Field(default_factory=BatchingConfig)
    cors_origins: list[str] = Field(default_factory=list, description="Browser origins allowed; empty = no CORS.")
    audit_log: str | None = Field(default=None, description="JSONL of guard decisions (never the matched text).")
    metrics: bool = Field(default=True, description="Serve Prometheus text at GET /metrics.")
    guard: GuardConfig = Field(default_factory=GuardConfig)

    @field_validator("api_keys")
    @classmethod
    def _unique_names(cls, keys: list[ApiKeyConfig]) -> list[ApiKeyConfig]:
        names = [key.name for key in keys]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"api key names must be unique; repeated: {', '.join(duplicates)}")
        return keys
