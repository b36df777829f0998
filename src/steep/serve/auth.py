"""API keys: stored as sha256 digests, compared in constant time, each with a name for metrics and audit.

    python -m steep.serve.auth hash sk-my-secret-key     # prints the sha256 to put in serve.api_keys[].sha256
    python -m steep.serve.auth new support-bot           # a fresh random key and its YAML entry

Where keys come from (`KeyStore.from_config`): `serve.api_keys` (hashed, named), the comma-separated keys in
`STEEP_API_KEY` when it is set (named env-0, env-1, ...; a quick start without editing YAML), and the legacy
`serve.api_key_env` (a variable that must be set). No key from any source means the server runs without auth,
which `steep serve` allows only on a loopback address.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
from dataclasses import dataclass

from steep.serve.config import RateLimitConfig, ServeConfig

QUICK_START_ENV = "STEEP_API_KEY"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.strip().encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    rate_limit: RateLimitConfig | None = None


class KeyStore:
    """The accepted keys. `lookup(token)` is the key's record, or None for a wrong key."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = keys

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    @classmethod
    def from_config(cls, config: ServeConfig, environ: dict[str, str] | None = None) -> KeyStore:
        """Raises RuntimeError when `config.api_key_env` names a variable that is unset or empty."""
        environ = os.environ if environ is None else environ
        keys = [ApiKey(k.name, k.sha256, k.rate_limit) for k in config.api_keys]
        if config.api_key_env is not None:
            value = environ.get(config.api_key_env, "")
            if not value.strip():
                raise RuntimeError(
                    f"serve.api_key_env is {config.api_key_env!r}, but that environment variable is unset or empty; "
                    f"export {config.api_key_env}=<token> or set serve.api_key_env to null to serve without auth"
                )
            keys += _env_keys(value, config.api_key_env.lower())
        if config.env_keys and config.api_key_env != QUICK_START_ENV and environ.get(QUICK_START_ENV, "").strip():
            keys += _env_keys(environ[QUICK_START_ENV], "env")
        return cls(keys)

    def lookup(self, token: str) -> ApiKey | None:
        digest = key_digest(token).encode()
        found = None
        for key in self.keys:  # no early exit: every key costs the same compare, found or not
            if hmac.compare_digest(digest, key.sha256.encode()):
                found = found or key
        return found


LOOPBACK_HOSTS = frozenset(("127.0.0.1", "localhost", "::1"))


def check_exposure(host: str, keys: KeyStore) -> None:
    """Refuse to listen beyond this machine without API keys: an open model on a network is a data leak."""
    if host not in LOOPBACK_HOSTS and not host.startswith("127.") and not keys.enabled:
        raise RuntimeError(
            f"serve.host is {host!r} (reachable from other machines) but no API key is configured: add "
            f"serve.api_keys (python -m steep.serve.auth new NAME) or export {QUICK_START_ENV}=key1,key2"
        )


def _env_keys(value: str, prefix: str) -> list[ApiKey]:
    tokens = [token.strip() for token in value.split(",") if token.strip()]
    return [ApiKey(f"{prefix}-{index}", key_digest(token)) for index, token in enumerate(tokens)]


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "hash":
        print(key_digest(argv[1]))
        return 0
    if len(argv) == 2 and argv[0] == "new":
        key = "sk-steep-" + secrets.token_urlsafe(24)
        print(f"key (give it to the client, store it nowhere else): {key}")
        print(f"serve.api_keys entry: - {{name: {argv[1]}, sha256: {key_digest(key)}}}")
        return 0
    print("usage: python -m steep.serve.auth hash KEY | new NAME", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
