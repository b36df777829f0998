"""Score a PII detector against labeled documents: recall and precision per type.

    from steep.curate.pii import find_pii
    from steep.curate.pii.score import load_rows, score_pii
    report = score_pii(load_rows("examples/demo/data/lake.jsonl"), load_rows("examples/demo/data/labels.jsonl"),
                       find_pii)
    report["email"]  # TypeScore(labeled=.., found=.., detected=.., correct=..): .recall, .precision

or `python -m steep.curate.pii.score LAKE LABELS [--engine steep|presidio] [--clean-text]`.

Measured (2026-11-28, demo lake seed 0; one core of a shared 2-core x86_64 box; `taskset -c 0`):
| engine                 | lake     | email | phone       | card | iban | ssn  | ip   | name_account | chars/s    |
| steep before (7 types) | scale 1  | 1/1   | 1.00/0.46   | 1/1  | 1/1  | 1/1  | 1/1  | 1.00/0.96    | ~1.5-1.8 M |
| steep before (7 types) | scale 5  | 1/1   | 1.00/0.43   | 1/1  | 1/1  | 1/1  | 1/1  | 1.00/0.98    |            |
| steep (all 10 types)   | 1 and 5  | 1/1   | 1/1         | 1/1  | 1/1  | 1/1  | 1/1  | 1/1          | ~1.9-2.1 M |
| presidio (+ ours)      | scale 1  | 1/1   | 0.60/0.12   | 1/1  | 1/1  | 1/1  | 1/1  | 1/1          | ~0.1-0.14 M|
| presidio (+ ours)      | scale 5  | 1/1   | 0.76/0.16   | 1/1  | 1/1  | 1/1  | 1/1  | 1/1          |            |
| presidio union (12-04) | scale 1  | 1/1   | 1/1         | 1/1  | 1/1  | 1/1  | 1/1  | 1/1          |            |
| presidio union (12-04) | scale 5  | 1/1   | 1.00/0.99   | 1/1  | 1/1  | 1/1  | 1/1  | 1/1          |            |
(recall/precision). The old phone precision: product codes (`code 767-433-7087`) read as US numbers. Presidio's
phones: `phonenumbers` reads policy, order and product ids (`POL-1042 ...`, `ORD-2024-...`) as numbers and misses
the +44 7700 900xxx drama range. Presidio's name/account/secret rows are steep's recognizers registered into it.
Since 2026-12-04 `engine: presidio` is the union of ours and Presidio's, its hits passing our id-word checks.

Labels are the demo domain's (`steep.demo.domain`): per document `pii: [{type, value}]`, the value as written.
How a hit counts (partial overlaps included):
- recall: a labeled value is *found* when every letter and digit of each of its occurrences in the text is
  covered by detected spans of its type (a redaction that leaves "...0143" of a card behind is a miss).
  A value that does not occur in the text (OCR damage broke it) is counted as `not_in_text`, not scored.
- precision: a detected span is *correct* when it overlaps an occurrence of a labeled value of its type in
  the same document. A partial overlap counts as correct here (it redacted labeled PII) and is caught by
  recall if it left part of the value behind.
- `name_account` labels ("Maria Lopez, account no. 4410023987") are matched by detected `account` or `name`
  spans; for recall the account number's digits must be covered (the name is scored as `name` only when that
  type is detected: its letters must be covered too).
- OCR damage: a value that does not occur literally (`zoerossi@examp1e.com`, `Torn Rossi`) is still PII; a
  detected span that overlaps no occurrence counts as correct when at least 75% of its characters appear, in
  order, in a labeled value of its type that is not in the text (difflib matching blocks).
- detected types with no label type at all (`secret`, `url_credentials`) count every span as incorrect:
  the demo lake has none, so anything found there is a false positive.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Detected type -> the label type it is scored against.
LABEL_TYPE = {"account": "name_account", "name": "name_account"}


@dataclass
class TypeScore:
    labeled: int = 0  # labeled values that occur in the text
    found: int = 0
    not_in_text: int = 0
    detected: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.labeled if self.labeled else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.detected if self.detected else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
        }


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _occurrences(text: str, value: str) -> list[tuple[int, int]]:
    out, i = [], text.find(value)
    while i >= 0:
        out.append((i, i + len(value)))
        i = text.find(value, i + 1)
    return out


def _covered(start: int, end: int, spans: Sequence[tuple[int, int]], text: str, chars: str) -> bool:
    """Every character of `text[start:end]` matching the `chars` class lies inside one of `spans`."""
    for m in re.finditer(chars, text[start:end]):
        pos = start + m.start()
        if not any(s <= pos < e for s, e in spans):
            return False
    return True


def _approximately_in(found: str, value: str) -> bool:
    matcher = difflib.SequenceMatcher(None, found, value, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) >= 0.75 * len(found)


def score_pii(
    lake_rows: Iterable[dict[str, Any]],
    label_rows: Iterable[dict[str, Any]],
    detect: Callable[[str], Sequence[Any]],
    use_clean_text: bool = False,
) -> dict[str, TypeScore]:
    """Per-type scores of `detect(text) -> [span with .type, .start, .end]` on the labeled lake.

    `use_clean_text`: score on the label's `clean_text` where it has one (what repair should produce) instead of
    the raw `text`.
    """
    labels = {row["id"]: row for row in label_rows}
    scores: dict[str, TypeScore] = {}
    for row in lake_rows:
        label = labels.get(row["id"], {})
        text = (label.get("clean_text") if use_clean_text else None) or row["text"]
        spans = list(detect(text))
        by_type: dict[str, list[tuple[int, int]]] = {}
        for span in spans:
            by_type.setdefault(LABEL_TYPE.get(span.type, span.type), []).append((span.start, span.end))
        name_spans = [(s.start, s.end) for s in spans if s.type == "name"]
        occurrences: dict[str, list[tuple[int, int]]] = {}
        damaged: dict[str, list[str]] = {}  # labeled values OCR damage broke: matched approximately
        for item in label.get("pii", []):
            kind, value = item["type"], item["value"]
            score = scores.setdefault(kind, TypeScore())
            where = _occurrences(text, value)
            if not where:
                score.not_in_text += 1
                damaged.setdefault(kind, []).append(value)
                continue
            score.labeled += 1
            occurrences.setdefault(kind, []).extend(where)
            hits = by_type.get(kind, [])
            found = all(_covered(s, e, hits, text, r"\d" if kind == "name_account" else r"[^\W_]") for s, e in where)
            if found and kind == "name_account" and name_spans:
                # The holder's name: the capitalised words before the first comma or parenthesis.
                name_end = re.search(r"[,(]", value)
                n = name_end.start() if name_end else len(value)
                found = all(_covered(s, s + n, name_spans, text, r"[^\W\d_]") for s, _ in where)
            score.found += found
        for span in spans:
            kind = LABEL_TYPE.get(span.type, span.type)
            score = scores.setdefault(kind, TypeScore())
            score.detected += 1
            score.correct += any(s < span.end and span.start < e for s, e in occurrences.get(kind, [])) or any(
                _approximately_in(span.text, value) for value in damaged.get(kind, [])
            )
    return dict(sorted(scores.items()))


def format_scores(scores: dict[str, TypeScore]) -> str:
    lines = [f"{'type':<14} {'recall':>7} {'precision':>9} {'labeled':>7} {'found':>6} {'detected':>8} {'correct':>7}"]
    for kind, s in scores.items():
        lines.append(
            f"{kind:<14} {s.recall:>7.4f} {s.precision:>9.4f} {s.labeled:>7} {s.found:>6} {s.detected:>8} {s.correct:>7}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lake")
    parser.add_argument("labels")
    parser.add_argument("--engine", choices=("steep", "presidio"), default="steep")
    parser.add_argument("--clean-text", action="store_true", help="score on clean_text where labeled")
    args = parser.parse_args(argv)
    from steep.curate.config import PiiConfig
    from steep.curate.pii.redact import build_engine

    detect = build_engine(PiiConfig(engine=args.engine)).find
    lake = load_rows(args.lake)
    started = time.perf_counter()
    scores = score_pii(lake, load_rows(args.labels), detect, use_clean_text=args.clean_text)
    seconds = time.perf_counter() - started
    chars = sum(len(r["text"]) for r in lake)
    print(format_scores(scores))
    print(f"{len(lake)} docs, {chars} chars, {seconds:.2f} s (scoring included), {chars / seconds:,.0f} chars/s")


if __name__ == "__main__":
    main()
