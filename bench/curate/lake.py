"""The benchmark's data: the labeled demo lake at any scale, and a synthetic corpus of "hard" near duplicates.

    lake = build_lake(Path("/tmp/bench/lake"), scale=25)      # lake.jsonl + labels.jsonl, ~10,000 documents
    corpus = hard_near_duplicates(lake, n_docs=1000, seed=0)  # ~5% of words replaced at scattered positions

`steep.demo.domain.generate_demo_domain` stops at scale 5 (2,000 documents: its template pools run out above
that), so a larger scale is stitched from ceil(scale / 5) lakes drawn with seeds 0, 1, ... at scale / parts
each, their ids prefixed `s<seed>-`. Duplicate labels point inside one part; a pair of documents from two parts
that is identical is labeled here as an exact copy of the first (`cross_part_exact` counts them: 12 at scale 6);
one that is only near-identical stays unlabeled and counts against a dedup's precision.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from steep.demo.domain import MAX_SCALE, generate_demo_domain


@dataclass
class Lake:
    """The stitched lake on disk, with its rows and labels in memory (same order, same ids)."""

    path: Path  # lake.jsonl
    rows: list[dict[str, Any]]
    labels: dict[str, dict[str, Any]]
    parts: int
    canonical: dict[str, str]  # id -> id of the first document with the same text
    cross_part_exact: int = 0

    @property
    def pii_docs(self) -> set[str]:
        return {i for i, lab in self.labels.items() if lab["pii"]}

    @property
    def damaged_docs(self) -> set[str]:
        """OCR-damaged and mojibake documents: the ones whose label carries the undamaged `clean_text`."""
        return {i for i, lab in self.labels.items() if lab["clean_text"] is not None}

    def near_dup_clusters(self, ids: set[str] | None = None) -> dict[str, str]:
        """{id: root id} for the labeled near-duplicate relation (a copy points at its original; drafts of one
        original share its root). Restricted to `ids` when given."""
        root = {i: self.canonical[lab["near_duplicate_of"] or i] for i, lab in self.labels.items()}
        return {i: r for i, r in root.items() if ids is None or i in ids}


def build_lake(out_dir: Path, scale: float, seed: int = 0) -> Lake:
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = max(1, math.ceil(scale / MAX_SCALE))
    rows: list[dict[str, Any]] = []
    labels: dict[str, dict[str, Any]] = {}
    for part in range(parts):
        part_dir = out_dir / f"part-{part}"
        if not (part_dir / "labels.jsonl").exists():
            generate_demo_domain(part_dir, seed=seed + part, scale=scale / parts)
        prefix = f"s{seed + part}-" if parts > 1 else ""
        for row in _read_jsonl(part_dir / "lake.jsonl"):
            rows.append({**row, "id": prefix + row["id"]})
        for lab in _read_jsonl(part_dir / "labels.jsonl"):
            for ref in ("exact_duplicate_of", "near_duplicate_of"):
                if lab[ref] is not None:
                    lab[ref] = prefix + lab[ref]
            labels[prefix + lab["id"]] = lab
    path = out_dir / "lake.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    # Parts share the generator's template pools, so two parts can hold the same document. Label a later one that
    # is not already a labeled copy an exact copy of the first (in stream order), as the generator labels copies
    # inside a part. `canonical` maps every document to the first with its text, so near-dup roots agree too.
    first_with_text: dict[str, str] = {}
    canonical: dict[str, str] = {}
    cross = 0
    for row in rows:
        first = canonical[row["id"]] = first_with_text.setdefault(row["text"], row["id"])
        lab = labels[row["id"]]
        other_part = first.split("-", 1)[0] != row["id"].split("-", 1)[0]
        if other_part and lab["exact_duplicate_of"] is None and row["text"].strip():
            lab["exact_duplicate_of"], lab["cross_part_copy"] = first, True
            cross += 1
    return Lake(path, rows, labels, parts, canonical, cross)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ------------------------------------------------------------------------------------ hard near duplicates


@dataclass
class NearDupCorpus:
    """Documents in stream order and the truth as {id: root id}; a copy's root is its original."""

    docs: list[tuple[str, str]]  # (id, text)
    root: dict[str, str] = field(default_factory=dict)
    change_share: float = 0.05


_WORD = re.compile(r"[A-Za-z]{3,}")


def distinct_originals(lake: Lake) -> list[tuple[str, str]]:
    """(id, text) of lake documents with no duplicate label in either direction, not damaged and not filler."""
    involved = {lab[r] for lab in lake.labels.values() for r in ("exact_duplicate_of", "near_duplicate_of")}
    return [
        (row["id"], row["text"])
        for row in lake.rows
        if row["id"] not in involved
        and not any(lake.labels[row["id"]][k] for k in ("exact_duplicate_of", "near_duplicate_of", "clean_text"))
        and not (lake.labels[row["id"]]["empty"] or lake.labels[row["id"]]["junk"])
    ]


def hard_near_duplicates(
    lake: Lake, n_docs: int, seed: int = 0, copy_share: float = 0.2, change_share: float = 0.05
) -> NearDupCorpus:
    """`n_docs` documents: distinct lake originals plus copies with `change_share` of their words replaced at
    scattered positions by other words of the corpus (the case 5-gram MinHash at 0.8 misses).

    Originals come from `distinct_originals`, so the only labeled near duplicates are the ones made here (up to
    unlabeled look-alikes across the parts of a stitched lake). Copies follow their originals at random later
    positions.
    """
    rng = Random(f"{seed}:hard-near-dups")
    originals = distinct_originals(lake)
    n_copies = round(n_docs * copy_share)
    n_orig = n_docs - n_copies
    if n_orig > len(originals):
        raise ValueError(
            f"hard near-dups: {n_docs} documents need {n_orig} originals, the lake has "
            f"{len(originals)}; use a larger --scale or a smaller --neardup-docs"
        )
    chosen = rng.sample(originals, n_orig)
    vocabulary = sorted({w for _, text in chosen for w in _WORD.findall(text)})
    # Sort keys: original k at k, a copy of it at a random point after it, so every copy follows its original.
    keyed = [(float(k), i, text) for k, (i, text) in enumerate(chosen)]
    root = {i: i for i, _ in chosen}
    for k, pos in enumerate(rng.sample(range(n_orig), n_copies)):
        orig_id, text = chosen[pos]
        copy_id = f"hard-{k:05d}"
        keyed.append((rng.uniform(pos + 0.5, n_orig), copy_id, _replace_words(text, rng, vocabulary, change_share)))
        root[copy_id] = orig_id
    docs = [(i, text) for _, i, text in sorted(keyed)]
    return NearDupCorpus(docs, root, change_share)


def _replace_words(text: str, rng: Random, vocabulary: list[str], share: float) -> str:
    """Replace round(share * words) whitespace-separated words, at positions drawn uniformly, by other words."""
    tokens = re.split(r"(\s+)", text)  # keep the whitespace, so lines and paragraphs survive
    positions = [i for i, t in enumerate(tokens) if t and not t.isspace()]
    for i in rng.sample(positions, max(1, round(share * len(positions)))):
        word = rng.choice(vocabulary)
        while word == tokens[i]:
            word = rng.choice(vocabulary)
        tokens[i] = word
    return "".join(tokens)
