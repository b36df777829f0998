"""Sharded curate: line-aligned shards, workers=1 vs a process pool byte-identical, resume from markers."""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

import pytest

from steep.curate import CurateConfig, run_curate
from steep.curate.config import ComplianceConfig, DedupConfig, ExecutorConfig, QualityConfig
from steep.curate.shards import MARKER_FILE, SHARDS_DIR, ShardFailed, plan_shards
from steep.curate.quality import QualityFilter
from steep.curate.stage import DOCUMENTS_FILE, EXCLUDED_FILE, STATS_FILE

TINY_SHARD_MB = 1500 / 2**20  # ~1.5 KB: the big file splits into several shards


def _sentence(rng: random.Random, words: int = 14) -> str:
    # Random pseudo-words: unrelated documents share no word pairs, so only the planted copies are duplicates.
    return " ".join(
        "".join(rng.choice("abcdefghijklmnoprstuvw") for _ in range(rng.randint(3, 8))) for _ in range(words)
    )


@pytest.fixture
def lake(tmp_path: Path) -> list[str]:
    rng = random.Random(7)
    big = [{"id": f"big-{i}", "text": _sentence(rng)} for i in range(40)]
    big[5]["text"] += " write to jane.doe@corp.com"
    big[9]["text"] = "the Project Falcon plan " + big[9]["text"]
    big[35]["text"] = big[1]["text"]  # a duplicate inside the split file: its drop lands between the map's drops
    near = big[3]["text"].split()
    near[4] = "changed"  # 1 of 14 words: 11 of 15 distinct word pairs shared, Jaccard 0.73 >= 0.7
    lines = [json.dumps(r) for r in big]
    lines.insert(17, '{"id": "broken", "text": "unterminated')
    lines.insert(25, "")  # a blank line in the middle of a shard
    small = [
        {"id": "copy-of-big-30", "text": big[30]["text"].upper()},  # exact duplicate across shards
        {"id": "near-big-3", "text": " ".join(near)},
        {"id": "short", "text": "too short"},
        {"id": "small-ok", "text": _sentence(rng)},
    ]
    folder = tmp_path / "lake"
    folder.mkdir()
    (folder / "a-big.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "b-small.jsonl").write_text("\n".join(json.dumps(r) for r in small) + "\n", encoding="utf-8")
    (folder / "c-first-line-dup.jsonl").write_text(json.dumps({"id": "c-0", "text": big[0]["text"]}) + "\n")
    return [str(folder / "a-big.jsonl"), str(folder / "b-small.jsonl"), str(folder / "c-first-line-dup.jsonl")]


def _config(inputs: list[str], **executor) -> CurateConfig:
    return CurateConfig(
        inputs=inputs,
        quality=QualityConfig(min_words=5),
        compliance=ComplianceConfig(terms=["project falcon"]),
        dedup=DedupConfig(method="minhash"),
        executor=ExecutorConfig(**executor),
    )


def _blocks_without_time(out: Path) -> dict:
    stats = json.loads((out / STATS_FILE).read_text())["blocks"]
    for block in stats.values():
        block.pop("seconds")
    return stats


def _comparable_metrics(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in ("seconds", "shards", "shards_resumed")}


def test_plan_shards_line_aligned_with_line_numbers(lake):
    path = Path(lake[0])
    data = path.read_bytes()
    shards = plan_shards([path, Path(lake[1])], shard_bytes=1500)
    ranges = [s for s in shards if s.path == str(path)]
    assert len(ranges) >= 3 and shards[-1].whole_file and shards[-1].path == lake[1]  # a small file: one shard
    assert ranges[0].start == 0 and ranges[-1].end == len(data)
    for before, after in itertools.pairwise(ranges):
        assert before.end == after.start and data[after.start - 1 : after.start] == b"\n"  # starts at a line start
        assert after.first_line == data[: after.start].count(b"\n") + 1
    assert [s.index for s in shards] == list(range(len(shards)))
    assert plan_shards([path], shard_bytes=1500, split_jsonl=False)[0].whole_file


def test_pool_of_two_on_split_shards_equals_one_sequential_pass(tmp_path, lake):
    sequential = run_curate(_config(lake, shard_mb=64), tmp_path / "one")
    parallel = run_curate(_config(lake, shard_mb=TINY_SHARD_MB, workers=2), tmp_path / "two")

    assert sequential["shards"] == 3 and parallel["shards"] >= 5
    for name in (DOCUMENTS_FILE, EXCLUDED_FILE):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert _comparable_metrics(parallel) == _comparable_metrics(sequential)
    one, two = _blocks_without_time(tmp_path / "one"), _blocks_without_time(tmp_path / "two")
    for block in one:
        if block == "read":  # per-file tallies count each range of a split file
            one[block].pop("counters", None), two[block].pop("counters", None)
    assert two == one
    assert not (tmp_path / "two" / SHARDS_DIR).exists()  # removed after success

    excluded = {r["id"]: r for r in map(json.loads, (tmp_path / "two" / EXCLUDED_FILE).read_text().splitlines())}
    assert (
        excluded["copy-of-big-30"]["reason"] == "duplicate:exact" and excluded["copy-of-big-30"]["detail"] == "big-30"
    )
    assert excluded["near-big-3"]["reason"] == "duplicate:near" and excluded["near-big-3"]["detail"] == "big-3"
    assert excluded["c-0"]["detail"] == "big-0" and excluded["big-35"]["detail"] == "big-1"
    bad = excluded[f"{lake[0]}:18"]  # the broken line, inserted as line 18, in a later shard: numbered right
    assert bad["reason"] == "bad_input"
    kept = [json.loads(line) for line in (tmp_path / "two" / DOCUMENTS_FILE).read_text().splitlines()]
    big_39 = next(r for r in kept if r["id"] == "big-39")
    assert big_39["meta"]["source"] == f"{lake[0]}:42"  # 40 rows + the broken line + the blank line
    assert "jane.doe" not in (tmp_path / "two" / EXCLUDED_FILE).read_text()


def _fail_on(monkeypatch, doc_id: str) -> None:
    original = QualityFilter.apply

    def apply(self, doc):
        if doc.id == doc_id:
            raise RuntimeError(f"injected failure on {doc_id}")
        return original(self, doc)

    monkeypatch.setattr(QualityFilter, "apply", apply)


def test_killed_run_resumes_from_markers_and_equals_a_clean_run(tmp_path, lake, monkeypatch):
    cfg = _config(lake, shard_mb=TINY_SHARD_MB)
    out = tmp_path / "resumed"
    _fail_on(monkeypatch, "big-30")
    with pytest.raises(ShardFailed, match=r"shard 0000\d .*a-big\.jsonl bytes .*injected failure on big-30"):
        run_curate(cfg, out)
    markers = sorted((out / SHARDS_DIR).glob(f"*/{MARKER_FILE}"))
    failed_at = len(markers)
    assert failed_at >= 2 and not (out / SHARDS_DIR / f"{failed_at:05d}" / MARKER_FILE).exists()
    assert [m.parent.name for m in markers] == [f"{i:05d}" for i in range(failed_at)]  # shards before the failure
    assert not (out / DOCUMENTS_FILE).exists()  # no final output from a failed run
    written_at = [m.stat().st_mtime_ns for m in markers]

    monkeypatch.undo()
    seen = []
    original = QualityFilter.apply
    monkeypatch.setattr(QualityFilter, "apply", lambda self, doc: seen.append(doc.id) or original(self, doc))
    resumed = run_curate(
        cfg.model_copy(update={"executor": ExecutorConfig(shard_mb=TINY_SHARD_MB, keep_shards=True)}), out
    )
    assert resumed["shards_resumed"] == failed_at
    assert [m.stat().st_mtime_ns for m in markers] == written_at  # the finished shards were not redone
    assert "big-0" not in seen and "big-30" in seen

    clean = run_curate(cfg, tmp_path / "clean")
    assert clean["shards_resumed"] == 0
    for name in (DOCUMENTS_FILE, EXCLUDED_FILE):
        assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name
    assert _comparable_metrics(resumed) == _comparable_metrics(clean)


def test_markers_are_not_reused_for_another_config_or_changed_input(tmp_path, lake):
    out = tmp_path / "out"
    cfg = _config(lake, shard_mb=TINY_SHARD_MB, keep_shards=True)
    first = run_curate(cfg, out)
    assert first["shards_resumed"] == 0
    assert run_curate(cfg, out)["shards_resumed"] == first["shards"]  # same config and inputs: all skipped

    # Dedup runs in the reduce: retuning it reuses every shard (and the result is still right).
    retuned = run_curate(cfg.model_copy(update={"dedup": DedupConfig(method="exact")}), out)
    assert retuned["shards_resumed"] == first["shards"] and retuned["dropped"].get("duplicate:near", 0) == 0

    stricter = cfg.model_copy(update={"quality": QualityConfig(min_words=15)})
    redone = run_curate(stricter, out)
    assert redone["shards_resumed"] == 0 and redone["dropped"]["too_short"] > first["dropped"]["too_short"]

    # The same size, a new mtime: every shard runs again (a block may read the whole corpus, e.g. decontam).
    small = Path(lake[1])
    small.write_text(small.read_text().replace("too short", "TOO SHORT"))
    assert run_curate(stricter, out)["shards_resumed"] == 0
    assert run_curate(stricter, out)["shards_resumed"] == redone["shards"]


def test_executor_config_is_checked():
    with pytest.raises(ValueError, match="address is only used by kind: ray"):
        ExecutorConfig(kind="local", address="ray://head:10001")
    with pytest.raises(ValueError):
        ExecutorConfig(workers=0)
    with pytest.raises(ValueError):
        CurateConfig(inputs=["a.jsonl"], executor={"kind": "spark"})


def test_ray_missing_names_the_extra(tmp_path, lake, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(RuntimeError, match=r"pip install 'steep\[ray\]'"):
        run_curate(_config(lake, kind="ray"), tmp_path / "out")
