"""An on-disk cache of a model judge's replies, so a rerun never pays for the same judgement twice.

One JSONL file (`verdicts.jsonl`) under the cache directory; each line is `{"key": sha256, "value": {...}}`,
appended and flushed as each reply arrives, so a judge that dies mid-batch keeps what it was already told. The
key is the sha256 of (judge identity incl. rubric, request kind, texts). A corrupt line is reported once and
skipped (`corrupt` counts them); it never stops a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class VerdictCache:
    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / "verdicts.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Any]] = {}
        self.corrupt = 0
        if self.path.exists():
            with self.path.open(encoding="utf-8") as f:
                for lineno, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                        self._data[str(row["key"])] = dict(row["value"])
                    except (ValueError, KeyError, TypeError) as exc:
                        self.corrupt += 1
                        log.warning("%s:%d: corrupt verdict-cache line skipped (%s)", self.path, lineno, exc)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        line = json.dumps({"key": key, "value": value}, ensure_ascii=False) + "\n"
        with self._lock:
            self._data[key] = value
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
                f.flush()

    def __len__(self) -> int:
        return len(self._data)
