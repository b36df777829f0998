"""The curate output formats, written atomically through `steep.artifacts.atomic_open`: a killed run never
leaves a half file that looks complete (each file appears whole on a clean exit, or not at all).

    with AtomicJsonlWriter(out / "documents" / "part-00000.jsonl") as w:
        w.write({"id": "1", "text": "...", "meta": {}})
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from steep.artifacts import atomic_open, atomic_write_text


class AtomicJsonlWriter:
    """One JSON object per line, UTF-8, no ASCII escaping (readable, and `datasets` reads it as is).

    Streams rows into `atomic_open`'s temp file; the file appears at `path` only on a clean `with` exit and is
    discarded on an error. `rows` counts what was written (the MAP records it to replay drops in order)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows = 0
        self._opened: AbstractContextManager[IO[Any]] | None = None
        self._handle: IO[Any] | None = None

    def __enter__(self) -> AtomicJsonlWriter:
        self._opened = atomic_open(self.path, "w")
        self._handle = self._opened.__enter__()
        return self

    def write(self, row: dict[str, Any]) -> None:
        assert self._handle is not None, "AtomicJsonlWriter writes only inside its `with` block"
        self._handle.write(json.dumps(row, ensure_ascii=False, default=str))
        self._handle.write("\n")
        self.rows += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._opened is not None
        opened, self._opened, self._handle = self._opened, None, None
        opened.__exit__(exc_type, exc, tb)


def write_json_in_order(path: str | Path, obj: Any) -> None:
    """Indented JSON with keys in insertion order, atomically. Unlike `steep.artifacts.atomic_write_json`, which
    sorts keys, this keeps `stats.json`'s blocks in pipeline order, the order a reader follows them in."""
    atomic_write_text(Path(path), json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
