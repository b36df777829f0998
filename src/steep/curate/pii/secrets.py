"""Secrets in text: API keys of known formats, private keys, credential assignments, high-entropy tokens,
and URLs with credentials. One compiled alternation per family, so each family is one pass over the text.

    from steep.curate.pii.secrets import find_secrets, find_url_credentials
    list(find_secrets("aws_key = AKIAIOSFODNN7EXAMPLE"))      # [(10, 30)]
    list(find_url_credentials("https://bob:hunter2@db.internal:5432/x"))  # [(8, 19)]: `bob:hunter2`

What is flagged:
- known key formats: AWS access key ids (AKIA/ASIA + 16), GitHub tokens (ghp_/gho_/ghu_/ghs_/ghr_ + 36,
  github_pat_...), Slack (xoxb-/xoxp-/xoxa-/xoxr-/xoxs-), Stripe live/test secret and restricted keys
  (sk_live_/rk_live_/sk_test_...), Google API keys (AIza + 35), OpenAI-style keys (sk-..., sk-proj-...),
  JWTs (eyJ... . eyJ... . sig), PEM private key blocks (the whole block, BEGIN to END);
- assignments `password=...`, `secret: ...`, `api_key = "..."`, `token: ...`: the VALUE only, and only when it
  has a digit or a symbol (so "password: required" and "secret: none" stay, "password=hunter2" goes);
- high-entropy tokens: >= 24 characters of [A-Za-z0-9+/_-], upper, lower and digit all present, Shannon entropy
  >= ENTROPY_THRESHOLD bits per character, and not word-like (under half of it in lowercase runs of 4+).
  Why 4.0: random base62 tokens of 24 chars score 4.25 median (1st percentile 3.86), 32 chars 4.56; a 40-char
  hex digest scores at most ~3.97 (16 symbols), CamelCase identifiers ~3.9-4.15 (the word-likeness test
  removes those).

What is NOT flagged, on purpose: hex digests (git SHAs, MD5/SHA-256 checksums: they identify content, not
people, and git logs are full of them), UUIDs (identifiers, not credentials), base64 that is all one case,
URLs without a password (`https://user@host`), `mailto:`, ssh remotes (`git@github.com:org/repo`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

from steep.curate.pii.keywords import lowercase

ENTROPY_THRESHOLD = 4.0
MIN_ENTROPY_TOKEN = 24

# Speed: each pattern starts with literal text, so `re` can skip ahead to candidate first characters instead of
# trying every position; word boundaries are checked in Python on the few hits (`_glued`).
_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,10000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
)
_KNOWN_KEYS = re.compile(
    r"(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"
    r"|github_pat_[A-Za-z0-9_]{50,255}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,250}"
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,200}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
)
_KEY_HINTS = ("AKIA", "ASIA", "gh", "xox", "k_live_", "k_test_", "AIza", "sk-", "eyJ")
_ASSIGNMENT_HINTS = ("pass", "pwd", "secret", "key", "token")
# Matched on the lowercased text (same offsets: checked), so the keyword alternation is case-sensitive and fast.
_ASSIGNMENT_LOWER = re.compile(
    r"(?:password|passwd|pwd|passphrase|secret|client[_\- ]?secret|api[_\-]?key|apikey|access[_\-]?key"
    r"|secret[_\-]?key|private[_\-]?key|auth[_\-]?token|access[_\-]?token|token)[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"[^\s\"',;<>]{4,200}"
)
_ASSIGNMENT_VALUE = re.compile(r"[:=][ \t]*[\"']?([^\s\"',;<>]{4,200})$")
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{24,512}={0,2}(?![A-Za-z0-9+/_\-])")
_LOWER_RUN = re.compile(r"[a-z]{4,}")
# `scheme://user:password@host`: the user:password part (the host stays, it is rarely personal).
_URL_CREDENTIALS = re.compile(
    r"\b[A-Za-z][A-Za-z0-9+.\-]{1,15}://([^\s:/@?#\"'<>]{1,128}:[^\s/@?#\"'<>]{1,256})@[\w\-.\[\]]"
)


def shannon_entropy(token: str) -> float:
    """Bits per character of the token's own character distribution."""
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in Counter(token).values())


def high_entropy(token: str) -> bool:
    token = token.rstrip("=")
    if len(token) < MIN_ENTROPY_TOKEN:
        return False
    if not (any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)):
        return False
    if sum(len(m) for m in _LOWER_RUN.findall(token)) * 2 >= len(token):  # word-like: an identifier or a path
        return False
    return shannon_entropy(token) >= ENTROPY_THRESHOLD


def _secret_value(value: str) -> bool:
    # A value with a digit or a symbol: "hunter2", "p@ss", "${VAR}"-free; not a plain word ("required", "none").
    return any(not c.isalpha() for c in value) and not value.startswith(("<", "$", "{", "%"))


def _glued(text: str, start: int, end: int) -> bool:
    """The hit continues a word on either side (`xAKIA...`, `...keyZ`): part of something else."""
    return (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())


def find_secrets(text: str) -> Iterator[tuple[int, int]]:
    if "-----BEGIN" in text:
        for m in _PEM.finditer(text):
            yield m.span()
    if any(hint in text for hint in _KEY_HINTS):  # substring tests are ~50x cheaper than the regex scan
        for m in _KNOWN_KEYS.finditer(text):
            if not _glued(text, *m.span()):
                yield m.span()
    lower = lowercase(text)
    if ("=" in text or ":" in text) and any(word in lower for word in _ASSIGNMENT_HINTS):
        for m in _ASSIGNMENT_LOWER.finditer(lower):
            if m.start() > 0 and lower[m.start() - 1].isalnum():  # `db_password=` counts, `topsecret:` not
                continue
            hit = _ASSIGNMENT_VALUE.search(text, m.start(), m.end())
            if hit is None:
                continue
            value = hit.group(1).rstrip(".!?)]:")  # the sentence's punctuation, not the secret's
            if len(value) >= 4 and _secret_value(value):
                yield hit.start(1), hit.start(1) + len(value)
    for m in _TOKEN.finditer(text):
        if high_entropy(m.group(0)):
            yield m.span()


def find_url_credentials(text: str) -> Iterator[tuple[int, int]]:
    if "://" not in text:  # cheap pre-check
        return
    for m in _URL_CREDENTIALS.finditer(text):
        yield m.span(1)
