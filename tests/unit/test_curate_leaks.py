"""Curate and the leak scan on the demo lake: what curate writes holds no canary, unless a safeguard is off.

Curate only (no model): a planted PII canary reaches the run directory when redaction is off, and the scan names
the file; with redaction on, and gated documents' text withheld from excluded.jsonl, nothing is found."""

from __future__ import annotations

import json

import pytest

from steep.curate import CurateConfig, run_curate
from steep.demo.domain import CANARIES_FILE, generate_demo_domain
from steep.tasks.canaries import CanaryMatcher, load_canaries
from steep.tasks.leak_scan import scan_tree


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    generate_demo_domain(data, seed=0, scale=0.15)
    return data


def _curate(demo, run_dir, **overrides) -> dict:
    cfg = CurateConfig.model_validate({
        "inputs": [str(demo / "lake.jsonl")],
        "compliance": {"terms": ["Project Bluefin", "Project Kingfisher"]},
        "time": {"cutoff": "2024-06-30", "terms": ["Kestrel Horizon Card", "Q3 2024", "2025 rate review"]},
        **overrides,
    })  # fmt: skip
    return run_curate(cfg, run_dir / "curate")


def _hits(demo, run_dir) -> dict[str, set[str]]:
    canaries = load_canaries(demo / CANARIES_FILE)
    found: dict[str, set[str]] = {}
    for hit in scan_tree(run_dir, CanaryMatcher(canaries)).hits:
        found.setdefault(hit["canary"], set()).add(hit["where"])
    return found


def test_default_curate_leaks_nothing(demo, tmp_path):
    _curate(demo, tmp_path)
    assert _hits(demo, tmp_path) == {}
    withheld = [json.loads(line) for line in (tmp_path / "curate" / "excluded.jsonl").read_text().splitlines()]
    gated = [row for row in withheld if row["block"] in ("compliance", "time")]
    assert gated and all(row["text"] is None and len(row["text_sha256"]) == 64 and row["source"] for row in gated)


def test_pii_redaction_off_leaks_the_pii_canaries_and_the_scan_names_the_file(demo, tmp_path):
    _curate(demo, tmp_path, pii={"enabled": False})
    hits = _hits(demo, tmp_path)
    pii = {c.id for c in load_canaries(demo / CANARIES_FILE) if c.kind == "pii"}
    assert set(hits) == pii  # only PII: the gates still hold the NDA and post-cutoff documents back
    assert all(where <= {"curate/documents/part-00000.jsonl", "curate/excluded.jsonl"} for where in hits.values())
    assert any("curate/documents/part-00000.jsonl" in where for where in hits.values())


def test_keeping_gated_text_in_the_exclusion_report_leaks_the_restricted_canaries(demo, tmp_path):
    _curate(demo, tmp_path, exclusions={"keep_text": True})
    hits = _hits(demo, tmp_path)
    assert set(hits) == {"restricted-001", "post-cutoff-001"}  # PII stays redacted in excluded.jsonl too
    assert hits["restricted-001"] == {"curate/excluded.jsonl"}
