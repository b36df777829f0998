"""The demo's canaries: unique values planted in the lake, on the side of the data that curate must stop."""

from __future__ import annotations

import json
import re

import pytest

from steep.demo.domain import CANARIES_FILE, DOMAIN_FILES, generate_demo_domain


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    generate_demo_domain(out, seed=0, scale=0.15)
    read = lambda name: [json.loads(line) for line in (out / name).read_text(encoding="utf-8").splitlines()]  # noqa: E731
    return out, read(CANARIES_FILE), {row["id"]: row for row in read("lake.jsonl")}, {row["id"]: row for row in read("labels.jsonl")}


def test_every_kind_of_canary_is_planted_where_its_gate_must_stop_it(demo):
    _, canaries, lake, labels = demo
    assert {c["kind"] for c in canaries} == {"pii", "restricted", "post_cutoff"}
    assert len({c["id"] for c in canaries}) == len(canaries) and len({c["value"] for c in canaries}) == len(canaries)
    for canary in canaries:
        assert canary["doc_ids"] and canary["probes"], canary["id"]
        for doc_id in canary["doc_ids"]:
            assert canary["value"] in lake[doc_id]["text"]
            label = labels[doc_id]
            if canary["kind"] == "pii":  # an already labeled PII value: the redaction check has ground truth
                assert any(canary["value"] in item["value"] for item in label["pii"])
            else:
                assert label[canary["kind"]], (canary["id"], doc_id)
        if canary["type"] == "account":
            assert re.fullmatch(r"\d{10}", canary["value"])


def test_canary_values_appear_nowhere_but_the_lake(demo):
    out, canaries, lake, _ = demo
    for name in DOMAIN_FILES:
        if name in ("lake.jsonl", "labels.jsonl", CANARIES_FILE):
            continue
        text = (out / name).read_text(encoding="utf-8")
        assert not [c["id"] for c in canaries if c["value"] in text], name
    for canary in canaries:  # and in the lake only in the documents it names (an original and its copies)
        assert {i for i, row in lake.items() if canary["value"] in row["text"]} == set(canary["doc_ids"])
