"""Turn the `curate.inputs` entries (files, globs, directories) into the sorted list of files to read.

    files = resolve_inputs(["data/raw/", "extra/*.parquet", "manual.pdf"])
    files[0].input_root  # the directory (or glob prefix) it was found under: ids are paths relative to it

Directories are walked recursively (hidden files and folders skipped) and sorted, so two runs over the same
tree read the same files in the same order. Inside a directory or glob match, files of an unsupported format
are skipped with a warning naming how many of each suffix; a file named explicitly is always read (an
unsupported one then becomes a counted `bad_input`, not a silent skip).
"""

from __future__ import annotations

import glob
import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

# suffix -> format; the longest matching suffix wins (`.jsonl.gz` before `.gz`).
FORMATS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",  # JSON Lines under a .json name (what `datasets` writes); not a single JSON array
    ".json.gz": "jsonl",
    ".parquet": "parquet",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


def format_of(path: Path) -> str | None:
    name = path.name.lower()
    matches = [suffix for suffix in FORMATS if name.endswith(suffix)]
    return FORMATS[max(matches, key=len)] if matches else None


class InputPath(type(Path())):  # type: ignore[misc]  # PosixPath/WindowsPath: Path itself is not subclassable < 3.12
    """A resolved input file that remembers the root it was found under, through pickling (the executor
    ships file lists to worker processes), so one-document-per-file ids are stable however files are sharded."""

    input_root: Path | None = None

    def __reduce__(self):  # type: ignore[override]
        return _input_path, (str(self), None if self.input_root is None else str(self.input_root))


def _input_path(path: str, root: str | None) -> InputPath:
    result = InputPath(path)
    result.input_root = None if root is None else Path(root)
    return result


def _glob_root(pattern: str) -> Path:
    """The part of a glob before its first wildcard: `data/*/x.md` -> `data`."""
    parts = Path(pattern).parts
    fixed = list(parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))])
    return Path(*fixed) if fixed else Path(".")


def root_for(path: Path, inputs: Sequence[str]) -> Path:
    """The root `resolve_inputs` gives `path` when it is found from `inputs`, for a plain `Path` that lost it
    (an executor that ships file names as strings): the first entry (directory, glob prefix, file) holding it."""
    absolute = path.resolve()
    for entry in inputs:
        if glob.has_magic(entry):
            root = _glob_root(entry)
        elif Path(entry).is_dir():
            root = Path(entry)
        else:
            if Path(entry).resolve() == absolute:
                return path.parent
            continue
        if absolute.is_relative_to(root.resolve()):
            return root
    return path.parent


def _walk(directory: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # .git, .cache, ...: never documents
        found.extend(Path(dirpath, f) for f in filenames if not f.startswith("."))
    return sorted(found)


def resolve_inputs(inputs: Sequence[str]) -> list[Path]:
    """Expand globs and directories into a sorted, de-duplicated file list; fail naming every missing input."""
    files: list[Path] = []
    missing: list[str] = []
    skipped: Counter[str] = Counter()

    def supported(candidates: list[Path], root: Path) -> list[Path]:
        kept = []
        for candidate in candidates:
            if format_of(candidate) is None:
                skipped["".join(candidate.suffixes[-2:]) or candidate.name] += 1
            else:
                kept.append(_input_path(str(candidate), str(root)))
        return kept

    for entry in inputs:
        path = Path(entry)
        if glob.has_magic(entry):
            matches = sorted(Path(p) for p in glob.glob(entry, recursive=True) if Path(p).is_file())
            readable = supported(matches, _glob_root(entry))
            if readable:
                files.extend(readable)
            else:
                missing.append(f"{entry} (no file matches)" if not matches else f"{entry} (no readable file matches)")
        elif path.is_dir():
            readable = supported(_walk(path), path)
            if readable:
                files.extend(readable)
            else:
                missing.append(f"{entry} (directory holds no .jsonl/.parquet/.txt/.md/.html/.pdf file)")
        elif path.is_file():
            files.append(_input_path(str(path), str(path.parent)))
        else:
            missing.append(entry)
    if missing:
        raise FileNotFoundError("curate inputs not found: " + "; ".join(missing))
    if skipped:
        log.warning(
            "curate inputs: skipped files of unsupported formats: %s",
            ", ".join(f"{n} x {suffix}" for suffix, n in sorted(skipped.items())),
        )
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique
