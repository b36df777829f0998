"""Compliance and time gates, and their configs' validation."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from steep.curate.config import ComplianceConfig, CurateConfig, TimeGateConfig
from steep.curate.document import Document, Drop
from steep.curate.gates import ComplianceGate, TimeGate, latest_day


def test_codename_blocked_case_insensitively_as_whole_phrase():
    gate = ComplianceGate(ComplianceConfig(terms=["Project Falcon"]))
    out = gate.apply(Document("1", "Roadmap: PROJECT\n  falcon ships in Q3."))
    assert isinstance(out, Drop)
    assert out.reason == "compliance:Project Falcon"
    assert "PROJECT" in out.detail
    assert gate.apply(Document("2", "Project Falconry is a hobby.")).text  # not a whole-phrase match


def test_compliance_pattern():
    gate = ComplianceGate(ComplianceConfig(patterns=[r"(?i)\binternal[- ]only\b"]))
    out = gate.apply(Document("1", "This memo is INTERNAL-ONLY."))
    assert isinstance(out, Drop) and out.reason == r"compliance:/(?i)\binternal[- ]only\b/"
    assert isinstance(gate.apply(Document("2", "Public memo.")), Document)


def test_gate_block_reports_drops():
    seen = []
    gate = ComplianceGate(ComplianceConfig(terms=["falcon"]), on_drop=seen.append)
    kept = list(gate.run([Document("1", "falcon"), Document("2", "eagle")]))
    assert [d.id for d in kept] == ["2"]
    assert [(d.doc.id, d.reason, d.block) for d in seen] == [("1", "compliance:falcon", "compliance")]
    assert gate.stats.as_dict()["dropped"] == {"compliance:falcon": 1}


def test_invalid_regex_fails_at_load_naming_the_pattern():
    with pytest.raises(ValidationError) as err:
        CurateConfig.model_validate({"inputs": ["a.jsonl"], "compliance": {"patterns": ["ok", "(unclosed"]}})
    message = str(err.value)
    assert "compliance.patterns.1" in message
    assert "invalid regex '(unclosed'" in message


def test_empty_term_and_unknown_key_are_rejected():
    with pytest.raises(ValidationError, match="empty term"):
        ComplianceConfig(terms=["  "])
    with pytest.raises(ValidationError, match=r"cutof\n.*Extra inputs are not permitted"):
        CurateConfig.model_validate({"inputs": ["a.jsonl"], "time": {"cutof": "2024-01-01"}})


def test_time_gate_by_date():
    gate = TimeGate(TimeGateConfig(cutoff=date(2024, 6, 30)))
    assert isinstance(gate.apply(Document("1", "x", {"date": "2024-06-30"})), Document)
    late = gate.apply(Document("2", "x", {"date": "2024-07-01T09:00:00Z"}))
    assert isinstance(late, Drop) and late.reason == "time:date>cutoff"
    year_only = gate.apply(Document("3", "x", {"date": 2024}))  # a partial date counts as its last day
    assert isinstance(year_only, Drop) and "2024-12-31" in year_only.detail
    assert isinstance(gate.apply(Document("4", "x", {})), Document)  # undated: kept by default


def test_time_gate_undated_drop():
    gate = TimeGate(TimeGateConfig(cutoff=date(2024, 6, 30), undated="drop"))
    for meta in ({}, {"date": "last tuesday"}):
        out = gate.apply(Document("1", "x", meta))
        assert isinstance(out, Drop) and out.reason == "time:undated"


def test_time_gate_by_term():
    gate = TimeGate(TimeGateConfig(terms=["Falcon 2", "Falcon"]))
    out = gate.apply(Document("1", "The falcon  2 launch went well."))
    assert isinstance(out, Drop) and out.reason == "time:term:Falcon 2"


def test_latest_day():
    assert latest_day("2024-02") == date(2024, 2, 29)
    assert latest_day("2024-05-01 10:00:00 UTC") == date(2024, 5, 1)
    with pytest.raises(ValueError):
        latest_day("soon")
