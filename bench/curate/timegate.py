"""The time gate on undated text: recall of post-cutoff documents and false drops of pre-cutoff ones.

    PYTHONPATH=src python bench/curate/timegate.py --icdar /work/shared/data/ocr-dev/icdar2017   # markdown rows

Two development sets, neither made by steep's demo generator:
- `--icdar DIR`: real OCR'd English pages of 1841-1894 (ICDAR 2017 post-OCR competition, `metadata.csv`:
  `path;year;kind;chars`); each page is judged at several cutoffs inside that range.
- `bench/curate/timegate/handwritten.jsonl`: 48 short texts written for this bench with their year (24 up to
  1930, 24 after), judged at cutoff 1930. Pre-cutoff texts carry the numbers that are not years (prices, counts,
  addresses, lots, page and phone numbers) and plans for later years; some post-cutoff texts name no year at all.

Every document is given to the gate WITHOUT its date (`undated: infer`, the defaults otherwise: dates and
contextual years, two bare years, built-in anachronism terms; nothing to mine, as no document is dated).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

from steep.curate.config import TimeGateConfig
from steep.curate.document import Document, Drop
from steep.curate.gates import TimeGate

HERE = Path(__file__).resolve().parent


def judge(docs: list[tuple[str, int, str]], cutoff_year: int) -> dict:
    gate = TimeGate(TimeGateConfig(cutoff=cutoff_year, undated="infer"))
    cutoff = date(cutoff_year, 12, 31)
    post = [d for d in docs if d[1] > cutoff_year]
    pre = [d for d in docs if d[1] <= cutoff_year]
    caught, false, reasons, examples = 0, 0, {}, []
    started = time.process_time()
    for doc_id, year, text in docs:
        out = gate.apply(Document(doc_id, text))
        if isinstance(out, Drop):
            reasons[out.reason.split(":")[1]] = reasons.get(out.reason.split(":")[1], 0) + 1
            if year > cutoff_year:
                caught += 1
            else:
                false += 1
                examples.append(f"{doc_id} ({year}): {out.detail}")
    seconds = time.process_time() - started
    return {
        "cutoff": cutoff.isoformat(), "pre": len(pre), "post": len(post), "caught": caught, "false": false,
        "recall": caught / len(post) if post else float("nan"), "false_rate": false / len(pre) if pre else float("nan"),
        "reasons": reasons, "false_examples": examples, "chars_per_s": sum(len(t) for *_, t in docs) / max(seconds, 1e-9),
    }  # fmt: skip


def icdar_docs(root: Path) -> list[tuple[str, int, str]]:
    docs = []
    for line in (root / "metadata.csv").read_text(encoding="utf-8").splitlines():
        path, year, _kind, _chars = line.split(";")
        raw = (root / path).read_text(encoding="utf-8", errors="replace")
        # The competition files are "[OCR_toInput] <ocr text>\n[OCR_aligned] ...\n[ GS_aligned] ...": judge the raw
        # OCR output only, as a lake would hold it.
        text = raw.split("[OCR_aligned]")[0].removeprefix("[OCR_toInput]").strip()
        docs.append((path, int(year), text))
    return docs


def chunks(docs: list[tuple[str, int, str]], size: int = 1000) -> list[tuple[str, int, str]]:
    """Each page cut into ~`size`-character pieces at word boundaries: shorter documents carry less evidence."""
    out = []
    for doc_id, year, text in docs:
        words, piece, n = text.split(), [], 0
        for word in words:
            piece.append(word)
            if sum(len(w) + 1 for w in piece) >= size:
                out.append((f"{doc_id}#{n}", year, " ".join(piece)))
                piece, n = [], n + 1
        if piece:
            out.append((f"{doc_id}#{n}", year, " ".join(piece)))
    return out


def handwritten_docs() -> list[tuple[str, int, str]]:
    rows = [json.loads(line) for line in (HERE / "timegate" / "handwritten.jsonl").read_text().splitlines() if line]
    return [(r["id"], r["year"], r["text"]) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--icdar", type=Path, default=None, help="ICDAR 2017 post-OCR English folder with metadata.csv")
    args = parser.parse_args()
    sets = [("handwritten (48 texts, 1860-2023)", handwritten_docs(), [1930])]
    if args.icdar is not None:
        pages = icdar_docs(args.icdar)
        sets.append(("ICDAR 2017 English OCR pages (89, 1841-1894)", pages, [1850, 1857, 1870, 1890]))
        pieces = chunks(pages)
        sets.append((f"the same pages in ~1000-char pieces ({len(pieces)})", pieces, [1857, 1870, 1890]))
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}")
    print("| dev set | cutoff | pre docs | post docs | post caught (recall) | pre dropped (false-drop rate) | reasons |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for name, docs, cutoffs in sets:
        for year in cutoffs:
            r = judge(docs, year)
            print(f"| {name} | {r['cutoff']} | {r['pre']} | {r['post']} | {r['caught']} ({r['recall']:.2f}) | "
                  f"{r['false']} ({r['false_rate']:.3f}) | {r['reasons']} |")  # fmt: skip
            for example in r["false_examples"]:
                print(f"|  | false drop: {example[:160]} | | | | | |")


if __name__ == "__main__":
    main()
