"""Artifacts on disk: atomic writes, content hashes and stage manifests.

Every stage writes into `<run_dir>/<stage>.partial/` and the runner publishes it as `<run_dir>/<stage>/` with one
rename once `manifest.json` says `complete`. A run killed at any moment therefore leaves either the previous
complete stage directory or a `.partial` one that nobody mistakes for a finished artifact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

MANIFEST_NAME = "manifest.json"
STATUS_COMPLETE = "complete"

# Files above this size are fingerprinted (size + head + tail) instead of hashed whole: a 16 GB base model would
# otherwise cost minutes of reading on every run just to confirm it did not change.
FULL_HASH_LIMIT_BYTES = 256 * 1024 * 1024
_FINGERPRINT_CHUNK = 4 * 1024 * 1024


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """Open `path` for writing so that readers see the old file or the whole new one, never a torn write.

    The handle writes a temporary file in the same directory (a rename is atomic only within one file system);
    on a clean exit it is flushed, fsynced and `os.replace`d onto `path`; on an exception it is removed and
    `path` is left as it was. Streaming, so a multi-GB JSONL goes the same way as a manifest. `mode` is "w"
    (text: `encoding`, newlines written as `\\n` on every OS) or "wb". The temp name is `.<name>.*.tmp`, which
    is what a resume that cleans up after a killed run looks for.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        text = {"encoding": encoding, "newline": "\n"} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never a torn write."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


def write_jsonl(path: Path, rows) -> int:
    """Write rows as JSON lines atomically; return how many were written."""
    count = 0
    lines = []
    for row in rows:
        lines.append(json.dumps(row, ensure_ascii=False))
        count += 1
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return count


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed row) for each non-blank line; a broken line raises ValueError naming `path:line`.

    For small files the user hands a stage whole (eval splits, labeled examples): the first bad line stops the
    stage before any work. A document lake goes through the curate readers instead, which count and go on."""
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield line_number, json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line_number}: not JSON ({error.msg})") from None


def read_jsonl(path: Path) -> list[dict]:
    """Read a JSONL file written by steep (trusted input). User data goes through the curate readers instead."""
    return [row for _, row in iter_jsonl(path)]


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_file(path: Path) -> str:
    path = Path(path)
    digest = hashlib.sha256()
    size = path.stat().st_size
    if size > FULL_HASH_LIMIT_BYTES:
        digest.update(f"fingerprint:{size}:".encode())
        with open(path, "rb") as handle:
            digest.update(handle.read(_FINGERPRINT_CHUNK))
            handle.seek(size - _FINGERPRINT_CHUNK)
            digest.update(handle.read(_FINGERPRINT_CHUNK))
        return "fp-" + digest.hexdigest()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_path(path: Path) -> str:
    """Hash a file, or a directory as the sorted list of (relative path, file hash); the manifest is skipped."""
    path = Path(path)
    if path.is_file():
        return hash_file(path)
    digest = hashlib.sha256()
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = child.relative_to(path).as_posix()
        if relative == MANIFEST_NAME or relative.startswith("checkpoints/"):
            continue
        digest.update(relative.encode() + b"\0" + hash_file(child).encode() + b"\n")
    return digest.hexdigest()


def hash_config(config: dict) -> str:
    canonical = json.dumps(config, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hash_bytes(canonical.encode())


def read_manifest(stage_dir: Path) -> dict | None:
    path = Path(stage_dir) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def publish_directory(partial_dir: Path, final_dir: Path) -> None:
    """Replace `final_dir` by `partial_dir`.

    POSIX rename cannot replace a non-empty directory, so the old one is first renamed aside. A crash between
    the two renames leaves no `final_dir` at all, which the runner reads as "not done": safe, never stale.
    """
    final_dir = Path(final_dir)
    if final_dir.exists():
        stale = final_dir.with_name(final_dir.name + ".stale")
        if stale.exists():
            shutil.rmtree(stale)
        os.replace(final_dir, stale)
        os.replace(partial_dir, final_dir)
        shutil.rmtree(stale)
    else:
        os.replace(partial_dir, final_dir)
