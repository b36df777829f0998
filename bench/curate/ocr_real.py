"""OCR repair on real OCR with a human gold standard: character error rate before and after `clean_text`.

    PYTHONPATH=src python bench/curate/ocr_real.py [DATA_DIR] [--json OUT.json] [--worst 5]

DATA_DIR (default `../shared/data/ocr-dev`, relative to the repo root) holds ICDAR 2017 post-OCR pages: each
file has `[OCR_toInput]`, `[OCR_aligned]` and `[ GS_aligned]` lines (`@` a gap, `#` no gold standard there).
Spans without gold (`#`, mostly running heads and page numbers) are cut out of the OCR and the gold alike, before
repair, so both sides score the same text. A page is repaired and scored in aligned pieces of ~3,000 characters
cut at a space both sides share (exact edit distance on a 649k-character page would take minutes; these pages
are one line each, so no repair pass looks across such a cut), and the pieces' edits are summed. Both sides are
compared with whitespace runs as one space and ligatures spelled out (`comparable`).

Pages are split in two halves by their sorted position (even: `dev`, odd: `held-out`), so a rule tuned on one
half can be checked on the other; both monographs and periodicals fall in both halves. Each folder (`eng_monograph`, `eng_periodical`) is
reported on its own too.

Reported: CER raw and repaired (total edits / total gold characters) on all pages and on each half, the page
whose CER grew most, the Spearman rank correlation of `ocr_garbage_ratio` (on the repaired text, as curate
stores it) with the repaired CER and with the raw CER, and repair throughput in input characters per second.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from steep.curate.clean import LIGATURES, clean_text
from steep.curate.ocr_quality import levenshtein, ocr_garbage_ratio

DEFAULT_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ocr-dev"


_SPACES = re.compile(r"\s+")


def comparable(text: str) -> str:
    """What scoring compares: runs of whitespace as one space and ligature glyphs spelled out, on both sides. The
    gold keeps the scan's double spaces and writes `ﬁ` where the print had one; repair makes both plain on
    purpose (training text), and that is not a character error."""
    return _SPACES.sub(" ", text.translate(LIGATURES)).strip()


_CHUNK = 3000  # aligned characters per scored piece: exact edit distance stays cheap (one page has 649k)


@dataclass
class Page:
    name: str
    chunks: list[tuple[str, str]]  # (OCR, gold) pieces that align, cut at a space both sides share

    @property
    def ocr(self) -> str:
        return " ".join(o for o, _ in self.chunks)

    @property
    def gold(self) -> str:
        return " ".join(g for _, g in self.chunks)


def parse_page(name: str, text: str) -> Page:
    fields = {line[:14]: line[14:] for line in text.split("\n") if line.startswith("[")}
    ocr_aligned, gold_aligned = fields["[OCR_aligned] "], fields["[ GS_aligned] "]
    if len(ocr_aligned) != len(gold_aligned):
        raise ValueError(f"{name}: aligned lines differ in length")
    pairs = [(o, g) for o, g in zip(ocr_aligned, gold_aligned, strict=True) if g != "#"]
    chunks, start = [], 0
    for i, (o, g) in enumerate(pairs):
        if (i - start >= _CHUNK and o == g == " ") or i == len(pairs) - 1:
            piece = pairs[start : i + 1]
            ocr = "".join(c for c, _ in piece if c != "@").strip()
            gold = "".join(c for _, c in piece if c != "@").strip()
            if gold:
                chunks.append((ocr, gold))
            start = i + 1
    return Page(name, chunks)


def load_pages(data_dir: Path) -> list[Page]:
    files = sorted(p for p in data_dir.rglob("*.txt") if p.name != "README.md")
    pages = [parse_page(str(p.relative_to(data_dir)), p.read_text(encoding="utf-8")) for p in files]
    return [p for p in pages if p.chunks]


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rho: Pearson correlation of the ranks (ties get their mean rank)."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else 0.0


def score(pages: list[Page]) -> dict:
    rows = []
    repair_s = 0.0
    clean_text("warm up the lexicon")  # loading word lists is a one-off, not throughput
    for page in pages:
        t0 = time.process_time()
        repaired = [clean_text(ocr) for ocr, _ in page.chunks]
        repair_s += time.process_time() - t0
        rows.append(
            {
                "page": page.name,
                "gold_chars": sum(len(comparable(g)) for _, g in page.chunks),
                "raw_edits": sum(levenshtein(comparable(o), comparable(g)) for o, g in page.chunks),
                "repaired_edits": sum(
                    levenshtein(comparable(r), comparable(g)) for r, (_, g) in zip(repaired, page.chunks, strict=True)
                ),
                "garbage_ratio": ocr_garbage_ratio(" ".join(repaired)),
                "garbage_ratio_raw": ocr_garbage_ratio(page.ocr),
            }
        )
    for row in rows:
        row["raw_cer"] = row["raw_edits"] / row["gold_chars"]
        row["repaired_cer"] = row["repaired_edits"] / row["gold_chars"]
        row["delta"] = row["repaired_cer"] - row["raw_cer"]

    def summary(subset: list[dict]) -> dict:
        gold = sum(r["gold_chars"] for r in subset)
        return {
            "pages": len(subset),
            "raw_cer": sum(r["raw_edits"] for r in subset) / gold,
            "repaired_cer": sum(r["repaired_edits"] for r in subset) / gold,
            "raw_cer_page_mean": sum(r["raw_cer"] for r in subset) / len(subset),
            "repaired_cer_page_mean": sum(r["repaired_cer"] for r in subset) / len(subset),
            "pages_worse": sum(r["delta"] > 0 for r in subset),
            "pages_better": sum(r["delta"] < 0 for r in subset),
            "worst_delta": max(r["delta"] for r in subset),
            "spearman_garbage_vs_repaired_cer": spearman(
                [r["garbage_ratio"] for r in subset], [r["repaired_cer"] for r in subset]
            ),
            "spearman_garbage_vs_raw_cer": spearman(
                [r["garbage_ratio_raw"] for r in subset], [r["raw_cer"] for r in subset]
            ),
        }

    chars = sum(len(p.ocr) for p in pages)
    groups = sorted({r["page"].split("/")[-2] for r in rows})
    return {
        "all": summary(rows),
        "dev": summary(rows[0::2]),
        "held-out": summary(rows[1::2]),
        **{group: summary([r for r in rows if r["page"].split("/")[-2] == group]) for group in groups},
        "splits": ["all", "dev", "held-out", *groups],
        "chars_per_s": chars / repair_s if repair_s else float("inf"),
        "pages": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="write every page's numbers here")
    parser.add_argument("--worst", type=int, default=5, help="list the pages whose CER changed most")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no OCR data at {args.data}", file=sys.stderr)
        return 2
    result = score(load_pages(args.data))
    print("| pages | split | CER raw | CER repaired | pages better / worse | worst page delta | Spearman garbage~CER |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for split in result["splits"]:
        s = result[split]
        print(
            f"| {s['pages']} | {split} | {s['raw_cer']:.2%} | {s['repaired_cer']:.2%} | "
            f"{s['pages_better']} / {s['pages_worse']} | {s['worst_delta']:+.2%} | "
            f"{s['spearman_garbage_vs_repaired_cer']:.2f} (raw text: {s['spearman_garbage_vs_raw_cer']:.2f}) |"
        )
    print(f"repair throughput: {result['chars_per_s']:,.0f} input chars/s (one core, CPU time)")
    for row in sorted(result["pages"], key=lambda r: -r["delta"])[: args.worst]:
        print(f"  {row['page']}: {row['raw_cer']:.2%} -> {row['repaired_cer']:.2%} ({row['delta']:+.2%})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
