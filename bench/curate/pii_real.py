"""PII recall and precision on data we did not write: the independent development set of `pii_devset.py`, per
split and type, for steep's engine, `engine: presidio` (Presidio's recognizers united with ours) and Presidio's
recognizers alone. The scorer is steep's own (`steep.curate.pii.score`).

    PYTHONPATH=src python bench/curate/pii_real.py [--split heldout] [--markdown]
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from steep.curate.pii.redact import SteepEngine
from steep.curate.pii.score import format_scores, load_rows, score_pii

DEVSET = Path(__file__).resolve().parents[2] / "tests" / "data" / "pii_devset"
TYPES = ("email", "phone", "card", "iban", "ssn", "ip")  # the structured types the set labels


def engines() -> dict[str, object]:
    out: dict[str, object] = {"steep": SteepEngine(TYPES)}
    if importlib.util.find_spec("presidio_analyzer") is not None:
        from steep.curate.pii.presidio_engine import PresidioEngine

        out["presidio (union with ours)"] = PresidioEngine(TYPES)
        out["presidio alone"] = PresidioEngine(TYPES, union=False)
    return out


def split_rows(split: str) -> tuple[list[dict], list[dict]]:
    lake, labels = load_rows(DEVSET / "lake.jsonl"), load_rows(DEVSET / "labels.jsonl")
    keep = {r["id"] for r in lake if split == "all" or r["meta"]["split"] == split}
    return [r for r in lake if r["id"] in keep], [r for r in labels if r["id"] in keep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="all")
    parser.add_argument("--markdown", action="store_true", help="one table row per engine (recall / precision)")
    args = parser.parse_args()
    lake, labels = split_rows(args.split)
    chars = sum(len(r["text"]) for r in lake)
    if args.markdown:
        print("| engine | split | " + " | ".join(f"{t} R / P" for t in TYPES) + " | chars/s |")
        print("| --- | --- | " + " | ".join("---:" for _ in TYPES) + " | ---: |")
    for name, engine in engines().items():
        started = time.process_time()
        scores = score_pii(lake, labels, engine.find)
        seconds = time.process_time() - started
        if args.markdown:
            cells = [f"{scores[t].recall:.3f} / {scores[t].precision:.3f}" if t in scores else "-" for t in TYPES]
            print(f"| {name} | {args.split} | " + " | ".join(cells) + f" | {chars / seconds:,.0f} |")
        else:
            print(f"## {name} ({args.split}: {len(lake)} rows, {chars} chars, {chars / seconds:,.0f} chars/s)")
            print(format_scores(scores))


if __name__ == "__main__":
    main()
