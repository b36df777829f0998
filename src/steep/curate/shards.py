"""Shards of the curate MAP phase: what one is, how inputs are cut into them, and whether one is already done.

    shards = plan_shards(paths, shard_bytes=64 << 20, split_jsonl=True)
    todo = [s for s in shards if not is_done(shard_dir(out, s), fingerprints[s.index])]

A shard is a whole input file, or a byte range of a plain JSONL file that starts and ends at a line start and
knows the line number it starts on (so `meta.source` stays `path:line`). Gzip files cannot be entered in the
middle, and Parquet/HTML/PDF are read one file at a time: they are one shard each.

Completion markers (datatrove's idea): a shard's task writes its outputs atomically and then `done.json` holding
the shard's fingerprint: a hash of what the caller says the MAP depends on (`run_curate`: the config of the
MAP blocks and the path, size and mtime of every input), the steep version, and the shard's file and byte range.
A rerun skips a shard whose marker holds the same fingerprint, so a killed run resumes where it stopped; a
changed config, a changed input file or another shard plan does not match and the shard runs again (its old
marker is removed first, so a half-redone shard never looks done). Size + mtime_ns is what make and rsync trust;
hashing every input again on every rerun would cost a full read of the lake just to skip work.

Its own module because every executor needs it: the local one (`steep.curate.executor`) and the Ray one
(`steep.curate.ray_executor`) both take and report shards, and neither should import the other for that.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from steep.artifacts import atomic_write_json

SHARDS_DIR = "shards"
MARKER_FILE = "done.json"
_SPLITTABLE_SUFFIXES = (".jsonl", ".json")  # plain text, one record per line; .gz cannot be entered mid-stream


@dataclass(frozen=True)
class Shard:
    """One unit of MAP work. `end is None`: the whole file; otherwise bytes [start, end) of a JSONL file."""

    index: int
    path: str  # as resolved from `inputs`, unchanged: it is what `meta.source` shows
    start: int = 0
    end: int | None = None
    first_line: int = 1

    @property
    def id(self) -> str:
        return f"{self.index:05d}"

    @property
    def whole_file(self) -> bool:
        return self.end is None

    def describe(self) -> str:
        if self.whole_file:
            return self.path
        return f"{self.path} bytes {self.start}-{self.end} (from line {self.first_line})"


class ShardFailed(RuntimeError):
    """A shard's task raised; finished shards keep their markers, so a rerun resumes after fixing the cause."""

    def __init__(self, shard: Shard, error: BaseException | str) -> None:
        super().__init__(f"curate shard {shard.id} ({shard.describe()}) failed: {error}")
        self.shard = shard


def plan_shards(paths: Sequence[Path], shard_bytes: int, split_jsonl: bool = True) -> list[Shard]:
    """Shards in input order. A plain JSONL file larger than `shard_bytes` becomes line-aligned byte ranges."""
    shards: list[Shard] = []
    for path in paths:
        splittable = split_jsonl and path.name.lower().endswith(_SPLITTABLE_SUFFIXES)
        if not splittable or path.stat().st_size <= shard_bytes:
            shards.append(Shard(len(shards), str(path)))
            continue
        for start, end, first_line in _line_ranges(path, shard_bytes):
            shards.append(Shard(len(shards), str(path), start, end, first_line))
    return shards


def _line_ranges(path: Path, shard_bytes: int) -> list[tuple[int, int, int]]:
    """(start, end, first line) ranges of about `shard_bytes`, each ending just after a newline (or at EOF).

    The line numbers are why this reads the whole file once (~1 GB/s, in the driver, on every run); a range
    never splits a line, so a line longer than `shard_bytes` makes its range longer, never cut.
    """
    ranges: list[tuple[int, int, int]] = []
    start = pos = 0
    first_line = lineno = 1
    with open(path, "rb") as handle:
        for raw in handle:
            pos += len(raw)
            lineno += 1
            if pos - start >= shard_bytes:
                ranges.append((start, pos, first_line))
                start, first_line = pos, lineno
    if pos > start or not ranges:
        ranges.append((start, pos, first_line))
    return ranges


def file_identity(path: str | Path) -> dict[str, Any]:
    stat = os.stat(path)
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def shard_fingerprint(shard: Shard, map_config: dict[str, Any], version: str) -> str:
    """What a shard's outputs depend on; a marker is reused only when this is unchanged."""
    key = {"config": map_config, "steep": version, "shard": asdict(shard), "file": file_identity(shard.path)}
    return hashlib.blake2b(json.dumps(key, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()


def shard_dir(out_dir: Path, shard: Shard) -> Path:
    return Path(out_dir) / SHARDS_DIR / shard.id


def is_done(directory: Path, fingerprint: str) -> bool:
    marker = directory / MARKER_FILE
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") == fingerprint
    except (OSError, ValueError, AttributeError):
        return False  # missing, or torn by a crash of an older writer: not done


def mark_done(directory: Path, fingerprint: str) -> None:
    """Last write of a shard, after all its outputs are in place (each renamed atomically)."""
    atomic_write_json(directory / MARKER_FILE, {"fingerprint": fingerprint})


def clear_marker(directory: Path) -> None:
    """First step of (re)running a shard: from here until `mark_done` the shard is not done."""
    (directory / MARKER_FILE).unlink(missing_ok=True)
    if directory.is_dir():
        for stale in directory.glob(".*.tmp"):  # temp files of a killed attempt
            stale.unlink(missing_ok=True)
