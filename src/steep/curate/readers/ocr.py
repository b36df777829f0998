"""OCR of one PDF page through the Tesseract binary (Debian/Ubuntu: `apt-get install tesseract-ocr`).

We call the `tesseract` executable rather than a Python binding: nothing to compile, the same binary CI and
users install, and a subprocess timeout bounds a page that makes it hang. The page is rendered with pypdfium2
(already a dependency) at `read.ocr_dpi`: Tesseract is trained on ~300 dpi scans; at 150 dpi its character
error rate on 10 pt text roughly doubles, above 400 dpi it only gets slower.

    if tesseract_available():
        text = ocr_pdf_page(Path("scan.pdf"), page_index=0, dpi=300, lang="eng", timeout_s=120)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


class OcrError(Exception):
    """Tesseract failed on a page; the message says how."""


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def render_pdf_page(path: Path, page_index: int, dpi: int, out_png: Path) -> None:
    import pypdfium2 as pdfium  # lazy: only PDFs without a text layer need a renderer

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[page_index]
        # PDF user space is 72 units per inch, so scale = dpi / 72 (300 dpi: an A4 page is 2480 x 3508 px, ~26 MB RGB).
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        bitmap.to_pil().save(out_png)
    finally:
        pdf.close()


def ocr_image(image: Path, lang: str, timeout_s: float) -> str:
    # One OpenMP thread per tesseract: the executor already runs one worker per core, and tesseract's own
    # threads on top of that oversubscribe the machine and make OCR slower, not faster (tesseract's FAQ).
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            ["tesseract", str(image), "stdout", "-l", lang],
            capture_output=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OcrError(f"tesseract timed out after {timeout_s:g} s") from None
    except OSError as err:
        raise OcrError(f"tesseract could not run: {err}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise OcrError(f"tesseract exited {done.returncode}: {message[-1] if message else 'no message'}")
    return done.stdout.decode("utf-8", errors="replace")


def ocr_pdf_page(path: Path, page_index: int, dpi: int, lang: str, timeout_s: float) -> str:
    with tempfile.TemporaryDirectory(prefix="steep-ocr-") as tmp:
        png = Path(tmp) / "page.png"
        try:
            render_pdf_page(path, page_index, dpi, png)
        except (RuntimeError, OSError, ValueError) as err:  # pdfium's PdfiumError is a RuntimeError
            raise OcrError(f"could not render the page: {err}") from None
        return ocr_image(png, lang, timeout_s)
