"""Decontamination: a planted eval passage is caught, unrelated and boilerplate-sharing documents are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steep.curate.config import DecontamConfig
from steep.curate.decontam import Decontaminator, eval_texts
from steep.curate.words import ngram_words
from steep.curate.document import Document, Drop

EVAL_PASSAGE = (
    "The Kestrel Fixed Term Bond pays 4.25% AER fixed for one year, and a withdrawal before maturity "
    "loses ninety days of interest on the amount taken out."
)
UNRELATED = (
    "A ferry leaves the harbour every ninety minutes, and the crossing is calm in summer. The market sells "
    "leather goods, cheese and fresh bread every Wednesday morning."
)
BOILERPLATE = "Thank you for contacting Kestrel Mutual support, we will reply to your message within two working days."


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def eval_files(tmp_path: Path) -> list[str]:
    sft = [
        {
            "messages": [
                {
                    "role": "system",
                    "content": "You are a helpful assistant for customers of this bank, be brief always.",
                },
                {"role": "user", "content": "What does the bond pay?"},
                {"role": "assistant", "content": EVAL_PASSAGE},
            ]
        },
        {"prompt": BOILERPLATE + " How do I close my account?", "answer": "Call us."},
    ]
    return [write_jsonl(tmp_path / "sft_heldout.jsonl", sft)]


def test_planted_eval_passage_is_caught_and_unrelated_doc_is_not(eval_files):
    block = Decontaminator(DecontamConfig(eval_files=eval_files))
    planted = Document(
        "t1", "Customer newsletter, May.\n" + EVAL_PASSAGE.upper().replace(",", " ;") + "\nSee you soon."
    )
    out = block.apply(planted)
    assert isinstance(out, Drop) and out.reason == "contaminated"
    assert "sft_heldout.jsonl:1" in out.detail and "kestrel fixed term bond pays" in out.detail
    assert block.apply(Document("t2", UNRELATED)).text == UNRELATED


def test_flag_action_keeps_the_document_with_meta(eval_files):
    block = Decontaminator(DecontamConfig(eval_files=eval_files, action="flag"))
    out = block.apply(Document("t1", EVAL_PASSAGE, {"source": "a:1"}))
    assert isinstance(out, Document) and out.meta["contaminated"] is True
    assert out.meta["contamination"]["eval_line"] == 1 and out.meta["source"] == "a:1"
    assert block.stats.counters["flagged"] == 1


def test_min_matches_and_system_prompt(eval_files):
    block = Decontaminator(DecontamConfig(eval_files=eval_files, min_matches=10))
    short_overlap = " ".join(ngram_words(EVAL_PASSAGE)[:14])  # 2 shared 13-grams < 10
    assert isinstance(block.apply(Document("t", short_overlap)), Document)
    system = Document("s", "You are a helpful assistant for customers of this bank, be brief always. Hello there.")
    assert isinstance(Decontaminator(DecontamConfig(eval_files=eval_files)).apply(system), Document)


def test_ngrams_common_in_training_corpus_are_ignored(eval_files):
    corpus = [f"Ticket {i}: {BOILERPLATE} The customer asked about item {i}." for i in range(5)]
    cfg = DecontamConfig(eval_files=eval_files, ignore_common=3)
    block = Decontaminator(cfg, corpus=lambda: corpus)
    assert isinstance(block.apply(Document("b", corpus[0])), Document)  # boilerplate, in 5 training docs
    assert block.apply(Document("p", EVAL_PASSAGE)).reason == "contaminated"  # type: ignore[union-attr]
    strict = Decontaminator(DecontamConfig(eval_files=eval_files, ignore_common=None), corpus=lambda: corpus)
    assert isinstance(strict.apply(Document("b", corpus[0])), Drop)


def test_eval_shapes_and_bad_rows(tmp_path: Path):
    row = {
        "messages": [{"role": "user", "content": "q"}],
        "user_turns": ["a", "b"],
        "chosen": [{"role": "assistant", "content": "c"}],
        "meta": {"text": "not read"},
    }
    assert eval_texts(row, DecontamConfig().fields) == ["c", "q", "a", "b"]
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": 1, "label": "no text here"}])
    with pytest.raises(ValueError, match=r"bad.jsonl:1: no eval text"):
        Decontaminator(DecontamConfig(eval_files=[bad]))
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        Decontaminator(DecontamConfig(eval_files=[str(tmp_path / "missing.jsonl")]))


def test_demo_heldout_shapes_load(demo_data_full):
    demo = demo_data_full
    files = [str(demo / f) for f in ("sft_heldout.jsonl", "dpo_heldout.jsonl", "rs_heldout.jsonl")]
    block = Decontaminator(DecontamConfig(eval_files=files))
    assert block.stats.counters["eval_ngrams"] > 1000


def test_in_chain_after_gates_before_pii(eval_files):
    from steep.curate.config import CurateConfig
    from steep.curate.stage import build_blocks

    assert "decontam" not in [b.name for b in build_blocks(CurateConfig(inputs=["x.jsonl"]))]
    names = [b.name for b in build_blocks(CurateConfig(inputs=["x.jsonl"], decontam={"eval_files": eval_files}))]
    assert names.index("time") < names.index("decontam") < names.index("pii")
