"""Readers beyond JSONL: Parquet, text/Markdown folders, HTML main text, PDF (text layer, encrypted, truncated,
scanned + Tesseract), oversized and empty input, and a mixed folder through `run_curate`. All inputs are built
in the test; nothing is downloaded."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest

from steep.curate.config import CurateConfig, ReadConfig
from steep.curate.readers import DocumentReader, resolve_inputs


def _minimal_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one Helvetica `Tj` line per page, xref offsets computed: no PDF library involved."""
    n = len(pages)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    font_id = 3 + 2 * n
    for i, text in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _read(paths, cfg=None):
    dropped = []
    reader = DocumentReader(paths, cfg or ReadConfig(), on_drop=dropped.append)
    return list(reader.run()), dropped, reader


def test_pdf_text_layer_pages_joined_with_form_feed(tmp_path):
    path = tmp_path / "manual.pdf"
    path.write_bytes(_minimal_pdf(["Steep manual page one", "Second page about pumps"]))
    docs, dropped, reader = _read(resolve_inputs([str(tmp_path)]))
    assert dropped == [] and len(docs) == 1
    doc = docs[0]
    assert doc.id == "manual.pdf"
    assert doc.text.split("\f") == ["Steep manual page one", "Second page about pumps"]
    assert doc.meta["pages"] == 2 and doc.meta["source"] == str(path)
    assert [doc.text[s:].split("\f")[0] for s in doc.meta["page_starts"]] == doc.text.split("\f")
    assert "ocr_pages" not in doc.meta and reader.stats.counters["files:pdf"] == 1


def test_encrypted_and_truncated_pdfs_are_bad_input_and_the_run_goes_on(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = tmp_path / "plain.pdf"
    plain.write_bytes(_minimal_pdf(["Readable text on the only page"]))
    for name, password in (("locked.pdf", "s3cret"), ("open-locked.pdf", "")):
        writer = PdfWriter(clone_from=PdfReader(plain))
        writer.encrypt(user_password=password, owner_password="owner", algorithm="AES-128")
        writer.write(tmp_path / name)
    (tmp_path / "truncated.pdf").write_bytes(plain.read_bytes()[:200])
    docs, dropped, reader = _read(resolve_inputs([str(tmp_path)]))
    # The empty user password opens "open-locked.pdf" (a print-restricted PDF is still readable).
    assert sorted(d.id for d in docs) == ["open-locked.pdf", "plain.pdf"]
    why = {d.doc.id.rsplit("/", 1)[-1]: d.detail for d in dropped}
    assert set(why) == {"locked.pdf", "truncated.pdf"} and {d.reason for d in dropped} == {"bad_input"}
    assert "encrypted" in why["locked.pdf"] and "password" in why["locked.pdf"]
    assert "corrupt PDF" in why["truncated.pdf"] and any("truncated.pdf" in b for b in reader.bad_locations)
    assert reader.stats.counters["pdf_decrypted_with_empty_password"] == 1


def _scanned_pdf(path, lines):
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (1700, 600), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=56)
    for i, line in enumerate(lines):
        draw.text((80, 80 + 110 * i), line, fill=0, font=font)
    img.save(path, "PDF", resolution=300)


def _cer(ref: str, hyp: str) -> float:
    prev = list(range(len(hyp) + 1))
    for i, a in enumerate(ref, 1):
        cur = [i]
        for j, b in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b)))
        prev = cur
    return prev[-1] / max(len(ref), 1)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not on PATH (apt-get install tesseract-ocr)")
def test_scanned_pdf_is_read_by_tesseract(tmp_path):
    lines = ["Quarterly pump maintenance", "Replace the seal every 400 hours"]
    _scanned_pdf(tmp_path / "scan.pdf", lines)
    docs, dropped, reader = _read([tmp_path / "scan.pdf"])  # default: 300 dpi
    assert dropped == [] and len(docs) == 1
    assert docs[0].meta["ocr_pages"] == [1] and reader.stats.counters["ocr_pages"] == 1
    got = " ".join(docs[0].text.split())
    assert _cer(" ".join(lines), got) < 0.1, got


