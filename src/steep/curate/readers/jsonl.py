"""JSON Lines (plain or .gz): one document per line.

A row needs `text` (a string); `id` (string or integer) and `meta` (an object) are optional, and any other
top-level key is folded into `meta` (so a row `{"text": ..., "date": "2024-01-02"}` gets `meta.date`).
`meta.source` is set to `"path:line"`; a different `source` the row already had is kept as
`meta.source_original`. A row without an id gets `"<file stem>-<line>"`.

A broken JSON line, a row without `text`, bytes that are not UTF-8 each become a `bad_input` with location
`path:line`; a line over `read.max_doc_bytes` is `too_large` and is skipped in chunks, never held whole.

    for item in read_jsonl(Path("a.jsonl"), FileContext(ReadConfig(), Path("."))): ...
    read_jsonl(path, ctx, start=1048576, end=2097152, first_line=8121)  # one line-aligned byte range
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

from steep.curate.document import Document
from steep.curate.readers.base import SNIPPET_CHARS, BadInput, FileContext, too_large

_SKIP_CHUNK = 1 << 20  # the rest of an oversized line is read and discarded 1 MB at a time


class BadRow(Exception):
    """A row that cannot become a document; the message is the human-readable reason."""


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def read_jsonl(
    path: Path, ctx: FileContext, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[Document | BadInput]:
    """Rows of the file, or of bytes [start, end) when an executor splits a big file: `start` must be the
    first byte of line `first_line` (so locations and default ids stay those of the whole file)."""
    limit = ctx.cfg.max_doc_bytes
    with _open_binary(path) as handle:
        if start:
            handle.seek(start)
        lineno = first_line - 1
        while end is None or handle.tell() < end:
            # readline(limit + 1): a line longer than the limit is cut there, so memory stays <= the limit.
            raw = handle.readline(limit + 1)
            if not raw:
                break
            lineno += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                size = len(raw)
                while (rest := handle.readline(_SKIP_CHUNK)) and not rest.endswith(b"\n"):
                    size += len(rest)
                size += len(rest)
                yield too_large(f"{path}:{lineno}", size, limit, "line")
                continue
            if not raw.strip():
                # A blank line is not a record (trailing newlines, separators): counted, not a drop.
                ctx.counters["blank_lines"] += 1
                continue
            source = f"{path}:{lineno}"
            try:
                yield parse_row(raw, source, path.name.split(".")[0], lineno, ctx)
            except BadRow as why:
                snippet = raw.decode("utf-8", errors="replace").rstrip("\r\n")[:SNIPPET_CHARS]
                yield BadInput(source, str(why), snippet=snippet)


def parse_row(raw: bytes, source: str, stem: str, lineno: int, ctx: FileContext) -> Document:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadRow(f"invalid UTF-8 at byte {err.start}") from None
    if lineno == 1:
        line = line.lstrip("\ufeff")  # a byte-order mark is an encoding artefact, not content
    try:
        row: Any = json.loads(line)
    except json.JSONDecodeError as err:
        raise BadRow(f"invalid JSON: {err.msg} at column {err.colno}") from None
    if "\\ud" in line.lower():  # only a \uD800-\uDFFF escape can smuggle a lone surrogate into valid UTF-8
        row = _replace_lone_surrogates(row)
    if not isinstance(row, dict):
        raise BadRow(f"row is a JSON {type(row).__name__}, not an object")
    return row_to_document(row, source, f"{stem}-{lineno}", ctx)


def row_to_document(row: dict[str, Any], source: str, default_id: str, ctx: FileContext) -> Document:
    """A mapping (JSON object, Parquet row) -> Document; shared so both formats fold keys the same way."""
    text_key, id_key = ctx.cfg.text_key, ctx.cfg.id_key
    if text_key not in row:
        raise BadRow(f"row has no {text_key!r} field")
    text = row[text_key]
    if not isinstance(text, str):
        raise BadRow(f"{text_key!r} is {'null' if text is None else 'a ' + type(text).__name__}, not a string")
    meta = row.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise BadRow(f"'meta' is a {type(meta).__name__}, not an object")
    meta = dict(meta)
    for key, value in row.items():
        if key not in (text_key, id_key, "meta"):
            meta.setdefault(key, value)
    if "source" in meta and meta["source"] != source:
        meta["source_original"] = meta["source"]
    meta["source"] = source
    doc_id = row.get(id_key)
    if doc_id is None:
        doc_id = default_id
    elif isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
        raise BadRow(f"{id_key!r} is a {type(doc_id).__name__}, not a string or integer")
    return Document(id=str(doc_id), text=text, meta=meta)


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
