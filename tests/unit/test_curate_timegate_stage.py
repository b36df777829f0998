"""The curate stage around the time gate: a lake without dates, undated counts on the console and in report.md,
gates before heuristics with every reason recorded, near-dup on the text as written, drop-share warnings."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import pytest

from steep.curate import CurateConfig, run_curate
from steep.curate.config import ComplianceConfig, DedupConfig, QualityConfig, TimeGateConfig

PRE = [
    "The steamer left Southampton on Wednesday with 2,208 souls aboard, and fares were quoted at 13 pounds.",
    "Kindly remit the balance of $1,960 to our office at 1938 Market Street before the end of the quarter.",
    "The railway company expects that by 1935 the line will reach the coast, and a budget has been set aside.",
    "He was born in 1822 at Bristol, went to sea at fourteen and returned a wealthy man in 1856.",
]
POST = [
    "The Olympic games opened in Berlin in August 1936 before a crowd of a hundred thousand people.",
    "The new radar stations on the south coast gave early warning of the raid before the bombers crossed.",
    "The census of 1950 counted many more people in the western states than the one taken ten years before.",
]


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_lake_without_dates_loses_its_post_cutoff_documents_by_their_text(tmp_path, caplog):
    rows = [{"id": f"pre{i}", "text": t} for i, t in enumerate(PRE)] + [{"id": f"post{i}", "text": t} for i, t in enumerate(POST)]
    cfg = CurateConfig(inputs=[_write(tmp_path / "lake.jsonl", rows)], time=TimeGateConfig(cutoff=1930))
    with caplog.at_level(logging.INFO, logger="steep"):
        metrics = run_curate(cfg, tmp_path / "out")
    kept = {r["id"] for r in _read_jsonl(tmp_path / "out" / "documents" / "part-00000.jsonl")}
    assert kept == {"pre0", "pre1", "pre2", "pre3"}
    excluded = {r["id"]: r for r in _read_jsonl(tmp_path / "out" / "excluded.jsonl")}
    assert excluded["post0"]["reason"] == "time:text:date"
    assert excluded["post1"]["reason"] == "time:anachronism:radar"
    assert excluded["post2"]["reason"] == "time:text:year"
    assert metrics["undated"] == {
        "policy": "infer", "date_field": "date", "dated": 0, "undated": 7, "kept": 4, "dropped": 3, "no_field": 7,
        "unparseable": 0,
    }  # fmt: skip
    console = caplog.text
    assert "7 of 7 document(s) undated" in console and "3 dropped, 4 kept" in console
    assert "time.date_field 'date': no document has this field" in console
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Undated documents" in report and "`undated: infer`: 3 dropped, 4 kept" in report
    assert "time.date_field 'date': no document has this field" in report


def test_undated_keep_is_reported_not_silent(tmp_path):
    rows = [{"id": "a", "text": POST[0]}, {"id": "b", "text": PRE[0]}]
    cfg = CurateConfig(inputs=[_write(tmp_path / "lake.jsonl", rows)], time=TimeGateConfig(cutoff=1930, undated="keep"))
    metrics = run_curate(cfg, tmp_path / "out")
    assert metrics["docs_out"] == 2
    report = (tmp_path / "out" / "report.md").read_text()
    assert "2 of 2 documents had no usable `meta.date`" in report and "`undated: keep`: 0 dropped, 2 kept" in report


def test_a_misspelled_date_field_is_a_warning_naming_it(tmp_path):
    rows = [{"id": "a", "text": PRE[0], "published": "1920-01-01"}]
    cfg = CurateConfig(inputs=[_write(tmp_path / "lake.jsonl", rows)], time=TimeGateConfig(cutoff=1930, date_field="publshed"))
    metrics = run_curate(cfg, tmp_path / "out")
    assert any("time.date_field 'publshed'" in w for w in metrics["warnings"])


MEMO = "STRICTLY CONFIDENTIAL: Project Heron board memo. " + "Project Heron Project Heron " * 10


def test_gates_run_before_heuristics_and_every_reason_is_recorded(tmp_path):
    rows = [{"id": "memo", "text": MEMO}, {"id": "ok", "text": PRE[0]}]
    cfg = CurateConfig(
        inputs=[_write(tmp_path / "lake.jsonl", rows)],
        compliance=ComplianceConfig(terms=["Project Heron"]),
        quality=QualityConfig(max_top_ngram_chars={2: 0.2}),
    )
    metrics = run_curate(cfg, tmp_path / "out")
    assert metrics["dropped"] == {"compliance": 1}  # counted as restricted, not as repetitive
    [row] = _read_jsonl(tmp_path / "out" / "excluded.jsonl")
    assert row["reason"] == "compliance:Project Heron" and row["block"] == "compliance"
    assert [(a["block"], a["reason"]) for a in row["also"]] == [("quality", "top_ngram:2")]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["blocks"]["quality"]["seen"] == 1  # the audit did not count in the funnel
    assert "| compliance | quality | 1 |" in (tmp_path / "out" / "report.md").read_text()


def _iban(rng: random.Random) -> str:
    bban = f"{rng.randint(10**7, 10**8 - 1)}{rng.randint(10**9, 10**10 - 1)}"
    code = f"DE{98 - int(bban + '131400') % 97:02d}{bban}"  # mod-97 check digits (D=13, E=14)
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def _schedules(n: int) -> list[dict]:
    """Templated policy schedules: one text, different customers (IBAN, email, phone) and amounts."""
    rng = random.Random(0)
    return [
        {"id": f"policy-{i}", "text": (
            "Home contents policy schedule. This schedule forms part of your policy and should be read with the "
            "policy wording. Cover includes accidental damage to contents, legal expenses and personal possessions "
            f"away from the home. Sum insured {rng.randint(20, 90) * 1000} pounds; annual premium "
            f"{rng.randint(150, 900)} pounds. The premium is collected by direct debit from IBAN {_iban(rng)}. "
            f"Questions about this schedule: write to c{i}.{rng.randint(100, 999)}@example-mail.com or call "
            f"+44 20 7946 {rng.randint(1000, 9999)}."
        )}  # fmt: skip
        for i in range(n)
    ]


def test_near_dup_compares_the_text_as_written_not_the_placeholders(tmp_path):
    inputs = [_write(tmp_path / "lake.jsonl", _schedules(30))]
    redacted = run_curate(CurateConfig(inputs=inputs, dedup=DedupConfig(near_text="redacted")), tmp_path / "redacted")
    original = run_curate(CurateConfig(inputs=inputs), tmp_path / "original")
    assert redacted["pii_redacted"]["iban"] == 30
    assert redacted["dropped"] == {"duplicate:near": 29}  # placeholders made them one document
    assert original["dropped"].get("duplicate:near", 0) <= 10
    # The view never reaches an output, and the output text is redacted either way.
    kept = _read_jsonl(tmp_path / "original" / "documents" / "part-00000.jsonl")
    assert all(set(r) == {"id", "text", "meta"} and "<IBAN>" in r["text"] for r in kept)
    assert any("block 'dedup' dropped 29 of 30" in w for w in redacted["warnings"])
    assert "## Warnings" in (tmp_path / "redacted" / "report.md").read_text()
    assert not original["warnings"]


def test_the_drop_share_warning_is_configurable(tmp_path):
    inputs = [_write(tmp_path / "lake.jsonl", _schedules(10))]
    cfg = CurateConfig(inputs=inputs, dedup=DedupConfig(near_text="redacted"), warn_drop_share=None)
    assert run_curate(cfg, tmp_path / "out")["warnings"] == []


def test_resume_and_workers_give_identical_outputs_with_the_new_chain(tmp_path):
    rows = [{"id": f"pre{i}", "text": t} for i, t in enumerate(PRE)] + [{"id": "memo", "text": MEMO}]
    rows += _schedules(6)
    inputs = [_write(tmp_path / "lake.jsonl", rows)]
    base = dict(inputs=inputs, compliance=ComplianceConfig(terms=["Project Heron"]), time=TimeGateConfig(cutoff=1930))
    run_curate(CurateConfig(**base), tmp_path / "one")
    run_curate(CurateConfig(**base, executor={"workers": 2, "shard_mb": 0.001}), tmp_path / "two")
    for name in ("documents/part-00000.jsonl", "excluded.jsonl", "duplicate_clusters.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


@pytest.mark.parametrize("value", [0, -1, "soon", "2024-13", 12345])
def test_nonsense_cutoffs_are_refused_naming_the_yaml_path(tmp_path, value):
    from steep.pipeline.config import ConfigError, validate_pipeline_config

    lake = _write(tmp_path / "lake.jsonl", [{"id": "a", "text": PRE[0]}])
    with pytest.raises(ConfigError) as error:
        validate_pipeline_config({"run_dir": str(tmp_path / "run"), "curate": {"inputs": [lake], "time": {"cutoff": value}}})
    assert "curate.time.cutoff" in str(error.value) and "give a year (1930 = the end of 1930)" in str(error.value)


def test_many_blocks_dropping_a_little_each_still_warn_together(tmp_path):
    rows = [{"id": "memo", "text": MEMO}, {"id": "post", "text": POST[0]}, {"id": "ok", "text": PRE[0]}]
    rows.append({"id": "short", "text": "Too short."})
    cfg = CurateConfig(
        inputs=[_write(tmp_path / "lake.jsonl", rows)], compliance=ComplianceConfig(terms=["Project Heron"]),
        time=TimeGateConfig(cutoff=1930),
    )  # fmt: skip
    metrics = run_curate(cfg, tmp_path / "out")
    assert metrics["docs_out"] == 1
    assert any(w.startswith("the blocks together dropped 3 of 4 documents (75%") for w in metrics["warnings"])