def test_scanned_pdf_without_ocr_is_dropped_with_a_hint(tmp_path, monkeypatch):
    _scanned_pdf(tmp_path / "scan.pdf", ["Nothing but pixels"])
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no tesseract reachable
    docs, dropped, reader = _read([tmp_path / "scan.pdf"])
    assert docs == [] and dropped[0].reason == "bad_input"
    assert "install tesseract-ocr" in dropped[0].detail
    assert reader.stats.counters["ocr_unavailable"] == 1
    docs, dropped, _ = _read([tmp_path / "scan.pdf"], ReadConfig(ocr="off"))
    assert "read.ocr is off" in dropped[0].detail


def test_parquet_round_trip_in_batches_with_bad_rows(tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": ["a", None, "c", "d"],
            "text": ["first doc", "second doc", None, "x" * 300],
            "date": [dt.date(2024, 1, 2)] * 4,
            "meta": [{"lang": "en"}, None, None, None],
        }
    )
    path = tmp_path / "docs.parquet"
    pq.write_table(table, path, row_group_size=2)
    docs, dropped, reader = _read([path], ReadConfig(parquet_batch_rows=1, max_doc_bytes=200))
    assert [(d.id, d.text) for d in docs] == [("a", "first doc"), ("docs-2", "second doc")]
    assert docs[0].meta == {"lang": "en", "date": "2024-01-02", "source": f"{path}:row 1"}
    json.dumps([d.to_row() for d in docs])  # dates became JSON-safe strings
    assert [(d.reason, d.detail.split(": ")[0]) for d in dropped] == [
        ("bad_input", f"{path}:row 3"),
        ("too_large", f"{path}:row 4"),
    ]
    assert "'text' is null" in dropped[0].detail
    assert reader.stats.seen == 4 and reader.stats.counters["docs:parquet"] == 2


def test_text_and_markdown_folder_ids_relative_to_root(tmp_path):
    (tmp_path / "notes" / "2024").mkdir(parents=True)
    (tmp_path / "notes" / "a.txt").write_text("plain words here", encoding="utf-8")
    (tmp_path / "notes" / "2024" / "b.md").write_text("# Title\n\nbody text", encoding="utf-8")
    (tmp_path / "notes" / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "notes" / "few-bad.txt").write_bytes(("word " * 100).encode() + b"caf\xe9 ok")
    (tmp_path / "notes" / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "notes" / "latin1.txt").write_bytes("d\xe9j\xe0 vu \xe9t\xe9".encode("latin-1"))
    (tmp_path / "notes" / "image.png").write_bytes(b"\x89PNG")  # unsupported: skipped by the directory walk
    (tmp_path / "notes" / ".hidden.md").write_text("never read", encoding="utf-8")
    paths = resolve_inputs([str(tmp_path / "notes")])
    assert [p.relative_to(tmp_path / "notes").as_posix() for p in paths] == [
        "2024/b.md",
        "a.txt",
        "binary.txt",
        "empty.txt",
        "few-bad.txt",
        "latin1.txt",
    ]
    # The input root survives pickling, so an executor's worker process computes the same ids.
    docs, dropped, reader = _read(pickle.loads(pickle.dumps(paths)))
    assert [d.id for d in docs] == ["2024/b.md", "a.txt", "few-bad.txt"]
    assert docs[0].text == "# Title\n\nbody text" and docs[0].meta["format"] == "markdown"
    assert docs[2].text.endswith("caf\ufffd ok") and reader.stats.counters["undecodable_bytes"] == 1
    assert any("few-bad.txt" in b and "U+FFFD" in b for b in reader.bad_locations)
    reasons = {d.doc.id.rsplit("/", 1)[-1]: d.reason for d in dropped}
    assert reasons == {"binary.txt": "bad_input", "empty.txt": "empty", "latin1.txt": "bad_input"}


