"""Sharded execution of the curate MAP phase: plan shards, skip the finished ones, run the rest here or in a pool.

    shards = plan_shards(paths, shard_bytes=64 << 20, split_jsonl=True)
    todo = [s for s in shards if not is_done(shard_dir(out, s), fingerprints[s.index])]
    run_shards(task, todo, ExecutorConfig(workers=4))       # task(shard) writes shard_dir(out, shard)

A shard is a whole input file, or a byte range of a plain JSONL file that starts and ends at a line start and
knows the line number it starts on (so `meta.source` stays `path:line`). Gzip files cannot be entered in the
middle, and Parquet/HTML/PDF are read one file at a time: they are one shard each.

Completion markers (datatrove's idea): a shard's task writes its outputs atomically and then `done.json` holding
the shard's fingerprint: a hash of what the caller says the MAP depends on (`run_curate`: the config of the
MAP blocks and the path, size and mtime of every input), the steep version, and the shard's file and byte range.
A rerun skips a shard whose marker holds the same fingerprint, so a killed run resumes where it stopped; a
changed config, a changed input file or another shard plan does not match and the shard runs again (its old
marker is removed first, so a half-redone shard never looks done). Size + mtime_ns is what make and rsync trust; hashing every input again on every rerun would cost
a full read of the lake just to skip work.

Workers: `kind: local, workers: 1` runs the shards one after the other in this process (no pickling, easy to
debug); `workers: N` uses a pool of N spawned processes (spawn, not fork: the parent may hold threads and locks,
e.g. a tokenizer's, that a forked child would inherit mid-use). As with any spawn pool, a script that calls
`run_curate` with workers > 1 needs the `if __name__ == "__main__":` guard. `kind: ray`: `steep.curate.ray_executor`.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from steep.curate.config import ExecutorConfig
from steep.curate.writers import write_json_atomic

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
    write_json_atomic(directory / MARKER_FILE, {"fingerprint": fingerprint})


def clear_marker(directory: Path) -> None:
    """First step of (re)running a shard: from here until `mark_done` the shard is not done."""
    (directory / MARKER_FILE).unlink(missing_ok=True)
    if directory.is_dir():
        for stale in directory.glob(".*.tmp"):  # temp files of a killed attempt
            stale.unlink(missing_ok=True)


def run_shards(task: Callable[[Shard], Any], shards: Sequence[Shard], cfg: ExecutorConfig) -> None:
    """Run `task` on every shard (in any order; the reduce reads them in shard order). Raises `ShardFailed`."""
    if not shards:
        return
    if cfg.kind == "ray":
        from steep.curate.ray_executor import run_shards_on_ray

        run_shards_on_ray(task, shards, cfg)
    elif cfg.workers == 1 or len(shards) == 1:
        for shard in shards:
            try:
                task(shard)
            except Exception as err:
                raise ShardFailed(shard, err) from err
    else:
        _run_in_pool(task, shards, cfg.workers)


def _run_in_pool(task: Callable[[Shard], Any], shards: Sequence[Shard], workers: int) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(shards)), mp_context=context) as pool:
        futures = {pool.submit(task, shard): shard for shard in shards}
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in sorted(done, key=lambda f: futures[f].index) if f.exception() is not None), None)
        if failed is not None:
            # Shards already running finish and keep their markers (the pool waits for them on exit); queued ones
            # are cancelled, to run on the rerun.
            pool.shutdown(wait=True, cancel_futures=True)
            error = failed.exception()
            if isinstance(error, BrokenProcessPool):
                error = f"{error} (killed, out of memory, or a script without `if __name__ == '__main__':`)"
            raise ShardFailed(futures[failed], error) from failed.exception()
