"""Readers turn files into `Document`s. Today: JSONL (plain or .gz). Parquet and text folders come later.

A row needs `text` (a string); `id` (string or integer) and `meta` (an object) are optional, and any other
top-level key is folded into `meta` (so a row `{"text": ..., "date": "2024-01-02"}` gets `meta.date`).
`meta.source` is set to `"path:line"`; a different `source` the row already had is kept as
`meta.source_original`. A row without an id gets `"<file stem>-<line>"`.

Bad input never stops the run and never disappears: a broken JSON line, a row without `text`, bytes
that are not UTF-8 each become a `Dropped` with reason `bad_input` and detail `path:line: why`.

    reader = JsonlReader(["a.jsonl"], on_drop=print)
    for doc in reader.run(): ...
"""

from __future__ import annotations

import glob
import gzip
import json
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

from steep.curate.block import BlockStats, DropSink, ignore_drop
from steep.curate.document import Document, Dropped

BAD_INPUT = "bad_input"
_SNIPPET_CHARS = 2000  # raw text kept in excluded.jsonl for a bad line: enough to see what broke
_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")


def resolve_inputs(inputs: Sequence[str]) -> list[Path]:
    """Expand globs and directories into a sorted, de-duplicated file list; fail naming every missing input."""
    files: list[Path] = []
    missing: list[str] = []
    for entry in inputs:
        path = Path(entry)
        if glob.has_magic(entry):
            matches = sorted(Path(p) for p in glob.glob(entry, recursive=True) if Path(p).is_file())
            (files.extend(matches) if matches else missing.append(f"{entry} (no file matches)"))
        elif path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(_JSONL_SUFFIXES))
            (files.extend(matches) if matches else missing.append(f"{entry} (directory holds no *.jsonl)"))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(entry)
    if missing:
        raise FileNotFoundError("curate inputs not found: " + "; ".join(missing))
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _open_binary(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


class _BadRow(Exception):
    """A row that cannot become a document; the message is the human-readable reason."""


class JsonlReader:
    """Reads JSONL files into documents; bad rows go to `on_drop` as `bad_input`."""

    name = "read"

    def __init__(
        self,
        paths: Iterable[str | Path],
        on_drop: DropSink | None = None,
        text_key: str = "text",
        id_key: str = "id",
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.text_key = text_key
        self.id_key = id_key
        self.stats = BlockStats(self.name)
        self.on_drop: DropSink = on_drop or ignore_drop
        self.bad_locations: list[str] = []  # "path:line: why", in reading order

    def run(self, docs: Iterable[Document] | None = None) -> Iterator[Document]:
        """Yield upstream documents first (if any), then every good row of every file."""
        if docs is not None:
            yield from docs
        for path in self.paths:
            yield from self._read_file(path)

    def _read_file(self, path: Path) -> Iterator[Document]:
        started = time.perf_counter()
        with _open_binary(path) as handle:
            for lineno, raw in enumerate(handle, start=1):
                if not raw.strip():
                    # A blank line is not a record (trailing newlines, separators): counted, not a drop.
                    self.stats.counters["blank_lines"] += 1
                    continue
                self.stats.seen += 1
                source = f"{path}:{lineno}"
                try:
                    doc = self._parse(raw, source, path, lineno)
                except _BadRow as why:
                    self._bad(raw, source, str(why))
                    continue
                self.stats.kept += 1
                self.stats.seconds += time.perf_counter() - started
                yield doc
                started = time.perf_counter()
        self.stats.seconds += time.perf_counter() - started
        self.stats.counters["files"] += 1

    def _parse(self, raw: bytes, source: str, path: Path, lineno: int) -> Document:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise _BadRow(f"invalid UTF-8 at byte {err.start}") from None
        if lineno == 1:
            line = line.lstrip("\ufeff")  # a byte-order mark is an encoding artefact, not content
        try:
            row: Any = json.loads(line)
        except json.JSONDecodeError as err:
            raise _BadRow(f"invalid JSON: {err.msg} at column {err.colno}") from None
        if "\\ud" in line.lower():  # only a \uD800-\uDFFF escape can smuggle a lone surrogate into valid UTF-8
            row = _replace_lone_surrogates(row)
        if not isinstance(row, dict):
            raise _BadRow(f"row is a JSON {type(row).__name__}, not an object")
        if self.text_key not in row:
            raise _BadRow(f"row has no {self.text_key!r} field")
        text = row[self.text_key]
        if not isinstance(text, str):
            raise _BadRow(f"{self.text_key!r} is a {type(text).__name__}, not a string")
        meta = row.get("meta", {})
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise _BadRow(f"'meta' is a {type(meta).__name__}, not an object")
        meta = dict(meta)
        for key, value in row.items():
            if key not in (self.text_key, self.id_key, "meta"):
                meta.setdefault(key, value)
        if "source" in meta and meta["source"] != source:
            meta["source_original"] = meta["source"]
        meta["source"] = source
        doc_id = row.get(self.id_key)
        if doc_id is None:
            doc_id = f"{path.name.split('.')[0]}-{lineno}"
        elif isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            raise _BadRow(f"{self.id_key!r} is a {type(doc_id).__name__}, not a string or integer")
        return Document(id=str(doc_id), text=text, meta=meta)

    def _bad(self, raw: bytes, source: str, why: str) -> None:
        detail = f"{source}: {why}"
        self.bad_locations.append(detail)
        self.stats.dropped[BAD_INPUT] += 1
        snippet = raw.decode("utf-8", errors="replace").rstrip("\r\n")[:_SNIPPET_CHARS]
        doc = Document(id=source, text=snippet, meta={"source": source})
        self.on_drop(Dropped(doc=doc, reason=BAD_INPUT, block=self.name, detail=detail))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_lone_surrogates(value: Any) -> Any:
    """JSON may escape half of a UTF-16 pair (`"\\ud800"`): valid JSON, but no UTF-8 file can hold it. Such
    halves become U+FFFD, the replacement character, so the document is kept and written instead of crashing
    the writer; properly paired escapes were already joined by json.loads and are untouched."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_replace_lone_surrogates(k): _replace_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_lone_surrogates(v) for v in value]
    return value
