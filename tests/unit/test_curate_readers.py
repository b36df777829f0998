"""JSONL reader: bad lines are reported with file:line and counted; good rows still come through."""

from __future__ import annotations

import gzip
import json

import pytest

from steep.curate.readers import JsonlReader, resolve_inputs


def _write(path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_bad_lines_are_reported_and_the_rest_is_read(tmp_path):
    path = tmp_path / "docs.jsonl"
    _write(
        path,
        [
            json.dumps({"id": "a", "text": "first", "meta": {"lang": "en"}, "date": "2024-01-01"}).encode(),
            b'{"id": "b", "text": "broken',
            b"",
            json.dumps({"id": "c", "body": "no text field"}).encode(),
            b'{"id": "d", "text": "caf\xe9"}',
            b"[1, 2]",
            json.dumps({"text": "no id", "source": "crm"}).encode(),
            json.dumps({"id": 7, "text": "int id"}).encode(),
        ],
    )
    dropped = []
    reader = JsonlReader([path], on_drop=dropped.append)
    docs = list(reader.run())
    assert [(d.id, d.text) for d in docs] == [("a", "first"), ("docs-7", "no id"), ("7", "int id")]
    assert docs[0].meta == {"lang": "en", "date": "2024-01-01", "source": f"{path}:1"}
    assert docs[1].meta == {"source": f"{path}:7", "source_original": "crm"}
    locations = [d.detail.split(": ", 1)[0] for d in dropped]
    assert locations == [f"{path}:2", f"{path}:4", f"{path}:5", f"{path}:6"]
    assert {d.reason for d in dropped} == {"bad_input"}
    assert "invalid JSON" in dropped[0].detail
    assert "no 'text' field" in dropped[1].detail
    assert "invalid UTF-8" in dropped[2].detail
    assert dropped[0].doc.meta["source"] == f"{path}:2"
    assert reader.stats.seen == 7 and reader.stats.kept == 3 and reader.stats.dropped["bad_input"] == 4
    assert reader.stats.counters["blank_lines"] == 1
    assert reader.bad_locations[0].startswith(f"{path}:2: ")


def test_gzip_and_globs(tmp_path):
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "z", "text": "zipped"}) + "\n")
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "y", "text": "plain"}) + "\n", encoding="utf-8")
    paths = resolve_inputs([str(tmp_path / "*.jsonl*"), str(tmp_path / "a.jsonl")])
    assert [p.name for p in paths] == ["a.jsonl", "b.jsonl.gz"]
    assert [d.id for d in JsonlReader(paths).run()] == ["y", "z"]
    assert [p.name for p in resolve_inputs([str(tmp_path)])] == ["a.jsonl", "b.jsonl.gz"]


def test_missing_inputs_are_all_named(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        resolve_inputs([str(tmp_path / "nope.jsonl"), str(tmp_path / "*.parquet")])
    assert "nope.jsonl" in str(err.value) and "*.parquet (no file matches)" in str(err.value)


def test_lone_surrogate_escape_is_replaced_not_fatal(tmp_path):
    """`"\\ud800"` is valid JSON but cannot be written as UTF-8: the document survives with U+FFFD in its place."""
    from steep.curate.config import CurateConfig
    from steep.curate.stage import run_curate

    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"id": "a", "text": "broken \\ud800 half pair and a real pair \\ud83d\\ude00 in a long enough text here"}\n'
    )
    metrics = run_curate(CurateConfig(inputs=[str(path)]), tmp_path / "out")
    assert metrics["docs_out"] == 1
    text = (tmp_path / "out" / "documents" / "part-00000.jsonl").read_text(encoding="utf-8")
    assert "\ufffd" in text and "\U0001f600" in text
