"""Plain text and Markdown: one document per file, taken as written (Markdown markup is kept: it is text a
model should learn to read and write).

id = the path relative to the input root (`notes/2024/q1.md`), meta = {source: path, format: text|markdown}.
An empty file is dropped as `empty`; a file over `read.max_doc_bytes` as `too_large` without reading it; bytes
that are not UTF-8: see `steep.curate.readers.base.decode_text` (a few -> U+FFFD and kept, many -> dropped).

    for item in read_text(Path("notes/a.md"), FileContext(ReadConfig(), Path("notes"))): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from steep.curate.document import Document
from steep.curate.readers.base import EMPTY, BadInput, FileContext, decode_text, too_large


def read_file_bytes(path: Path, ctx: FileContext) -> bytes | BadInput:
    """The whole file, unless it is empty or over the size limit (checked on the file size, before reading)."""
    size = path.stat().st_size
    if size > ctx.cfg.max_doc_bytes:
        return too_large(str(path), size, ctx.cfg.max_doc_bytes, "file")
    raw = path.read_bytes()
    if not raw.strip():
        return BadInput(str(path), f"empty file ({size} bytes)", reason=EMPTY)
    return raw


def read_text(path: Path, ctx: FileContext) -> Iterator[Document | BadInput]:
    raw = read_file_bytes(path, ctx)
    if isinstance(raw, BadInput):
        yield raw
        return
    text = decode_text(raw, str(path), ctx)
    if isinstance(text, BadInput):
        yield text
        return
    kind = "markdown" if path.suffix.lower() in (".md", ".markdown") else "text"
    yield Document(id=ctx.file_id(path), text=text, meta={"source": str(path), "format": kind})
