"""Search every file under a run directory for canary values. Torch-free.

    report = scan_tree(Path("runs/demo"), CanaryMatcher(load_canaries("examples/demo/data/canaries.jsonl")))
    report.hits        # [{"canary": "restricted-001", "where": "curate/excluded.jsonl", "line": 7}]
    report.skipped     # [{"where": "cpt/model/model.safetensors", "bytes": 5600000, "why": "binary"}]

Every file is read as UTF-8 text in chunks (a 10 GB corpus streams in 1 MiB pieces, ~45 MB/s on one core: a
squeezed view of each chunk rules most of them out before any regex runs; the last
`matcher.max_match_chars` characters of a chunk are searched again with the next one, so a value split across
two chunks is still found). A file whose first 8 KiB hold a NUL byte is binary (weights, Arrow, Parquet,
archives): it is skipped and listed in `skipped`, since a value inside compressed or tensor bytes cannot be
found by reading it. Text files of any name are searched: JSONL, JSON, logs, Markdown, HTML, YAML, tokenizer
files. Each canary is reported once per file, at the line of its first match. `exclude` takes paths relative to
the run directory or glob patterns (`curate/shards/**`).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from steep.tasks.canaries import CanaryMatcher

CHUNK_CHARS = 1 << 20
_SNIFF_BYTES = 8192


@dataclass
class ScanReport:
    hits: list[dict] = field(default_factory=list)
    checked_files: int = 0
    checked_bytes: int = 0
    skipped: list[dict] = field(default_factory=list)


def is_binary(path: Path) -> bool:
    with open(path, "rb") as f:
        return b"\x00" in f.read(_SNIFF_BYTES)


def scan_file(path: Path, matcher: CanaryMatcher, chunk_chars: int = CHUNK_CHARS) -> dict[str, int]:
    """{canary id: line of its first match} for one text file, read in chunks of `chunk_chars` characters."""
    found: dict[str, int] = {}
    tail = ""  # the end of the previous chunk, searched again with this one
    lines_before_tail = 0  # newlines in the file before `tail` starts
    keep = max(1, matcher.max_match_chars)
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        while True:
            chunk = f.read(chunk_chars)
            if not chunk:
                break
            window = tail + chunk
            for canary_id, match in matcher.finditer(window):
                if canary_id not in found:
                    found[canary_id] = lines_before_tail + window.count("\n", 0, match.start()) + 1
            cut = max(0, len(window) - keep)
            lines_before_tail += window.count("\n", 0, cut)
            tail = window[cut:]
    return found


def _excluded(relative: str, exclude: list[str]) -> bool:
    return any(relative == pattern or fnmatch.fnmatch(relative, pattern) for pattern in exclude)


def scan_tree(root: Path, matcher: CanaryMatcher, exclude: list[str] | None = None, skip_paths: set[Path] | None = None) -> ScanReport:
    """Scan every regular file under `root` (symlinks are not followed: a linked model directory is not the
    run's own output). `skip_paths`: absolute paths never read (the canaries file itself, should it sit here)."""
    report = ScanReport()
    exclude = exclude or []
    skip = {p.resolve() for p in (skip_paths or set())}
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink() or not path.is_file() or _excluded(relative, exclude) or path.resolve() in skip:
                continue
            size = path.stat().st_size
            if is_binary(path):
                report.skipped.append({"where": relative, "bytes": size, "why": "binary"})
                continue
            for canary_id, line in scan_file(path, matcher).items():
                report.hits.append({"canary": canary_id, "where": relative, "line": line})
            report.checked_files += 1
            report.checked_bytes += size
    return report
