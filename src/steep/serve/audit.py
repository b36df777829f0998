"""The guard's audit log: one JSON line per rule that fired on a request, never the text it matched.

    {"ts": 1765000000.1, "request_id": "chatcmpl-...", "key": "support-bot", "stage": "output",
     "rule": "output.pii.card", "action": "redact", "count": 2}

Enough to answer "how often does the model leak card numbers, to whom, and what did the guard do" without the log
itself becoming a store of the PII it guards against. Appends are line-atomic under a lock.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path


class AuditLog:
    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, request_id: str, key: str, stage: str, counts: dict[tuple[str, str], int]) -> None:
        """`counts`: (rule, action) -> hits. Nothing is written when nothing fired or no path is set."""
        if self.path is None or not counts:
            return
        now = time.time()
        lines = [
            json.dumps({"ts": round(now, 3), "request_id": request_id, "key": key, "stage": stage, "rule": rule, "action": action, "count": count})
            for (rule, action), count in sorted(counts.items())
        ]
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
