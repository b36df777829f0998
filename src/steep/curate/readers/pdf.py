"""PDF: one document per file; the text layer through pypdf, pages without one through Tesseract.

Pages are joined with a form feed (`\\f`), which the clean stage's header/footer pass reads as a page break.
meta = {source: path, format: pdf, pages: N, page_starts: [char offset of each page], ocr_pages: [1-based
page numbers read by OCR] (only when some were), title (the PDF's own, when set)}.

Pages with no text layer (scans): with `read.ocr: auto` and `tesseract` on PATH they are rendered at
`read.ocr_dpi` and OCR'd; otherwise they count as `ocr_unavailable`, and a PDF with no text at all is dropped
with a reason that says to install tesseract-ocr. Corrupt (e.g. truncated) and encrypted PDFs are `bad_input`;
an encrypted PDF is first opened with the empty password (many "protected" PDFs only restrict printing).
Extracted text over `read.max_doc_bytes` stops the extraction and drops the PDF as `too_large`.

    for item in read_pdf(Path("manual.pdf"), FileContext(ReadConfig(), Path("."))): ...
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from steep.curate.document import Document
from steep.curate.readers.base import EMPTY, BadInput, FileContext, too_large
from steep.curate.readers.ocr import OcrError, ocr_pdf_page, tesseract_available

_INSTALL_HINT = "install tesseract-ocr (e.g. `apt-get install tesseract-ocr`) to OCR scanned pages"


def read_pdf(path: Path, ctx: FileContext) -> Iterator[Document | BadInput]:
    from pypdf import PdfReader  # lazy: pypdf is only needed when a run has PDFs
    from pypdf.errors import PdfReadError, PyPdfError

    if path.stat().st_size == 0:
        yield BadInput(str(path), "empty file (0 bytes)", reason=EMPTY)
        return
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair warnings would flood the log; we report
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (PyPdfError, NotImplementedError, ValueError) as err:  # no AES backend, unknown handler
                yield BadInput(str(path), f"encrypted PDF that could not be opened: {err}")
                return
            if not opened:
                yield BadInput(str(path), "encrypted PDF: needs a password (the empty password did not open it)")
                return
            ctx.counters["pdf_decrypted_with_empty_password"] += 1
        pages = reader.pages
        n_pages = len(pages)
    except (PyPdfError, PdfReadError, ValueError, KeyError, TypeError, OSError) as err:
        yield BadInput(str(path), f"corrupt PDF: {type(err).__name__}: {err}")
        return
    if n_pages == 0:
        yield BadInput(str(path), "PDF has no pages", reason=EMPTY)
        return

    use_ocr = ctx.cfg.ocr == "auto" and tesseract_available()
    texts: list[str] = []
    ocr_pages: list[int] = []
    unreadable: list[int] = []
    ocr_errors: list[str] = []
    size = 0
    for index in range(n_pages):
        number = index + 1
        try:
            text = pages[index].extract_text() or ""
        # A damaged content stream breaks one page, not the document; pypdf raises anything from KeyError to
        # AttributeError on malformed pages, so this catch is deliberately broad.
        except Exception as err:  # noqa: BLE001
            ctx.counters["pdf_page_errors"] += 1
            ctx.notes.append(f"{path}:page {number}: text extraction failed ({type(err).__name__}: {err})")
            text = ""
        if not text.strip():
            text = ""
            if use_ocr:
                try:
                    text = ocr_pdf_page(path, index, ctx.cfg.ocr_dpi, ctx.cfg.ocr_lang, ctx.cfg.ocr_timeout_s)
                    ocr_pages.append(number)
                    ctx.counters["ocr_pages"] += 1
                except OcrError as err:
                    ctx.counters["ocr_failed"] += 1
                    ocr_errors.append(str(err))
                    ctx.notes.append(f"{path}:page {number}: OCR failed: {err}")
            else:
                ctx.counters["ocr_unavailable" if ctx.cfg.ocr == "auto" else "ocr_off"] += 1
            if not text.strip():
                unreadable.append(number)
        text = text.replace("\f", "\n")  # a form feed inside a page would read as a page break downstream
        size += len(text.encode("utf-8"))
        if size > ctx.cfg.max_doc_bytes:
            yield too_large(str(path), size, ctx.cfg.max_doc_bytes, f"extracted text (first {number} page(s))")
            return
        texts.append(text)

    if len(unreadable) == n_pages:
        if use_ocr:
            why = f"no text on any of {n_pages} page(s), even with OCR"
            why += f" (OCR failed: {ocr_errors[0]})" if ocr_errors else ""
        elif ctx.cfg.ocr == "off":
            why = f"no text layer on any of {n_pages} page(s) and read.ocr is off"
        else:
            why = f"no text layer on any of {n_pages} page(s) (a scan?) and tesseract is not on PATH: {_INSTALL_HINT}"
        yield BadInput(str(path), why)
        return
    if unreadable and not use_ocr:
        hint = _INSTALL_HINT if ctx.cfg.ocr == "auto" else "read.ocr is off"
        ctx.notes.append(f"{path}: page(s) {_ranges(unreadable)} have no text layer and were left empty ({hint})")

    page_starts, offset = [], 0
    for text in texts:
        page_starts.append(offset)
        offset += len(text) + 1  # + the form feed
    meta: dict[str, object] = {"source": str(path), "format": "pdf", "pages": n_pages, "page_starts": page_starts}
    if ocr_pages:
        meta["ocr_pages"] = ocr_pages
    title = _title(reader)
    if title:
        meta["title"] = title
    yield Document(id=ctx.file_id(path), text="\f".join(texts), meta=meta)


def _title(reader: object) -> str | None:
    try:
        info = reader.metadata  # type: ignore[attr-defined]
        title = info.title if info else None
    except Exception:  # noqa: BLE001 - metadata is optional and often malformed; never worth a dropped document
        return None
    return str(title).strip() or None if title else None


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)