PAGE = """<!doctype html>
<html lang="en"><head><title>Pump seals | Acme Docs</title>
<meta charset="utf-8"><meta property="article:published_time" content="2024-03-05T10:00:00Z">
<style>p { color: red }</style><script>var tracking = "do not keep";</script></head>
<body>
<header class="site-header"><a href="/">Acme</a> <a href="/docs">Docs</a> Site banner text</header>
<nav><ul><li><a href="/a">Home</a></li><li><a href="/b">Products</a></li></ul></nav>
<div id="cookie-consent">We use cookies to improve your experience. <button>Accept all cookies</button></div>
<div class="notice">This site uses cookies. Read our cookie policy.</div>
<main>
  <article>
    <header><h1>Replacing pump seals</h1><p class="byline">By the maintenance team</p></header>
    <p>Seals wear out after about 400 hours of use, faster in   dirty water.</p>
    <h2>Steps</h2>
    <ol><li>Close the inlet valve.</li><li>Open the housing &amp; remove the <b>old</b> seal.</li></ol>
    <table><tr><th>Part</th><th>Hours</th></tr><tr><td>Seal</td><td>400</td></tr></table>
    <p><a href="/x">Related: pump basics</a></p>
    <div class="share-buttons">Share on social</div>
  </article>
</main>
<aside class="sidebar"><h3>Popular</h3><p>Sidebar words that are not content</p></aside>
<footer>Copyright 2024 Acme. <a href="/privacy">Privacy</a></footer>
</body></html>
"""


def test_html_main_text_without_chrome(tmp_path):
    path = tmp_path / "site" / "seals.html"
    path.parent.mkdir()
    path.write_text(PAGE, encoding="utf-8")
    docs, dropped, reader = _read(resolve_inputs([str(tmp_path / "site")]))
    assert dropped == [] and len(docs) == 1
    doc = docs[0]
    assert doc.text == (
        "# Replacing pump seals\n\nBy the maintenance team\n\n"
        "Seals wear out after about 400 hours of use, faster in dirty water.\n\n## Steps\n\n"
        "- Close the inlet valve.\n- Open the housing & remove the old seal.\n\nPart | Hours\nSeal | 400"
    )
    assert doc.meta["title"] == "Pump seals | Acme Docs" and doc.meta["lang"] == "en"
    assert doc.meta["date"] == "2024-03-05T10:00:00Z" and doc.id == "seals.html"
    for chrome in ("tracking", "Site banner", "Products", "cookies", "Sidebar", "Copyright", "Related", "Share"):
        assert chrome not in doc.text
    assert reader.stats.counters["html_removed:link_density"] >= 1


def test_html_without_main_element_keeps_body_blocks(tmp_path):
    path = tmp_path / "plain.htm"
    path.write_text(
        "<html><body><p>We use cookies. <a href='/ok'>OK</a></p><h1>Notes</h1><p>First paragraph<br>next line"
        "</p><ul><li><a href=/1>one</a></li><li><a href=/2>two</a></li></ul></body></html>",
        encoding="utf-8",
    )
    docs, _, _ = _read([path])
    assert docs[0].text == "# Notes\n\nFirst paragraph\nnext line"


def test_oversized_documents_are_dropped_without_being_held(tmp_path):
    """A 50 MB text file, a 50 MB JSONL line and a 50 MB Parquet cell: `too_large` with their size; the small
    neighbours still come through."""
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(50_000_000)  # sparse: 50 MB on paper, instant to create
    lines = tmp_path / "lines.jsonl"
    with open(lines, "wb") as f:
        f.write(b'{"id": "small", "text": "fits"}\n{"id": "huge", "text": "')
        f.writelines(b"a" * 1_000_000 for _ in range(50))
        f.write(b'"}\n{"id": "after", "text": "still read"}\n')
    docs, dropped, reader = _read([big, lines])
    assert [d.id for d in docs] == ["small", "after"]
    assert [(d.reason, d.detail.split(": ")[0]) for d in dropped] == [
        ("too_large", str(big)),
        ("too_large", f"{lines}:2"),
    ]
    assert "50.0 MB" in dropped[0].detail and "50000027 bytes" in dropped[1].detail
    assert reader.stats.dropped["too_large"] == 2


