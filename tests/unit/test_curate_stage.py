"""run_curate end to end on a small fixture: files written, funnel invariant, every drop accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steep.curate import CurateConfig, run_curate
from steep.curate.config import ComplianceConfig, QualityConfig, TimeGateConfig

GOOD = "The warranty covers parts and labour for two full years after purchase."

ROWS = [
    {"id": "good-1", "text": GOOD, "date": "2024-01-10"},
    {"id": "mojibake", "text": "Our cafÃ© in Berlin serves breakfast every day until noon.", "date": "2024-02-01"},
    {"id": "wrapped", "text": "Returns are accepted within thirty\ndays of delivery when the item is\nunused."},
    {"id": "empty", "text": "   \n  "},
    {"id": "short", "text": "Too short."},
    {"id": "symbols", "text": "#### ---- ==== 1234 5678 9012 //// **** !!!! ???? a b c d e"},
    {"id": "codename", "text": "The PROJECT falcon launch plan is attached for the whole team."},
    {"id": "late", "text": "The new pricing page went live for every customer this morning.", "date": "2024-09-01"},
    {"id": "future-term", "text": "Customers keep asking whether the Falcon 2 model is compatible."},
    {"id": "dup-of-good", "text": "  the WARRANTY covers parts and labour, for two full years after purchase!"},
    {"id": "pii-1", "text": "Please contact jane.doe@corp.com or +44 20 7946 0958 about your refund today."},
    {"id": "pii-2", "text": "Please contact max.mustermann@corp.de or +44 20 7946 0999 about your refund today."},
    {"id": "order", "text": "Order ORD-2024-118834 for policy POL-1042 shipped on 2024-03-01 for $129.99 total."},
]


@pytest.fixture
def fixture_inputs(tmp_path: Path) -> list[str]:
    a = tmp_path / "in" / "a.jsonl"
    b = tmp_path / "in" / "b.jsonl"
    a.parent.mkdir()
    lines = [json.dumps(r, ensure_ascii=False) for r in ROWS[:7]]
    lines.insert(3, '{"id": "broken", "text": "unterminated')
    a.write_text("\n".join(lines) + "\n", encoding="utf-8")
    b.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS[7:]) + "\n", encoding="utf-8")
    return [str(a), str(b)]


def _config(inputs: list[str]) -> CurateConfig:
    return CurateConfig(
        inputs=inputs,
        quality=QualityConfig(min_words=5),
        compliance=ComplianceConfig(terms=["project falcon"]),
        time=TimeGateConfig(cutoff="2024-06-30", terms=["Falcon 2"]),
    )


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_run_curate_outputs_and_invariant(tmp_path, fixture_inputs):
    out = tmp_path / "curate"
    metrics = run_curate(_config(fixture_inputs), out)

    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == ["documents/part-00000.jsonl", "duplicate_clusters.jsonl", "excluded.jsonl", "report.md", "stats.json"]

    assert metrics["docs_in"] == len(ROWS) + 1  # + the broken line
    assert metrics["docs_in"] == metrics["docs_out"] + sum(metrics["dropped"].values())
    assert metrics["dropped"] == {
        "bad_input": 1,
        "compliance": 1,
        "duplicate:exact": 2,  # dup-of-good, and pii-2 (identical to pii-1 once redacted)
        "empty": 1,
        "symbol_ratio": 1,
        "time": 2,
        "too_short": 1,
    }
    assert metrics["bad_input"] == 1
    # Every configured PII type is reported; only these two occur in the fixture.
    assert list(metrics["pii_redacted"]) == list(_config(fixture_inputs).pii.types)
    assert {t: n for t, n in metrics["pii_redacted"].items() if n} == {"email": 2, "phone": 2}

    kept = _read_jsonl(out / "documents/part-00000.jsonl")
    assert [r["id"] for r in kept] == ["good-1", "mojibake", "wrapped", "pii-1", "order"]
    assert all(set(r) == {"id", "text", "meta"} for r in kept)
    texts = {r["id"]: r["text"] for r in kept}
    assert texts["mojibake"].startswith("Our café")
    assert texts["wrapped"] == "Returns are accepted within thirty days of delivery when the item is unused."
    assert texts["pii-1"] == "Please contact <EMAIL> or <PHONE> about your refund today."
    assert texts["order"] == ROWS[-1]["text"]
    assert kept[0]["meta"]["source"] == f"{fixture_inputs[0]}:1"

    excluded = _read_jsonl(out / "excluded.jsonl")
    assert len(excluded) == sum(metrics["dropped"].values())
    dropped_ids = ["empty", "short", "symbols", "codename", "late", "future-term", "dup-of-good", "pii-2"]
    assert {r["id"] for r in excluded} == {f"{fixture_inputs[0]}:4", *dropped_ids}
    assert all({"reason", "block", "detail", "source"} <= set(r) for r in excluded)
    by_id = {r["id"]: r for r in excluded}
    assert by_id[f"{fixture_inputs[0]}:4"]["reason"] == "bad_input"
    assert by_id[f"{fixture_inputs[0]}:4"]["detail"].startswith(f"{fixture_inputs[0]}:4: invalid JSON")
    assert by_id["dup-of-good"]["detail"] == "good-1"
    assert by_id["pii-2"]["text"] == texts["pii-1"]  # excluded text is redacted too
    assert by_id["late"]["reason"] == "time:date>cutoff"
    assert by_id["future-term"]["reason"] == "time:term:Falcon 2"

    stats = json.loads((out / "stats.json").read_text())
    assert list(stats["blocks"]) == ["read", "clean", "compliance", "time", "quality", "pii", "dedup"]
    assert stats["blocks"]["read"]["dropped"] == {"bad_input": 1}
    assert all({"seen", "kept", "dropped", "seconds"} <= set(s) for s in stats["blocks"].values())
    assert stats["metrics"] == metrics

    report = (out / "report.md").read_text()
    assert "## Funnel" in report and "`duplicate:exact`" in report and "cafÃ©" in report
    assert not list(out.rglob("*.tmp"))  # atomic writes leave no temp files behind


def test_rerun_replaces_outputs_and_clears_stale_temp_files(tmp_path, fixture_inputs):
    out = tmp_path / "curate"
    (out / "documents").mkdir(parents=True)
    (out / "documents" / ".part-00000.jsonl.abc123.tmp").write_text("half a file from a killed run")
    first = run_curate(_config(fixture_inputs), out)
    second = run_curate(_config(fixture_inputs), out)
    assert {k: v for k, v in first.items() if k != "seconds"} == {k: v for k, v in second.items() if k != "seconds"}
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == ["documents/part-00000.jsonl", "duplicate_clusters.jsonl", "excluded.jsonl", "report.md", "stats.json"]


def test_output_loads_with_datasets(tmp_path, fixture_inputs):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "curate"
    metrics = run_curate(_config(fixture_inputs), out)
    ds = datasets.load_dataset(
        "json", data_files=str(out / "documents/part-00000.jsonl"), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert ds.num_rows == metrics["docs_out"] and ds.column_names == ["id", "text", "meta"]


def test_missing_input_fails_before_writing(tmp_path):
    out = tmp_path / "curate"
    with pytest.raises(FileNotFoundError, match=r"missing\.jsonl"):
        run_curate(CurateConfig(inputs=[str(tmp_path / "missing.jsonl")]), out)
    assert not out.exists()


def test_config_defaults():
    cfg = CurateConfig(inputs=["a.jsonl"])
    assert cfg.clean.enabled and cfg.quality.min_words == 5 and cfg.dedup.method == "minhash"
    assert cfg.time.cutoff is None and cfg.compliance.terms == [] and cfg.pii.style == "placeholder"
    assert cfg.pii.types[:7] == ["email", "phone", "card", "iban", "ssn", "ip", "account"]  # more types may follow
    assert cfg.executor.kind == "local" and cfg.executor.workers == 1 and not cfg.executor.keep_shards


def test_duplicate_clusters_are_written_and_reported(tmp_path, fixture_inputs):
    out = tmp_path / "curate"
    metrics = run_curate(_config(fixture_inputs), out)

    clusters = _read_jsonl(out / "duplicate_clusters.jsonl")
    assert metrics["duplicate_clusters"] == len(clusters) == 2
    assert {c["kept"]: [d["id"] for d in c["duplicates"]] for c in clusters} == {
        "good-1": ["dup-of-good"],
        "pii-1": ["pii-2"],  # identical once redacted
    }
    assert all(c["size"] == 2 and c["duplicates"][0]["reason"] == "duplicate:exact" for c in clusters)
    assert "## Duplicate clusters (2, see duplicate_clusters.jsonl)" in (out / "report.md").read_text(encoding="utf-8")
