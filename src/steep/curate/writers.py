"""Atomic file writers: everything is written under a temporary name in the target directory and renamed
into place with `os.replace` (atomic on POSIX and Windows), so a killed run never leaves a half file that
looks complete.

    with AtomicJsonlWriter(out / "documents" / "part-00000.jsonl") as w:
        w.write({"id": "1", "text": "...", "meta": {}})
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any


class AtomicFile:
    """A text file that appears at `path` only on a clean `commit()` / `with` exit; discarded on error."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self._tmp = Path(tmp)
        self.handle: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="\n")

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self.handle.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class AtomicJsonlWriter(AtomicFile):
    """One JSON object per line, UTF-8, no ASCII escaping (readable, and `datasets` reads it as is)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        self.handle.write(json.dumps(row, ensure_ascii=False, default=str))
        self.handle.write("\n")
        self.rows += 1

    def __enter__(self) -> AtomicJsonlWriter:
        return self


def write_text_atomic(path: str | Path, text: str) -> None:
    with AtomicFile(path) as f:
        f.handle.write(text)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