def test_empty_and_unsupported_files_are_counted(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\n\n")
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "data.csv").write_text("a,b\n", encoding="utf-8")
    files = [tmp_path / n for n in ("empty.jsonl", "blank.jsonl", "empty.pdf", "data.csv")]
    docs, dropped, reader = _read(files)
    assert docs == [] and [d.reason for d in dropped] == ["empty", "empty", "empty", "bad_input"]
    assert "unsupported format" in dropped[3].detail
    assert reader.stats.seen == 4 and reader.stats.counters["files"] == 4


def test_mixed_folder_through_run_curate(tmp_path):
    from steep.curate.stage import run_curate

    lake = tmp_path / "lake"
    (lake / "web").mkdir(parents=True)
    (lake / "rows.jsonl").write_text(
        json.dumps({"id": "j1", "text": "The pump manual explains how seals are replaced every season."}) + "\n",
        encoding="utf-8",
    )
    (lake / "notes.md").write_text("# Notes\n\nOperators log every seal change in the shared maintenance book.\n")
    (lake / "web" / "seals.html").write_text(PAGE, encoding="utf-8")
    (lake / "manual.pdf").write_bytes(_minimal_pdf(["Inspect the impeller for cracks before each long run"]))
    (lake / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<<")
    metrics = run_curate(CurateConfig(inputs=[str(lake)]), tmp_path / "out")
    assert metrics["input_files"] == 5 and metrics["docs_in"] == 5
    assert metrics["docs_out"] == 4 and metrics["bad_input"] == 1
    rows = [json.loads(x) for x in (tmp_path / "out" / "documents" / "part-00000.jsonl").read_text().splitlines()]
    assert {r["id"] for r in rows} == {"j1", "notes.md", "web/seals.html", "manual.pdf"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "broken.pdf" in report
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())["blocks"]["read"]["counters"]
    assert stats["files:pdf"] == 2 and stats["files:html"] == 1 and stats["files:text"] == 1


def test_jsonl_byte_range_and_plain_path_root(tmp_path):
    """The executor's contract: a line-aligned byte range keeps the whole file's line numbers, and a plain path
    (a shard ships file names as strings) finds its input root from the configured inputs."""
    path = tmp_path / "rows.jsonl"
    lines = [json.dumps({"text": f"row {i}"}).encode() + b"\n" for i in range(1, 5)]
    path.write_bytes(b"".join(lines))
    start = len(lines[0]) + len(lines[1])
    reader = DocumentReader([])
    docs = list(reader.read_file(path, start=start, end=start + len(lines[2]), first_line=3))
    assert [(d.id, d.text, d.meta["source"]) for d in docs] == [("rows-3", "row 3", f"{path}:3")]
    (tmp_path / "site" / "a").mkdir(parents=True)
    (tmp_path / "site" / "a" / "p.md").write_text("words in a page", encoding="utf-8")
    inputs = [str(tmp_path / "site")]
    plain = tmp_path / "site" / "a" / "p.md"  # a plain Path, not what resolve_inputs returned
    assert [d.id for d in DocumentReader([plain], inputs=inputs).run()] == ["a/p.md"]
    assert [d.id for d in DocumentReader([plain], inputs=[str(tmp_path / "site" / "*" / "*.md")]).run()] == ["a/p.md"]


def test_read_config_rejects_bad_values_and_html_charset_is_honoured(tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="ocr"):
        CurateConfig(inputs=["x"], read={"ocr": "always"})
    with pytest.raises(ValidationError, match="ocr_lang"):
        ReadConfig(ocr_lang="eng; rm -rf /")  # goes to a command line: letters and '+' only
    path = tmp_path / "old.html"
    path.write_bytes(
        '<html><head><meta charset="iso-8859-1"></head><body><p>Caf\xe9 cr\xe8me</p></body></html>'.encode("latin-1")
    )
    docs, _, reader = _read([path])
    assert docs[0].text == "Caf\xe9 cr\xe8me" and reader.stats.counters["undecodable_bytes"] == 0
