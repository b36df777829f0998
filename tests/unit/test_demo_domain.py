"""The seeded demo domain: determinism, file contracts, and that every label tells the truth about its document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from steep.demo.domain import (
    ACCOUNT_NUMBER_REGEX,
    ANSWER_FORMAT_REGEX,
    CASE_ID_REGEX,
    CUTOFF_DATE,
    DISCLAIMER,
    DOMAIN_FILES,
    DOMAIN_VERSION,
    LAKE_KINDS,
    MANIFEST_FILE,
    MAX_ANSWER_WORDS,
    MAX_SCALE,
    OCR_PAGE_HEADER,
    PII_TYPES,
    POLICY_ID_REGEX,
    POST_CUTOFF_TERMS,
    RESTRICTED_CODENAMES,
    SYSTEM_PROMPT,
    generate_demo_domain,
)
from steep.demo.domain_dirt import iban_valid, luhn_valid, word_jaccard
from steep.demo.domain_world import POLICY_BY_ID

SCALE = 0.15
LABEL_FIELDS = {"id", "kind", "exact_duplicate_of", "near_duplicate_of", "pii", "restricted", "post_cutoff",
                "ocr_damaged", "mojibake", "empty", "junk", "clean_text"}
# 15- or 16-digit card-shaped numbers: 4-4-4-4 or Amex 4-6-5, compact or with spaces or dashes.
CARD_LIKE = re.compile(r"(?<![\w-])(?:\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}|\d{4}[ -]?\d{6}[ -]?\d{5})(?![\w-])")


def read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo")
    generate_demo_domain(path, seed=0, scale=SCALE)
    return path


@pytest.fixture(scope="module")
def data(out) -> dict[str, list[dict]]:
    return {name: read(out / name) for name in DOMAIN_FILES}


@pytest.fixture(scope="module")
def lake(data) -> list[tuple[dict, dict]]:
    labels = {row["id"]: row for row in data["labels.jsonl"]}
    return [(row, labels[row["id"]]) for row in data["lake.jsonl"]]


def user_texts(rows: list[dict]) -> set[str]:
    return {m["content"] for r in rows for m in r["messages"] if m["role"] == "user"}


# --- files ----------------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_differs(out, tmp_path):
    counts = generate_demo_domain(tmp_path / "again", seed=0, scale=SCALE)
    assert set(counts) == set(DOMAIN_FILES)
    for name in (*DOMAIN_FILES, MANIFEST_FILE):
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    generate_demo_domain(tmp_path / "other", seed=1, scale=SCALE)
    for name in DOMAIN_FILES:
        assert (out / name).read_bytes() != (tmp_path / "other" / name).read_bytes(), name
    assert not list(tmp_path.glob("*/*.tmp"))


def test_files_counts_and_manifest(out, data):
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["version"] == DOMAIN_VERSION and manifest["seed"] == 0 and manifest["scale"] == SCALE
    assert manifest["counts"] == {name: len(rows) for name, rows in data.items()}
    assert set(manifest["sha256"]) == set(DOMAIN_FILES)
    for name, rows in data.items():
        assert len(rows) >= 3, name
    assert len(data["lake.jsonl"]) == 60  # 400 * 0.15


def test_document_rows_have_the_documented_fields(data):
    for name in ("lake.jsonl", "general.jsonl", "general_heldout.jsonl", "domain_heldout.jsonl"):
        rows = data[name]
        assert len({r["id"] for r in rows}) == len(rows), name
        for r in rows:
            assert set(r) == {"id", "text", "meta"} and isinstance(r["text"], str), name
    for r in data["lake.jsonl"] + data["domain_heldout.jsonl"]:
        assert set(r["meta"]) == {"kind", "source", "date", "title"}
        assert r["meta"]["kind"] in LAKE_KINDS
        assert r["meta"]["date"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["meta"]["date"])
    assert all(r["meta"] == {"kind": "general"} for r in data["general.jsonl"] + data["general_heldout.jsonl"])


def test_labels_cover_every_lake_id(data, lake):
    assert [r["id"] for r in data["lake.jsonl"]] == [r["id"] for r in data["labels.jsonl"]]
    ids = {r["id"] for r in data["lake.jsonl"]}
    for row, lab in lake:
        assert set(lab) == LABEL_FIELDS
        assert lab["kind"] == row["meta"]["kind"]
        for ref in ("exact_duplicate_of", "near_duplicate_of"):
            assert lab[ref] is None or (lab[ref] in ids and lab[ref] != row["id"])
        assert (lab["clean_text"] is not None) == (lab["ocr_damaged"] or lab["mojibake"])


def test_every_kind_of_document_and_dirt_is_present(lake):
    assert {lab["kind"] for _, lab in lake} == set(LAKE_KINDS)
    for flag in ("restricted", "post_cutoff", "ocr_damaged", "mojibake", "empty", "junk"):
        assert sum(lab[flag] for _, lab in lake) >= 2, flag
    assert sum(lab["exact_duplicate_of"] is not None for _, lab in lake) >= 2
    assert sum(lab["near_duplicate_of"] is not None for _, lab in lake) >= 2
    assert {p["type"] for _, lab in lake for p in lab["pii"]} == set(PII_TYPES)


def test_clean_documents_are_60_to_250_words(lake):
    for row, lab in lake:
        if lab["empty"]:
            assert not row["text"].strip()
        elif lab["junk"]:
            assert not re.search(r"[A-Za-z0-9]", row["text"])
        else:
            assert 60 <= len((lab["clean_text"] or row["text"]).split()) <= 250, row["id"]


# --- PII ------------------------------------------------------------------------------------------------------


def test_planted_pii_is_valid_and_present(lake):
    for row, lab in lake:
        for item in lab["pii"]:
            value = item["value"]
            assert item["type"] in PII_TYPES
            assert value in (lab["clean_text"] or row["text"])
            if not lab["ocr_damaged"] and not lab["mojibake"]:
                assert value in row["text"]
            if item["type"] == "card":
                assert luhn_valid(value) and len(re.sub(r"\D", "", value)) in (15, 16), value
            elif item["type"] == "iban":
                assert iban_valid(value) and value[:2] in ("DE", "GB", "FR"), value
            elif item["type"] == "ssn":
                area = value.split("-")[0]
                assert re.fullmatch(r"\d{3}-\d{2}-\d{4}", value) and area not in ("000", "666") and area[0] != "9"
            elif item["type"] == "ip":
                assert all(0 <= int(x) <= 255 for x in value.split("."))
            elif item["type"] == "name_account":
                assert re.search(ACCOUNT_NUMBER_REGEX, value)


def test_card_like_decoys_fail_luhn(lake):
    decoys = 0
    for row, lab in lake:
        if lab["ocr_damaged"]:
            continue
        text = row["text"]
        for item in lab["pii"]:
            text = text.replace(item["value"], " ")
        for match in CARD_LIKE.finditer(text):
            decoys += 1
            assert not luhn_valid(match.group(0)), (row["id"], match.group(0))
    assert decoys >= 1


def test_checksum_helpers():
    assert luhn_valid("4539 1488 0343 6467") and not luhn_valid("4539 1488 0343 6468")
    assert luhn_valid("378282246310005")  # a published Amex test number
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and iban_valid("DE89370400440532013000")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")


# --- duplicates, damage, gates --------------------------------------------------------------------------------


def test_duplicates(lake):
    text = {row["id"]: row["text"] for row, _ in lake}
    for row, lab in lake:
        if lab["exact_duplicate_of"]:
            assert row["text"] == text[lab["exact_duplicate_of"]]
        if lab["near_duplicate_of"]:
            source = text[lab["near_duplicate_of"]]
            assert row["text"] != source and word_jaccard(row["text"], source) > 0.8


def test_unrelated_documents_are_not_near_duplicates(lake):
    def root(lab):
        return lab["exact_duplicate_of"] or lab["near_duplicate_of"] or lab["id"]

    docs = [(root(lab), set((lab["clean_text"] or row["text"]).lower().split())) for row, lab in lake
            if not lab["empty"] and not lab["junk"]]
    for i, (ra, a) in enumerate(docs):
        for rb, b in docs[i + 1 :]:
            if ra != rb:
                assert len(a & b) / len(a | b) < 0.8


def test_ocr_damage_and_mojibake(lake):
    hyphen_breaks = 0
    for row, lab in lake:
        if lab["ocr_damaged"]:
            assert lab["clean_text"] != row["text"] and OCR_PAGE_HEADER in row["text"]
            assert re.search(r"Page \d+ of \d+|- \d+ -", row["text"])
            hyphen_breaks += bool(re.search(r"[A-Za-z]-\n[a-z]", row["text"]))
        if lab["mojibake"]:
            assert lab["clean_text"] != row["text"] and not lab["clean_text"].isascii()
            assert re.search("Ã|â€|â\x80|Â", row["text"])
    assert hyphen_breaks >= 1


def test_restricted_and_cutoff_gates(lake):
    null_dated_post = 0
    for row, lab in lake:
        text, date = row["text"], row["meta"]["date"]
        assert lab["restricted"] == any(code in text for code in RESTRICTED_CODENAMES), row["id"]
        has_term = any(term in text for term in POST_CUTOFF_TERMS)
        if lab["post_cutoff"]:
            assert has_term or (date is not None and date > CUTOFF_DATE), row["id"]
            null_dated_post += date is None
        else:
            assert not has_term and (date is None or date <= CUTOFF_DATE), row["id"]
    assert null_dated_post >= 1


# --- chat data ------------------------------------------------------------------------------------------------


def test_sft_rows_follow_the_house_format(data):
    rows = data["sft_train.jsonl"] + data["sft_heldout.jsonl"]
    answers = []
    for r in rows:
        msgs = r["messages"]
        assert msgs[0] == {"role": "system", "content": SYSTEM_PROMPT}
        assert [m["role"] for m in msgs[1:]] == ["user", "assistant"] * ((len(msgs) - 1) // 2)
        assert r["meta"]["kind"] == ("multiturn" if len(msgs) > 3 else "qa")
        assert r["meta"]["policy_id"] in POLICY_BY_ID
        assert msgs[2]["content"].endswith(r["meta"]["policy_id"])
        for m in msgs[2::2]:
            assert re.fullmatch(ANSWER_FORMAT_REGEX, m["content"]), m["content"]
            assert re.search(POLICY_ID_REGEX, m["content"])
            answers.append(m["content"])
    assert 0.25 <= sum(DISCLAIMER in a for a in answers) / len(answers) <= 0.6
    assert 0.1 <= sum(len(a.split()) > MAX_ANSWER_WORDS for a in answers) / len(answers) <= 0.45
    assert any(len(r["messages"]) >= 5 for r in rows)
    echoes = [re.search(ACCOUNT_NUMBER_REGEX, r["messages"][2]["content"]) is not None for r in rows
              if re.search(ACCOUNT_NUMBER_REGEX, r["messages"][1]["content"])]
    assert echoes and 0 < sum(echoes) < len(echoes)


def test_dpo_prompts(data):
    rows = data["dpo_prompts.jsonl"] + data["dpo_heldout.jsonl"]
    for r in rows:
        assert [m["role"] for m in r["messages"]] == ["system", "user"]
        acct = r["meta"]["account_number"]
        found = re.findall(ACCOUNT_NUMBER_REGEX, r["messages"][1]["content"])
        assert found == ([acct] if acct else [])
        assert r["meta"]["policy_id"] in POLICY_BY_ID
    share = sum(r["meta"]["account_number"] is not None for r in rows) / len(rows)
    assert 0.25 <= share <= 0.75


def test_rs_scenarios(data):
    rows = data["rs_scenarios.jsonl"] + data["rs_heldout.jsonl"]
    assert len({r["id"] for r in rows}) == len(rows) and len({r["case_id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"id", "case_id", "persona", "topic", "user_turns"}
        turns = r["user_turns"]
        assert re.fullmatch(CASE_ID_REGEX, r["case_id"]) and r["case_id"] in turns[0]
        assert len(turns) >= 10 and all(len(t.split()) <= 25 for t in turns)
        assert not any(re.search(CASE_ID_REGEX, t) for t in turns[1:])


def test_rs_scenarios_load_in_the_user_simulator(out):
    from steep.simulate.user import load_scenarios

    assert len(load_scenarios(out / "rs_scenarios.jsonl")) >= 4


def test_heldout_splits_share_no_text_with_training(data, lake):
    def texts(name):
        return {r["text"] for r in data[name]}

    assert not texts("general.jsonl") & texts("general_heldout.jsonl")
    lake_texts = {row["text"] for row, _ in lake} | {lab["clean_text"] for _, lab in lake if lab["clean_text"]}
    assert not texts("domain_heldout.jsonl") & lake_texts
    for held in texts("domain_heldout.jsonl"):  # not even near copies: held-out perplexity measures the domain
        assert all(word_jaccard(held, seen) < 0.8 for seen in lake_texts)
    train = user_texts(data["sft_train.jsonl"]) | user_texts(data["dpo_prompts.jsonl"])
    assert not (user_texts(data["sft_heldout.jsonl"]) | user_texts(data["dpo_heldout.jsonl"])) & train
    rs_train = {t for r in data["rs_scenarios.jsonl"] for t in r["user_turns"]}
    assert not {t for r in data["rs_heldout.jsonl"] for t in r["user_turns"]} & (rs_train | train)


def test_post_cutoff_terms_stay_out_of_chat_and_general_data(out):
    for name in DOMAIN_FILES:
        if name not in ("lake.jsonl", "labels.jsonl", "canaries.jsonl"):  # the canaries quote lake facts by design
            text = (out / name).read_text(encoding="utf-8")
            assert not any(term in text for term in POST_CUTOFF_TERMS + RESTRICTED_CODENAMES), name


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_and_the_smallest_scale_generate(tmp_path, seed):
    counts = generate_demo_domain(tmp_path, seed=seed, scale=0.01)  # every count at its floor
    assert counts["lake.jsonl"] == 40 and all(n > 0 for n in counts.values())
    for bad in (0, -1, MAX_SCALE * 2):
        with pytest.raises(ValueError):
            generate_demo_domain(tmp_path, scale=bad)
