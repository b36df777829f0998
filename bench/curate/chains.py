"""Part 1: steep's curate chain against the same chain built from datatrove blocks, on the same lake file.

    steep = run_steep_chain(lake, curate_section, work_dir)      # run_curate, the demo's curate config
    trove = run_datatrove_chain(lake, work_dir)                  # ftfy -> Gopher -> C4 -> PII -> exact dedup
    outcome(lake, steep.kept)                                    # kept PII-dense / damaged documents and characters

Both run in this process, one task, one worker; CPU seconds come from `time.process_time()` (per-core rate) and
wall seconds from `time.perf_counter()`. Both read the same JSONL and write their kept documents as JSONL.

The datatrove chain is its documented exact-dedup recipe: pass 1 reader -> FTFYFormatter -> GopherQualityFilter ->
C4QualityFilter -> PIIFormatter -> JsonlWriter; pass 2 ExactDedupSignature over what pass 1 wrote;
ExactFindDedups; pass 3 ExactDedupFilter over the same file again -> JsonlWriter. Every block at its defaults,
language English (datatrove tokenises English with a blank spaCy pipeline: nothing is downloaded).
What it does not have: steep's OCR repair, compliance and time gates, and PII types beyond email and public IPs.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from lake import Lake


@dataclass
class ChainRun:
    name: str
    kept: dict[str, str]  # id -> kept text
    cpu_s: float
    wall_s: float
    docs_in: int
    notes: list[str] = field(default_factory=list)

    @property
    def docs_per_cpu_s(self) -> float:
        return self.docs_in / self.cpu_s if self.cpu_s else float("nan")


class Timer:
    """CPU (process) and wall seconds of a `with` block."""

    def __enter__(self) -> Self:
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu_s = time.process_time() - self._cpu
        self.wall_s = time.perf_counter() - self._wall


def run_steep_chain(lake: Lake, curate_section: dict[str, Any], work_dir: Path) -> ChainRun:
    from steep.curate import CurateConfig, run_curate

    out = work_dir / "steep-chain"
    shutil.rmtree(out, ignore_errors=True)
    cfg = CurateConfig(**{**curate_section, "inputs": [str(lake.path)]})
    with Timer() as t:
        metrics = run_curate(cfg, out)
    kept = {row["id"]: row["text"] for row in _read_jsonl(out / "documents" / "part-00000.jsonl")}
    notes = [f"steep dropped {metrics['dropped']}"]
    return ChainRun("steep run_curate (demo config)", kept, t.cpu_s, t.wall_s, metrics["docs_in"], notes)


def _text_bytes(doc) -> bytes:  # doc: a datatrove Document
    return doc.text.encode("utf-8", "surrogatepass")


# ExactDedupSignature picks its hash input type from the return annotation, which `from __future__ import
# annotations` turns into the string "bytes"; its xxhash takes bytes only.
_text_bytes.__annotations__["return"] = bytes


# Gopher's defaults are tuned for web pages: >= 80% of spaCy tokens must contain a letter, and punctuation marks
# are tokens, so business text with amounts, ids and dates fails (demo lake: 96% dropped as
# `gopher_below_alpha_threshold`). The relaxed run lets such text through, the way steep's `min_alpha_ratio: 0.4`
# does, so the comparison also shows what datatrove does to the documents it keeps (PII, OCR damage).
GOPHER_RELAXED = {"min_doc_words": 20, "max_non_alpha_words_ratio": 0.6}


def run_datatrove_chain(lake: Lake, work_dir: Path, gopher: dict[str, Any] | None = None) -> ChainRun:
    from datatrove.pipeline.dedup.exact_dedup import (
        ExactDedupConfig,
        ExactDedupFilter,
        ExactDedupSignature,
        ExactFindDedups,
    )
    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter
    from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    root = work_dir / ("datatrove-chain-relaxed" if gopher else "datatrove-chain")
    shutil.rmtree(root, ignore_errors=True)
    dedup = ExactDedupConfig(content_getter=_text_bytes)
    load_s = warm_up_datatrove_tokenizer()
    filters = [FTFYFormatter(), GopherQualityFilter(**(gopher or {})), C4QualityFilter(), PIIFormatter()]

    def reader(folder: Path, pattern: str) -> JsonlReader:
        return JsonlReader(str(folder), glob_pattern=pattern, id_key="id", text_key="text")

    with Timer() as t:
        _drain(
            [
                reader(lake.path.parent, lake.path.name),
                *filters,
                JsonlWriter(str(root / "filtered"), output_filename="${rank}.jsonl", compression=None),
            ]
        )
        _drain([reader(root / "filtered", "*.jsonl"), ExactDedupSignature(str(root / "sigs"), dedup)])
        _drain([ExactFindDedups(str(root / "sigs"), str(root / "dups"), dedup)])
        _drain(
            [
                reader(root / "filtered", "*.jsonl"),
                ExactDedupFilter(str(root / "dups"), dedup),
                JsonlWriter(str(root / "out"), output_filename="${rank}.jsonl", compression=None),
            ]
        )
    kept = {row["id"]: row["text"] for row in _read_jsonl(root / "out" / "00000.jsonl")}
    notes = [f"Gopher relaxed to {gopher}: lets number-heavy business text through" if gopher else "all defaults"]
    if load_s > 0.05:
        notes.append(f"datatrove's English tokenizer (blank spaCy) loaded in {load_s:.1f} CPU s, before the timer")
    for step in filters[1:3]:
        counts = {
            k: v["total"] if isinstance(v, dict) else v
            for k, v in step.stats.stats.to_dict().items()
            if k not in _NOT_DROP_REASONS
        }
        notes.append(f"{step.name}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    name = "datatrove chain" + (" (Gopher relaxed)" if gopher else " (defaults)")
    return ChainRun(name, kept, t.cpu_s, t.wall_s, len(lake.rows), notes)


_NOT_DROP_REASONS = {"total", "forwarded", "doc_len", "dropped"}


def warm_up_datatrove_tokenizer() -> float:
    """Load datatrove's (cached) English word tokenizer outside the timers: a one-time cost of seconds that would
    swamp a small run's per-document rate. Returns the CPU seconds it took."""
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    started = time.process_time()
    load_word_tokenizer("en").word_tokenize("Warm up the tokenizer. Twice.")
    return time.process_time() - started


def _drain(steps: list) -> None:
    """Run datatrove steps as its local executor does for one rank: each step wraps the previous generator."""
    data = None
    for step in steps:
        data = step(data, rank=0, world_size=1)
    if data is not None:
        for _ in data:
            pass


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ------------------------------------------------------------------------------------------------- outcome


@dataclass
class GroupOutcome:
    docs: int
    chars_in: int  # characters of the ideal text: `clean_text` for damaged documents, else the raw text
    kept_docs: int
    kept_chars: int
    pii_values_left: int  # labeled PII values still present, verbatim, in kept text


def outcome(lake: Lake, kept: dict[str, str], ids: set[str]) -> GroupOutcome:
    texts = {row["id"]: row["text"] for row in lake.rows}
    chars_in = sum(len(lake.labels[i]["clean_text"] or texts[i]) for i in ids)
    kept_ids = [i for i in ids if i in kept]
    left = sum(p["value"] in kept[i] for i in kept_ids for p in lake.labels[i]["pii"])
    return GroupOutcome(len(ids), chars_in, len(kept_ids), sum(len(kept[i]) for i in kept_ids), left)
