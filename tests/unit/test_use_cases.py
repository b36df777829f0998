"""eval's metrics per use case: which use case a held-out prompt belongs to, the numbers over its prompts, and the
report's table of them."""

from __future__ import annotations

import json

import pytest

from steep.report.build import write_report
from steep.synth.config import UseCase
from steep.tasks.use_cases import UseCaseMatcher, by_use_case
from tests.report_run import write_run

CLAIMS = UseCase(name="claims", matches=r"(?i)\bclaims?\b")
BANKING = UseCase(name="banking")  # no regex: what no other use case claims


def user(text: str) -> list[dict]:
    return [{"role": "system", "content": "claims desk"}, {"role": "user", "content": text}]


def test_meta_wins_then_the_first_matching_regex_then_the_catch_all():
    matcher = UseCaseMatcher([CLAIMS, BANKING])
    assert matcher.of(user("How do I make a claim?")) == "claims"
    assert matcher.of(user("Can I get a new card?")) == "banking"  # the system prompt's "claims" does not count
    assert matcher.of(user("How do I make a claim?"), {"use_case": "banking"}) == "banking"
    assert UseCaseMatcher([CLAIMS]).of(user("Can I get a new card?")) is None  # no catch-all: left out


def test_every_metric_is_split_by_use_case():
    answers = [
        {"model": "sft", "kind": "rules", "prompt": user("my claim?"), "score": 1.0, "passed": {"a": True}},
        {"model": "sft", "kind": "rules", "prompt": user("my card?"), "score": 0.5, "passed": {"a": False, "b": True}},
        {"model": "sft", "kind": "rules", "prompt": user("another claim"), "score": 0.0, "passed": {"a": False}},
        {"model": "sft", "kind": "format", "messages": user("claim"), "format_ok": True},
        {"model": "sft", "kind": "winrate", "prompt": user("card"), "similarity": 0.25},
        {"model": "sft", "kind": "comparison", "prompt": user("claim"), "outcome": 0.5},
        {"model": "sft", "kind": "bpb"},  # nothing to split
    ]
    split = by_use_case(answers, UseCaseMatcher([CLAIMS, BANKING]))["sft"]
    assert split["claims"] == {"rule_pass_rate": 0.5, "all_rules_pass_rate": 0.5, "format_adherence": 1.0, "win_rate_vs_previous": 0.5, "answers": 2}
    assert split["banking"] == {"rule_pass_rate": 0.5, "all_rules_pass_rate": 0.0, "reference_similarity": 0.25, "answers": 1}


def test_the_report_shows_a_row_per_use_case_and_metric(tmp_path):
    run = write_run(tmp_path / "run")
    metrics_path = run / "eval" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    for stage, rate in (("sft", 0.25), ("dpo", 0.75)):
        metrics["models"][stage]["by_use_case"] = {"claims": {"all_rules_pass_rate": rate, "answers": 4}}
    metrics_path.write_text(json.dumps(metrics))
    html, md = write_report(run)
    page = html.read_text()
    assert "Per use case" in page and "claims (≤4 answers)" in page and "+0.500" in page
    assert "## Per use case" in md.read_text()


def test_the_pipeline_fills_eval_use_cases_from_the_top_level(pipeline_dict):
    from steep.pipeline.config import validate_pipeline_config

    pipeline_dict["use_cases"] = [{"name": "claims", "matches": "claim"}, {"name": "banking"}]
    cfg = validate_pipeline_config(pipeline_dict)
    assert [u.name for u in cfg.eval.use_cases] == ["claims", "banking"]
    pipeline_dict["use_cases"][0]["matches"] = "("
    with pytest.raises(ValueError, match=r"use_cases\[0\]\.matches"):
        validate_pipeline_config(pipeline_dict)
