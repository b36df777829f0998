"""`pii.custom`: the operator's own PII types, redacted like the built-ins and scored by the same scorer."""

from __future__ import annotations

import importlib.util

import pytest
from pydantic import ValidationError

from steep.curate.config import CurateConfig, PiiConfig
from steep.curate.document import Document
from steep.curate.pii import PiiRedactor
from steep.curate.pii.redact import build_engine
from steep.curate.pii.score import score_pii

MRN = {"name": "mrn", "pattern": r"MRN-\d{7}", "context": ["patient", "medical record", "mrn"], "placeholder": "<MRN>"}


def test_custom_type_is_redacted_and_beats_the_account_reading():
    # The account recognizer also reads "account MRN-1234567" as an account number: the declared type wins.
    block = PiiRedactor(PiiConfig(custom=[MRN]))
    out = list(block.run([Document("a", "Patient account MRN-1234567 seen by Dr Lee.")]))
    assert out[0].text == "Patient account <MRN> seen by Dr Lee."
    assert out[0].meta["pii_redacted"] == {"mrn": 1}


def test_context_words_are_required_when_given():
    engine = build_engine(PiiConfig(custom=[MRN], types=["email"]))
    assert [s.type for s in engine.find("Medical record: MRN-1234567")] == ["mrn"]
    assert engine.find("Shipment code MRN-1234567 left the depot.") == []
    assert [s.type for s in build_engine(PiiConfig(custom=[{**MRN, "context": []}])).find("x MRN-1234567")] == ["mrn"]


def test_validator_checksum_and_digits():
    spec = {"name": "member", "pattern": r"\bM\d{8}\b", "validator": {"checksum": "luhn", "digits": [8, 8]}}
    engine = build_engine(PiiConfig(custom=[spec], types=["email"]))
    assert [s.text for s in engine.find("member M79927398 and M79927399")] == ["M79927398"]  # Luhn-valid first


def test_pseudonym_style_gives_a_consistent_tag():
    block = PiiRedactor(PiiConfig(custom=[MRN], style="pseudonym"))
    once = block.redact("patient MRN-1234567, again patient MRN-1234567")
    first, second = once.removeprefix("patient ").split(", again patient ")
    assert first == second and first.startswith("<MRN:") and "1234567" not in once


def test_custom_type_is_scored_by_the_scorer():
    engine = build_engine(PiiConfig(custom=[MRN]))
    lake = [{"id": "a", "text": "Patient MRN-1234567 discharged."}, {"id": "b", "text": "Ticket MRN-7654321."}]
    labels = [{"id": "a", "pii": [{"type": "mrn", "value": "MRN-1234567"}]}, {"id": "b", "pii": []}]
    score = score_pii(lake, labels, engine.find)["mrn"]
    assert (score.recall, score.precision) == (1.0, 1.0)


@pytest.mark.skipif(importlib.util.find_spec("presidio_analyzer") is None, reason="presidio not installed")
def test_custom_type_with_the_presidio_engine():
    block = PiiRedactor(PiiConfig(engine="presidio", custom=[MRN]))
    assert block.redact("Patient MRN-1234567, mail a@corp.com") == "Patient <MRN>, mail <EMAIL>"


@pytest.mark.parametrize(
    "custom, message",
    [
        ([{**MRN, "pattern": "MRN-(\\d"}], r"pii\.custom\.0\.pattern"),
        ([{**MRN, "name": "phone"}], "built-in PII type"),
        ([{**MRN, "name": "My MRN"}], "lowercase identifier"),
        ([MRN, MRN], "duplicate custom PII type names: mrn"),
        ([{**MRN, "pattern": "\\d*"}], "matches the empty string"),
        ([{**MRN, "validator": {"digits": [8, 7]}}], "min <= max"),
        ([{**MRN, "colour": "red"}], "colour"),
    ],
)
def test_bad_custom_config_names_the_path(custom, message):
    with pytest.raises(ValidationError, match=message) as err:
        CurateConfig(inputs=["x.jsonl"], pii={"custom": custom})
    assert "pii.custom" in str(err.value)


def test_the_readme_example_validates_and_redacts():
    import yaml

    section = yaml.safe_load(
        "pii: {custom: [{name: mrn, pattern: 'MRN-\\d{7}', context: [patient], validator: {digits: [7, 7]}, "
        "placeholder: '<MRN>'}]}"
    )
    cfg = CurateConfig(inputs=["x.jsonl"], **section)
    assert PiiRedactor(cfg.pii).redact("Patient MRN-1234567 discharged") == "Patient <MRN> discharged"


def test_curate_stage_counts_custom_types(tmp_path):
    import json

    from steep.curate.stage import run_curate

    src = tmp_path / "docs.jsonl"
    text = "Patient record MRN-1234567 was updated after the visit; the ward confirmed the discharge plan today."
    src.write_text(json.dumps({"id": "a", "text": text}) + "\n")
    cfg = CurateConfig(inputs=[str(src)], quality={"min_words": 1}, pii={"custom": [MRN]})
    metrics = run_curate(cfg, tmp_path / "out")
    assert metrics["pii_redacted"]["mrn"] == 1
    part = tmp_path / "out" / "documents" / "part-00000.jsonl"
    rows = [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines()]
    assert "<MRN>" in rows[0]["text"] and rows[0]["meta"]["pii_redacted"] == {"mrn": 1}
