"""Checks of the benchmark's own scoring and data, so a wrong number cannot come from the harness itself.

python -m pytest -q bench/curate    # the project venv is enough: no datatrove needed here
"""

from __future__ import annotations

import sys
from pathlib import Path
from random import Random

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lake as lake_module  # noqa: E402
from chains import outcome  # noqa: E402
from lake import Lake, NearDupCorpus, _replace_words, build_lake, hard_near_duplicates  # noqa: E402
from neardup import pairs_of, score  # noqa: E402
from pii_detect import tally  # noqa: E402


@pytest.fixture(scope="module")
def stitched(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    # Two parts of scale 0.15 (the smallest the demo tests use) instead of five of scale 5: the same stitching.
    saved, lake_module.MAX_SCALE = lake_module.MAX_SCALE, 0.15
    try:
        return build_lake(tmp_path_factory.mktemp("lake"), scale=0.3)
    finally:
        lake_module.MAX_SCALE = saved


def test_stitched_lake_prefixes_ids_and_references(stitched: Lake) -> None:
    assert stitched.parts == 2
    ids = [row["id"] for row in stitched.rows]
    assert len(set(ids)) == len(ids) and {i.split("-", 1)[0] for i in ids} == {"s0", "s1"}
    assert ids == list(stitched.labels)
    for doc_id, lab in stitched.labels.items():
        for ref in ("exact_duplicate_of", "near_duplicate_of"):
            if lab[ref] is not None and not lab.get("cross_part_copy"):
                assert lab[ref] in stitched.labels and lab[ref].split("-")[0] == doc_id.split("-")[0]
    assert stitched.path.read_text(encoding="utf-8").count("\n") == len(ids)


def test_near_dup_roots_group_copies_with_their_original(stitched: Lake) -> None:
    roots = stitched.near_dup_clusters()
    copies = [i for i, lab in stitched.labels.items() if lab["near_duplicate_of"]]
    assert copies
    for i in copies:
        assert roots[i] == roots[stitched.labels[i]["near_duplicate_of"]]


def test_replace_words_changes_the_asked_share_and_keeps_layout() -> None:
    text = "\n".join(" ".join(f"w{line}x{k}" for k in range(20)) for line in range(10))  # 200 distinct words
    copy = _replace_words(text, Random(0), ["alpha", "beta", "gamma"], share=0.05)
    changed = sum(a != b for a, b in zip(text.split(), copy.split(), strict=True))
    assert changed == 10  # round(0.05 * 200)
    assert copy.count("\n") == text.count("\n")


def test_hard_corpus_puts_each_copy_after_its_original(stitched: Lake) -> None:
    corpus = hard_near_duplicates(stitched, n_docs=50, seed=1)
    position = {doc_id: k for k, (doc_id, _) in enumerate(corpus.docs)}
    copies = [i for i, root in corpus.root.items() if i != root]
    assert len(copies) == 10 and len(corpus.docs) == 50
    assert all(position[corpus.root[c]] < position[c] for c in copies)
    with pytest.raises(ValueError, match="originals"):
        hard_near_duplicates(stitched, n_docs=10_000)


def test_pair_scoring_counts_wrong_and_cross_part_pairs() -> None:
    corpus = NearDupCorpus(
        docs=[(i, "") for i in ("s0-a", "s0-b", "s0-c", "s1-d", "s1-e")],
        root={"s0-a": "s0-a", "s0-b": "s0-a", "s0-c": "s0-c", "s1-d": "s1-d", "s1-e": "s1-d"},
    )
    assert pairs_of(corpus.root) == {("s0-a", "s0-b"), ("s1-d", "s1-e")}
    # Finds a-b, misses d-e, and wrongly joins c with d (two parts).
    predicted = {"s0-a": "x", "s0-b": "x", "s0-c": "y", "s1-d": "y", "s1-e": "s1-e"}
    result = score("t", corpus, predicted, cpu_s=1.0, wall_s=1.0, signature_cpu_s=None)
    assert (result.precision, result.recall) == (0.5, 0.5)
    assert (result.wrong_pairs, result.wrong_pairs_across_parts) == (1, 1)


def test_pii_tally_matches_by_type_and_overlap() -> None:
    gold = [[(0, 10, "email"), (20, 30, "phone"), (40, 50, "account")]]
    predicted = [[(2, 8, "email"), (20, 30, "card"), (60, 70, "phone")]]
    counts = tally(predicted, gold, types=("email", "phone", "card"))
    assert counts["email"] == [1, 0, 0]
    assert counts["card"] == [0, 1, 0]  # right place, wrong type
    assert counts["phone"] == [0, 1, 1]  # one invented, one missed
    assert "account" not in counts  # the detector has no such type: not counted as missed


def test_outcome_counts_kept_characters_and_leaked_values(stitched: Lake) -> None:
    pii_id = next(i for i, lab in stitched.labels.items() if lab["pii"])
    value = stitched.labels[pii_id]["pii"][0]["value"]
    kept = {pii_id: f"kept {value} here"}
    result = outcome(stitched, kept, {pii_id})
    assert (result.docs, result.kept_docs, result.kept_chars, result.pii_values_left) == (1, 1, len(kept[pii_id]), 1)
    assert outcome(stitched, {}, {pii_id}).kept_docs == 0


def test_ocr_real_parses_aligned_pages_and_cuts_spans_without_gold():
    from ocr_real import comparable, parse_page, spearman

    ocr = "OF FRYER. 221 tbe kingwas glad"
    aligned = "OF FRYER. 221 tbe king@was glad"
    gold = "##############the king was glad"
    page = parse_page("p.txt", f"[OCR_toInput] {ocr}\n[OCR_aligned] {aligned}\n[ GS_aligned] {gold}\n")
    assert page.ocr == "tbe kingwas glad" and page.gold == "the king was glad"
    assert comparable("  ﬁrst   line\n") == "first line"
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(0.866, abs=1e-3)  # ties share their mean rank


def test_ocr_real_on_the_shared_pages_when_present():
    from ocr_real import DEFAULT_DATA, load_pages

    if not DEFAULT_DATA.is_dir():
        pytest.skip(f"no ICDAR 2017 pages at {DEFAULT_DATA} (../shared/data/ocr-dev from the repo root)")
    pages = load_pages(DEFAULT_DATA)
    assert len(pages) == 89 and all(p.chunks for p in pages)
