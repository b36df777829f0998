"""Leak tests: no canary value in any file of the run, nor in any model's answers to the canaries' probes.

    eval:
      leaks: {canaries: examples/demo/data/canaries.jsonl, probe: true, max_new_tokens: 48}

eval runs them (`steep eval PIPELINE.yaml`): `LeakCheck.probe` on each model it scores, then `LeakCheck.finish`
scans every file under the run directory (`steep.tasks.leak_scan`; eval's own answers.jsonl included) and
returns eval's top-level `leaks` metrics:

    {"count": 2, "hits": [{"canary": "pii-001", "where": "curate/documents/part-00000.jsonl", "line": 12},
                          {"canary": "pii-001", "where": "probe pii-001#0", "model": "cpt"}],
     "checked_files": 41, "checked_bytes": 3120000, "probes": 12, "canaries": 6,
     "skipped": [{"where": "cpt/model/model.safetensors", "bytes": 5600000, "why": "binary"}]}

Each hit is also logged as an error naming the canary's id and where it was found. Nothing steep writes holds a
canary's value (ids only; probe answers are saved masked), so the check never finds its own report. The
canaries file belongs beside the raw data, outside the run directory; if it is inside, it is not scanned.
Gate on it with `gates: [{stage: eval, metric: leaks.count, max: 0}]`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import Field, field_validator

from steep.schema import ExistingPath, StrictModel
from steep.tasks.canaries import CanaryFileError, CanaryMatcher, load_canaries
from steep.tasks.leak_scan import scan_tree


class LeaksConfig(StrictModel):
    """Canary leak tests, run by eval (see the module docstring)."""

    canaries: ExistingPath = Field(description="JSONL of {id, value, kind, probes}; `steep demo-data` writes one")
    scan: bool = Field(True, description="search every text file under the run directory for the values")
    probe: bool = Field(True, description="ask every model eval scores the probe questions (greedy)")
    max_new_tokens: int = Field(48, ge=1, description="length of each probe answer")
    system_prompt: str | None = Field(None, description="sent before each probe (your chat models' system prompt)")
    exclude: list[str] = Field([], description="run-dir-relative paths or globs not to scan, e.g. 'curate/shards/**'")

    @field_validator("canaries")
    @classmethod
    def _readable(cls, path: Path) -> Path:
        try:
            load_canaries(path)
        except CanaryFileError as error:
            raise ValueError(str(error)) from None
        return path


def _published(where: str) -> str:
    """`eval.partial/answers.jsonl` -> `eval/answers.jsonl`: where the file is once its stage completes."""
    head, slash, rest = where.partition("/")
    return f"{head.removesuffix('.partial')}/{rest}" if slash and head.endswith(".partial") else where


class LeakCheck:
    """Collects the leak hits of one eval run."""

    def __init__(self, cfg: LeaksConfig, run_dir: Path, log: logging.Logger):
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.log = log
        self.matcher = CanaryMatcher(load_canaries(cfg.canaries))
        self.hits: list[dict] = []
        self.records: list[dict] = []  # probe answers, masked
        self.probes_asked = 0

    def probe(self, stage: str, model, tokenizer, device: str, seed: int) -> None:
        """Ask one model every probe; its hits name the model."""
        if not self.cfg.probe:
            return
        from steep.generate.hf import HFChatGenerator
        from steep.tasks.leak_probe import probe_model

        generator = HFChatGenerator(model, tokenizer, device)
        hits, records = probe_model(generator, self.matcher, self.cfg.max_new_tokens, seed, self.cfg.system_prompt)
        self.probes_asked += len(records)
        self.hits += [{**hit, "model": stage} for hit in hits]
        self.records += [{"model": stage, **record} for record in records]

    def finish(self) -> dict:
        """Scan the run directory, log every hit as an error, return the `leaks` metrics."""
        checked_files = checked_bytes = 0
        skipped: list[dict] = []
        file_hits: list[dict] = []
        if self.cfg.scan:
            report = scan_tree(self.run_dir, self.matcher, self.cfg.exclude, skip_paths={Path(self.cfg.canaries)})
            file_hits, skipped = [{**hit, "where": _published(hit["where"])} for hit in report.hits], report.skipped
            checked_files, checked_bytes = report.checked_files, report.checked_bytes
            if skipped:
                self.log.info(f"leaks: {len(skipped)} binary file(s) not searched, e.g. {skipped[0]['where']}")
        hits = file_hits + self.hits
        for hit in hits:
            where = hit["where"] + (f":{hit['line']}" if "line" in hit else "") + (f" (model {hit['model']})" if "model" in hit else "")
            self.log.error(f"LEAK: canary {hit['canary']} found in {where}")
        summary = f"{len(self.matcher.canaries)} canaries, {checked_files} files, {self.probes_asked} probe answers"
        if hits:
            self.log.error(f"leaks: {len(hits)} hit(s) of {len({h['canary'] for h in hits})} canary(ies) ({summary})")
        else:
            self.log.info(f"leaks: none ({summary})")
        return {
            "count": len(hits),
            "hits": hits,
            "checked_files": checked_files,
            "checked_bytes": checked_bytes,
            "probes": self.probes_asked,
            "canaries": len(self.matcher.canaries),
            "skipped": skipped,
        }
