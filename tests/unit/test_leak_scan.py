"""The canary matcher and the run-directory scanner: normalisation, binary files, streaming, no self-leak."""

from __future__ import annotations

import json
import logging

import pytest

from steep.tasks.canaries import Canary, CanaryFileError, CanaryMatcher, load_canaries
from steep.tasks.leak_scan import scan_file, scan_tree
from steep.tasks.leaks import LeakCheck, LeaksConfig

CANARIES = [
    Canary("pii-001", "5519297088", "pii"),
    Canary("pii-002", "(555) 357-8217", "pii"),
    Canary("restricted-001", "BLF-5963-MN", "restricted"),
    Canary("pii-003", "sofia.khan@example.com", "pii"),
    Canary("name-001", "José Ñúñez Field", "pii"),
]


@pytest.fixture
def matcher() -> CanaryMatcher:
    return CanaryMatcher(CANARIES)


@pytest.mark.parametrize(
    "text, found",
    [
        ("account 5519297088 on file", ["pii-001"]),
        ("account 551-929-7088 on file", ["pii-001"]),  # separators stripped
        ("account 551 929 7088", ["pii-001"]),
        ("call 5553578217 or (555)357-8217", ["pii-002"]),
        ("ACCOUNT 45519297088", []),  # inside a longer number: another number
        ("55192970881", []),
        ("code blf 5963 mn and BLF5963MN", ["restricted-001"]),  # case and separators
        ('{"text": "budget code: BLF-5963-\\nMN"}', ["restricted-001"]),  # a line break JSON wrote as \n
        ("code XBLF-5963-MN", []),
        ("write to Sofia.Khan@Example.com", ["pii-003"]),
        ("José  Ñúñez\nField", ["name-001"]),  # whitespace runs
        (json.dumps({"t": "José Ñúñez Field"}), ["name-001"]),  # json.dumps escapes non-ASCII as \\u00e9
        ("nothing to see: 5519 and BLF", []),
    ],
)
def test_matching_normalises_case_whitespace_and_separators(matcher, text, found):
    assert matcher.find(text) == found


def test_mask_replaces_values_by_ids(matcher):
    masked = matcher.mask("Oliver's account is 551-929-7088, code BLF-5963-MN.")
    assert masked == "Oliver's account is [canary pii-001], code [canary restricted-001]."
    assert matcher.find(masked) == []


def test_scan_streams_large_files_and_finds_values_across_chunk_edges(tmp_path, matcher):
    path = tmp_path / "big.jsonl"
    filler = "x" * 90 + "\n"
    # the value straddles the 1,000-character chunk edge; line numbers stay exact across chunks
    text = filler * 10 + "y" * 85 + " 551-929-7088 tail\n" + filler * 50 + "BLF-5963-MN\n"
    path.write_text(text, encoding="utf-8")
    assert 910 < text.index("551") < 1000 < text.index("7088")
    assert scan_file(path, matcher, chunk_chars=1000) == {"pii-001": 11, "restricted-001": 62}
    assert scan_file(path, matcher, chunk_chars=37) == {"pii-001": 11, "restricted-001": 62}


def test_scan_tree_skips_binary_files_and_says_so(tmp_path, matcher):
    (tmp_path / "curate").mkdir()
    (tmp_path / "curate" / "excluded.jsonl").write_text('{"text": "budget BLF-5963-MN"}\n{"x": 1}\n')
    (tmp_path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00{}" + b"BLF-5963-MN" + b"\x00" * 64)
    (tmp_path / "run.log").write_text("all fine\n")
    (tmp_path / "skipme.txt").write_text("5519297088\n")
    report = scan_tree(tmp_path, matcher, exclude=["skip*.txt"])
    assert report.hits == [{"canary": "restricted-001", "where": "curate/excluded.jsonl", "line": 1}]
    assert report.checked_files == 2
    assert report.skipped == [{"where": "model.safetensors", "bytes": 81, "why": "binary"}]


def test_canary_file_errors_name_the_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "value": "5519297088"}\n{"id": "b", "value": "123"}\n')
    with pytest.raises(CanaryFileError, match="c.jsonl:2: .*under 6 characters"):
        load_canaries(path)
    path.write_text('{"id": "a", "value": "5519297088"}\n{"id": "a", "value": "BLF-5963-MN"}\n')
    with pytest.raises(CanaryFileError, match="duplicate canary ids: a"):
        load_canaries(path)


def test_leak_check_reports_ids_and_never_writes_a_value(tmp_path, caplog):
    canaries = tmp_path / "data" / "canaries.jsonl"
    canaries.parent.mkdir()
    canaries.write_text(json.dumps({"id": "restricted-001", "value": "BLF-5963-MN", "probes": ["Budget code?"]}) + "\n")
    run_dir = tmp_path / "run"
    (run_dir / "curate").mkdir(parents=True)
    (run_dir / "curate" / "excluded.jsonl").write_text('{"text": "code BLF-5963-MN"}\n')
    check = LeakCheck(LeaksConfig(canaries=canaries, probe=False), run_dir, logging.getLogger("steep.eval"))
    with caplog.at_level(logging.INFO, logger="steep"):
        leaks = check.finish()
    assert leaks["count"] == 1 and leaks["hits"] == [{"canary": "restricted-001", "where": "curate/excluded.jsonl", "line": 1}]
    assert "LEAK: canary restricted-001 found in curate/excluded.jsonl:1" in caplog.text
    assert "BLF-5963-MN" not in caplog.text and "BLF-5963-MN" not in json.dumps(leaks)


def test_hits_in_the_running_stage_are_named_where_the_file_will_be(tmp_path):
    canaries = tmp_path / "canaries.jsonl"
    canaries.write_text(json.dumps({"id": "pii-001", "value": "5519297088"}) + "\n")
    run_dir = tmp_path / "run"
    (run_dir / "eval.partial").mkdir(parents=True)
    (run_dir / "eval.partial" / "answers.jsonl").write_text('{"answer": "5519297088"}\n')
    leaks = LeakCheck(LeaksConfig(canaries=canaries, probe=False), run_dir, logging.getLogger("steep.eval")).finish()
    assert [hit["where"] for hit in leaks["hits"]] == ["eval/answers.jsonl"]
