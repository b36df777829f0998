"""Readers turn input files into `Document`s: JSONL (.jsonl/.json/.ndjson, optionally .gz), Parquet, text and
Markdown, HTML (main text), PDF (text layer, Tesseract OCR for scanned pages).

    reader = DocumentReader(resolve_inputs(["data/"]), ReadConfig(), on_drop=excluded.append)
    for doc in reader.run(): ...                      # every file, in order
    for doc in reader.read_file(files[3]): ...         # one file (what an executor gives each worker)
    reader.stats.as_dict(); reader.bad_locations

One dispatcher, one small module per format (`jsonl`, `parquet`, `text`, `htmltext`, `pdf` + `ocr`), chosen by
suffix. Per-format tallies land in `reader.stats.counters` (`files:pdf`, `docs:html`, `ocr_pages`, ...).

Bad input never stops the run and never disappears. Each becomes a `Dropped` with a stable reason and the
location in its detail (`path:line 3: invalid JSON ...`, `path:row 7: ...`, `path: corrupt PDF ...`):
- `bad_input`: broken JSON, missing text, undecodable/binary content, corrupt or encrypted PDF, a scan without
  OCR, a file of an unsupported format, any unexpected error while reading a file (the run goes on with the next);
- `too_large`: a document over `read.max_doc_bytes` (default 10 MB), found without reading it whole;
- `empty`: an empty file (or an HTML page with no main text left).
Problems in documents that were still kept (a few bad bytes replaced by U+FFFD, a page OCR could not read) are
listed in `bad_locations` too, so the report shows them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from steep.curate.block import BlockStats, DropSink, ignore_drop
from steep.curate.config import ReadConfig
from steep.curate.document import Document, Dropped
from steep.curate.readers.base import BAD_INPUT, EMPTY, TOO_LARGE, BadInput, FileContext
from steep.curate.readers.htmltext import read_html
from steep.curate.readers.inputs import FORMATS, InputPath, format_of, resolve_inputs, root_for
from steep.curate.readers.jsonl import read_jsonl
from steep.curate.readers.parquet import read_parquet
from steep.curate.readers.pdf import read_pdf
from steep.curate.readers.text import read_text

__all__ = [
    "BAD_INPUT",
    "EMPTY",
    "FORMATS",
    "TOO_LARGE",
    "DocumentReader",
    "InputPath",
    "JsonlReader",
    "format_of",
    "resolve_inputs",
    "root_for",
]

log = logging.getLogger(__name__)

FormatReader = Callable[[Path, FileContext], Iterator[Document | BadInput]]
_READERS: dict[str, FormatReader] = {
    "jsonl": read_jsonl,
    "parquet": read_parquet,
    "text": read_text,
    "html": read_html,
    "pdf": read_pdf,
}


class DocumentReader:
    """Reads files of any supported format into documents; bad input goes to `on_drop`, counted by reason."""

    name = "read"

    def __init__(
        self,
        paths: Iterable[str | Path],
        cfg: ReadConfig | None = None,
        on_drop: DropSink | None = None,
        inputs: Sequence[str] | None = None,
    ) -> None:
        self.paths = [p if isinstance(p, Path) else Path(p) for p in paths]
        self.cfg = cfg or ReadConfig()
        # The configured `curate.inputs`: lets a plain path (not from `resolve_inputs`) find its input root, so a
        # file's id is the same whether the whole run or one worker of a sharded run reads it.
        self.inputs = list(inputs or [])
        self.stats = BlockStats(self.name)
        self.on_drop: DropSink = on_drop or ignore_drop
        self.bad_locations: list[str] = []  # "location: why", in reading order (drops and kept-with-problems)

    def run(self, docs: Iterable[Document] | None = None) -> Iterator[Document]:
        """Yield upstream documents first (if any), then every good document of every file."""
        if docs is not None:
            yield from docs
        for path in self.paths:
            yield from self.read_file(path)

    def read_file(self, path: Path, start: int = 0, end: int | None = None, first_line: int = 1) -> Iterator[Document]:
        """The documents of one file; its bad input is dropped and counted here. Never raises for content.

        `start`/`end`/`first_line`: read only the line-aligned byte range [start, end) of a plain JSONL file
        whose first line is `first_line` (an executor's shard); other formats are always read whole."""
        path = path if isinstance(path, Path) else Path(path)
        fmt = format_of(path) or "unsupported"
        root = getattr(path, "input_root", None) or (root_for(path, self.inputs) if self.inputs else path.parent)
        ctx = FileContext(self.cfg, Path(root))
        items = self._items(path, fmt, ctx, start, end, first_line)
        started = time.perf_counter()
        # Time only our own work: the consumer runs between our yields (generators interleave).
        while True:
            try:
                item = next(items)
            except StopIteration:
                break
            finally:
                self.stats.seconds += time.perf_counter() - started
            self.stats.seen += 1
            if isinstance(item, BadInput):
                self._drop(item)
            else:
                self.stats.kept += 1
                self.stats.counters[f"docs:{fmt}"] += 1
                yield item
            started = time.perf_counter()
        self.stats.counters.update(ctx.counters)
        if start == 0:  # a file split into byte ranges (shards) is still one file
            self.stats.counters["files"] += 1
            self.stats.counters[f"files:{fmt}"] += 1
        self.bad_locations.extend(ctx.notes)

    def _items(
        self, path: Path, fmt: str, ctx: FileContext, start: int, end: int | None, first_line: int
    ) -> Iterator[Document | BadInput]:
        whole = start == 0 and end is None
        if fmt == "unsupported":
            yield BadInput(str(path), f"unsupported format (supported: {', '.join(sorted(FORMATS))})")
            return
        produced = 0
        try:
            if fmt in ("jsonl", "parquet") and whole and path.stat().st_size == 0:
                yield BadInput(str(path), "empty file (0 bytes)", reason=EMPTY)
                return
            if fmt == "jsonl":
                found = read_jsonl(path, ctx, start, end, first_line)
            else:
                found = _READERS[fmt](path, ctx)
            for item in found:
                produced += 1
                yield item
        except Exception as err:  # an unexpected failure loses this file's remaining documents, not the run
            log.exception("curate read: %s failed", path)
            where = f" after {produced} item(s)" if produced else ""
            yield BadInput(str(path), f"reading failed{where}: {type(err).__name__}: {err}")
            return
        if produced == 0 and fmt == "jsonl" and whole:
            # Only blank lines: no document came out, but the file must still show up in the report.
            yield BadInput(str(path), "no records (only blank lines)", reason=EMPTY)

    def _drop(self, bad: BadInput) -> None:
        detail = f"{bad.location}: {bad.why}"
        self.bad_locations.append(detail)
        self.stats.dropped[bad.reason] += 1
        doc = Document(id=bad.location, text=bad.snippet, meta={"source": bad.location})
        self.on_drop(Dropped(doc=doc, reason=bad.reason, block=self.name, detail=detail))


# The reader was JSONL-only before; old imports and `JsonlReader(paths, on_drop=...)` calls keep working.
JsonlReader = DocumentReader
