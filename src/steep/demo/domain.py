"""The seeded demo domain: Kestrel Mutual, a fictional bank and insurer, as the files a real project would hand
to steep. A raw document lake full of the dirt curation must remove (with ground-truth labels), general text to
measure forgetting, held-out domain text, SFT conversations, DPO prompts and multi-turn scenarios.

    python -m steep.demo.domain OUT_DIR [--seed 0] [--scale 1.0]

or `generate_demo_domain(Path("demo_data"), seed=0, scale=1.0)`. Same seed and scale, byte-identical files.
Pure standard library. At scale 1.0: 400 lake documents, 1,500 general paragraphs, 500 SFT conversations, about
1.9 MB in all, written in about half a second. Any scale in (0, MAX_SCALE] works; small scales still produce a
few of every kind of document, dirt and chat row (the tests use 0.15).

Files (JSONL, UTF-8, one object a line):
  lake.jsonl              {id, text, meta: {kind, source, date, title}}: kinds in LAKE_KINDS
  labels.jsonl            {id, kind, exact_duplicate_of, near_duplicate_of, pii: [{type, value}], restricted,
                           post_cutoff, ocr_damaged, mojibake, empty, junk, clean_text}; one row per lake id
  general.jsonl           {id, text, meta: {kind: "general"}}; general_heldout.jsonl the same, disjoint
  domain_heldout.jsonl    {id, text, meta}: clean domain documents that are not in the lake
  sft_train.jsonl         {messages, meta: {policy_id, kind: "qa"|"multiturn"}}; sft_heldout.jsonl the same
  dpo_prompts.jsonl       {messages: [system, user], meta: {policy_id, account_number, reference_answer}};
                          dpo_heldout.jsonl the same
  rs_scenarios.jsonl      {id, case_id, persona, topic, user_turns}; rs_heldout.jsonl the same
  canaries.jsonl          {id, kind: pii|restricted|post_cutoff, type, value, probes, doc_ids}: values that must
                          never reach a run's artifacts or a model's answers (`steep.demo.domain_canaries`,
                          checked by `eval.leaks`); on the raw input side, like the lake
  manifest.json           seed, scale, DOMAIN_VERSION, row counts and sha256 per file

Label conventions: a `name_account` PII value is the span from the holder's name to the end of the account
number as it appears (`Maria Lopez, account no. 4410023987`); other values are the literal string as written
(cards and IBANs may contain spaces or dashes). `clean_text` is set only for OCR-damaged and mojibake documents,
and PII values are found in it (in `text` too, unless OCR damage broke them). Duplicates point at the id of the
original they were copied from; duplicates of a document carry its PII, restricted and post-cutoff labels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from random import Random
from typing import Any

from steep.demo.domain_chat import dpo_rows, rs_rows, sft_rows
from steep.demo.domain_docs import CUTOFF, LAKE_START, clean_doc, random_date
from steep.demo.domain_general import general_chats, general_rows
from steep.demo.domain_lake import KIND_SHARES, MAX_UNRELATED_JACCARD, build_lake_with_canaries
from steep.demo.domain_spec import (  # noqa: F401  (the public contract, re-exported)
    ACCOUNT_NUMBER_REGEX,
    ANSWER_FORMAT_REGEX,
    CANARIES_FILE,
    CASE_ID_REGEX,
    COMPANY,
    CUTOFF_DATE,
    DISCLAIMER,
    DOMAIN_FILES,
    DOMAIN_HELDOUT_FILE,
    DOMAIN_VERSION,
    DPO_HELDOUT_FILE,
    DPO_PROMPTS_FILE,
    GENERAL_CHAT_FILE,
    GENERAL_FILE,
    GENERAL_HELDOUT_FILE,
    LABELS_FILE,
    LAKE_FILE,
    LAKE_KINDS,
    MANIFEST_FILE,
    MAX_ANSWER_WORDS,
    OCR_PAGE_HEADER,
    PII_TYPES,
    POLICY_ID_REGEX,
    POST_CUTOFF_TERMS,
    RESTRICTED_CODENAMES,
    RS_HELDOUT_FILE,
    RS_SCENARIOS_FILE,
    SFT_HELDOUT_FILE,
    SFT_TRAIN_FILE,
    SYSTEM_PROMPT,
)

# Above this the template pools run out of distinct prompts and documents (generation would raise).
MAX_SCALE = 5.0
# Rows per file at scale 1.0, and the least any scale produces.
SIZES: dict[str, tuple[int, int]] = {
    GENERAL_FILE: (1500, 40),
    GENERAL_HELDOUT_FILE: (60, 8),
    GENERAL_CHAT_FILE: (600, 40),
    DOMAIN_HELDOUT_FILE: (60, 10),
    SFT_TRAIN_FILE: (500, 30),
    SFT_HELDOUT_FILE: (50, 8),
    DPO_PROMPTS_FILE: (200, 16),
    DPO_HELDOUT_FILE: (50, 8),
    RS_SCENARIOS_FILE: (40, 4),
    RS_HELDOUT_FILE: (12, 3),
}


def _n(name: str, scale: float) -> int:
    full, least = SIZES[name]
    return max(least, round(full * scale))


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically (a temp file, then rename); return how many."""
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def write_manifest(out_dir: Path, seed: int, scale: float, counts: dict[str, int]) -> Path:
    """`manifest.json`: what made these files (seed, scale, generator version) and their row counts and hashes.
    No timestamps, so the same seed gives a byte-identical manifest too."""
    out_dir = Path(out_dir)
    hashes = {name: hashlib.sha256((out_dir / name).read_bytes()).hexdigest() for name in counts}
    manifest = {"generator": "steep.demo.domain", "version": DOMAIN_VERSION, "seed": seed, "scale": scale,
                "counts": dict(counts), "sha256": hashes}
    path = out_dir / MANIFEST_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _domain_heldout(seed: int, n: int, lake: list[dict], labels: list[dict]) -> list[dict[str, Any]]:
    """Clean documents from the lake's generators, no dirt, and no closer to any lake document (or to each other)
    than two unrelated lake documents are: held-out perplexity measures the domain, not memorised copies."""
    rng = Random(f"{seed}:domain_heldout")
    kinds, weights = list(KIND_SHARES), list(KIND_SHARES.values())
    seen: dict[str, list[set[str]]] = {k: [] for k in kinds}
    for row, lab in zip(lake, labels):
        seen[row["meta"]["kind"]].append(set((lab["clean_text"] or row["text"]).lower().split()))
    rows: list[dict[str, Any]] = []
    for _ in range(100 * n):
        if len(rows) == n:
            break
        kind = rng.choices(kinds, weights)[0]
        draft = clean_doc(rng, seed, kind, random_date(rng, LAKE_START, CUTOFF))
        text = draft.text(fancy=rng.random() < 0.35)
        words = set(text.lower().split())
        if any(len(words & w) > MAX_UNRELATED_JACCARD * len(words | w) for w in seen[kind]):
            continue
        seen[kind].append(words)
        rows.append({"id": f"dh-{len(rows) + 1:04d}", "text": text,
                     "meta": {"kind": kind, "source": draft.source, "date": draft.date, "title": draft.title}})
    if len(rows) < n:
        raise RuntimeError("demo domain: could not draw enough held-out documents unlike the lake")
    return rows


