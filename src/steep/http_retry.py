"""POST JSON to an OpenAI-compatible endpoint with the retry policy every steep client shares (judges, teachers,
generation engines): 429, 5xx, timeouts and connection errors are retried with jittered exponential backoff
(a server's Retry-After is honoured, up to the cap); any other 4xx fails at once with the server's message.

    response = post_with_retries(client, url, body, RetryPolicy(max_retries=5), what="judge")
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx


class EndpointUnavailable(RuntimeError):
    """An endpoint could not be reached or kept failing after every retry."""


class EndpointRefused(ValueError):
    """An endpoint refused a request outright (4xx other than 429: bad key, unknown model, bad request)."""


def bearer_headers(api_key_env: str | None, where: str) -> dict[str, str]:
    """`Authorization: Bearer <key>` from the environment variable the config names (the key never goes in YAML);
    {} without one. An unset or empty variable is an error naming `where` (the YAML path of the setting)."""
    if not api_key_env:
        return {}
    key = os.environ.get(api_key_env, "")
    if not key:
        raise ValueError(f"{where}: environment variable {api_key_env} is unset or empty")
    return {"Authorization": f"Bearer {key}"}


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt `attempt + 1`: base * 2^attempt, capped, jittered to 50-100%."""
        delay = min(self.backoff_max_s, self.backoff_base_s * 2**attempt) * (0.5 + random.random() / 2)
        return max(delay, min(retry_after, self.backoff_max_s)) if retry_after is not None else delay


def post_with_retries(
    client: httpx.Client, url: str, body: dict, policy: RetryPolicy, *, what: str, on_attempt: Callable[[int], None] | None = None
) -> httpx.Response:
    """The 200 response to POST `body` at `url`; `on_attempt(i)` is called before each attempt (0 = the first)."""
    attempts = policy.max_retries + 1
    last = ""
    for attempt in range(attempts):
        if on_attempt is not None:
            on_attempt(attempt)
        retry_after: float | None = None
        try:
            response = client.post(url, json=body)
        except httpx.TimeoutException:
            last = "timed out"
        except httpx.TransportError as exc:
            last = f"connection error: {exc}"
        else:
            if response.status_code == 200:
                return response
            last = f"HTTP {response.status_code}: {response.text[:300]}"
            if response.status_code != 429 and response.status_code < 500:
                raise EndpointRefused(f"{what} {url} refused the request: {last}")
            try:
                retry_after = float(response.headers.get("retry-after", ""))
            except ValueError:
                retry_after = None
        if attempt + 1 < attempts:
            time.sleep(policy.delay(attempt, retry_after))
    raise EndpointUnavailable(f"{what} {url} unavailable after {attempts} attempt(s); last: {last}")
