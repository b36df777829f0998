"""What every format reader shares: the `BadInput` record a reader yields instead of a document, the
per-file context it reads with, and text decoding that keeps a file with a few bad bytes.

A format reader is a generator `read_<format>(path, ctx) -> Iterator[Document | BadInput]`; it never raises
for bad content (the dispatcher in `steep.curate.readers` turns any surprise into one `BadInput` for the
file), never counts seen/kept itself, and puts its format-specific tallies in `ctx.counters`.

    ctx = FileContext(ReadConfig(), root=Path("data"))
    for item in read_text(Path("data/notes/a.md"), ctx): ...
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from steep.curate.config import ReadConfig

BAD_INPUT = "bad_input"
TOO_LARGE = "too_large"
EMPTY = "empty"
SNIPPET_CHARS = 2000  # raw text kept in excluded.jsonl for bad input: enough to see what broke


@dataclass(frozen=True)
class BadInput:
    """Input that cannot become a document. `location` is `path`, `path:line N`, `path:row N` or `path:page N`."""

    location: str
    why: str
    reason: str = BAD_INPUT
    snippet: str = ""


@dataclass
class FileContext:
    """What a format reader may use while reading one file."""

    cfg: ReadConfig
    root: Path  # ids of one-document-per-file formats are paths relative to this
    counters: Counter[str] = field(default_factory=Counter)
    # Locations of problems in documents that were still kept (a few undecodable bytes, a page OCR could not
    # read): they go to the report's bad-input list next to the drops.
    notes: list[str] = field(default_factory=list)

    def file_id(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


def too_large(location: str, size: int, limit: int, what: str = "document") -> BadInput:
    return BadInput(location, f"{what} is {human_bytes(size)} ({size} bytes) > read.max_doc_bytes={limit}", TOO_LARGE)


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def declared_html_charset(head: bytes) -> str | None:
    """The `<meta charset>` of an HTML page, when it names a codec Python knows."""
    match = _CHARSET.search(head[:4096])
    if not match:
        return None
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None


def decode_text(raw: bytes, location: str, ctx: FileContext, encoding: str = "utf-8") -> str | BadInput:
    """Bytes -> text. Valid text passes as is (a UTF-8 byte-order mark removed). Undecodable bytes:

    - a NUL byte means a binary file (no text format uses it): `bad_input`;
    - at most `read.max_undecodable_ratio` of the bytes undecodable (a truncated character, a stray byte from a
      bad copy): kept with U+FFFD in their place, counted as `undecodable_bytes`, location noted;
    - more: a binary file or a legacy encoding (Latin-1, cp1252) we will not guess at: `bad_input`.
    """
    nul = raw.find(b"\x00")
    if nul >= 0:
        return BadInput(location, f"binary content (NUL byte at offset {nul})")
    try:
        return raw.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        first_bad = err.start
    text = raw.decode(encoding, errors="replace").removeprefix("\ufeff")
    # Each maximal invalid subsequence becomes one U+FFFD; subtract the ones the file really contained.
    already_there = raw.count("\ufffd".encode()) if codecs.lookup(encoding).name == "utf-8" else 0
    bad = text.count("\ufffd") - already_there
    ratio = bad / max(len(raw), 1)
    if ratio > ctx.cfg.max_undecodable_ratio:
        return BadInput(
            location,
            f"not {encoding} text: {bad} undecodable sequence(s) in {len(raw)} bytes ({ratio:.1%} > "
            f"read.max_undecodable_ratio={ctx.cfg.max_undecodable_ratio}), first at byte {first_bad}; "
            "binary, or a legacy encoding (convert it to UTF-8 with iconv)",
            snippet=text[:SNIPPET_CHARS],
        )
    ctx.counters["undecodable_bytes"] += bad
    ctx.counters["docs_with_undecodable_bytes"] += 1
    ctx.notes.append(
        f"{location}: {bad} undecodable byte sequence(s) replaced with U+FFFD, first at byte "
        f"{first_bad} (document kept)"
    )
    return text