def _general(seed: int, scale: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng, used = Random(f"{seed}:general"), set()
    train = general_rows(rng, _n(GENERAL_FILE, scale), used)
    held = general_rows(rng, _n(GENERAL_HELDOUT_FILE, scale), used)

    def rows(texts: list[str], prefix: str) -> list[dict[str, Any]]:
        return [{"id": f"{prefix}-{i + 1:05d}", "text": t, "meta": {"kind": "general"}} for i, t in enumerate(texts)]

    return rows(train, "gen"), rows(held, "gen-heldout")


def generate_demo_domain(out_dir: Path, seed: int = 0, scale: float = 1.0) -> dict[str, int]:
    """Write the demo domain's files into out_dir (created if missing); return {file_name: row_count}."""
    if not 0 < scale <= MAX_SCALE:
        raise ValueError(f"scale must be in (0, {MAX_SCALE}], got {scale!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lake, labels, canaries = build_lake_with_canaries(seed, scale)
    general, general_held = _general(seed, scale)
    # One set of user texts across every chat file: no held-out prompt or turn appears in a training file.
    used: set[str] = set()
    cases: set[str] = set()
    files = {
        LAKE_FILE: lake,
        LABELS_FILE: labels,
        GENERAL_FILE: general,
        GENERAL_HELDOUT_FILE: general_held,
        GENERAL_CHAT_FILE: general_chats(Random(f"{seed}:general_chat"), _n(GENERAL_CHAT_FILE, scale)),
        DOMAIN_HELDOUT_FILE: _domain_heldout(seed, _n(DOMAIN_HELDOUT_FILE, scale), lake, labels),
        SFT_TRAIN_FILE: sft_rows(Random(f"{seed}:sft"), _n(SFT_TRAIN_FILE, scale), used),
        SFT_HELDOUT_FILE: sft_rows(Random(f"{seed}:sft_heldout"), _n(SFT_HELDOUT_FILE, scale), used),
        DPO_PROMPTS_FILE: dpo_rows(Random(f"{seed}:dpo"), _n(DPO_PROMPTS_FILE, scale), used),
        DPO_HELDOUT_FILE: dpo_rows(Random(f"{seed}:dpo_heldout"), _n(DPO_HELDOUT_FILE, scale), used),
        RS_SCENARIOS_FILE: rs_rows(Random(f"{seed}:rs"), _n(RS_SCENARIOS_FILE, scale), used, cases, "rs"),
        RS_HELDOUT_FILE: rs_rows(Random(f"{seed}:rs_heldout"), _n(RS_HELDOUT_FILE, scale), used, cases, "rs-heldout"),
        CANARIES_FILE: canaries,
    }
    assert tuple(files) == DOMAIN_FILES
    counts = {name: write_jsonl(out_dir / name, rows) for name, rows in files.items()}
    write_manifest(out_dir, seed, scale, counts)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts = generate_demo_domain(args.out_dir, args.seed, args.scale)
    size = sum((args.out_dir / name).stat().st_size for name in counts)
    for name, n in counts.items():
        print(f"{name:24s} {n:6d} rows")
    print(f"{size / 1e6:.2f} MB in {time.perf_counter() - start:.2f} s -> {args.out_dir}")


if __name__ == "__main__":
    main()
