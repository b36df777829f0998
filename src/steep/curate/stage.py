"""The curate stage: raw JSONL documents in, a clean, gated, deduplicated, PII-redacted corpus out.

    from steep.curate import CurateConfig, run_curate
    metrics = run_curate(CurateConfig(inputs=["data/raw/*.jsonl"]), Path("runs/demo/curate"))

Chain (one streaming pass, one document in memory at a time, plus the dedup digests):

    read -> clean -> quality -> compliance -> time -> pii -> dedup -> documents/part-00000.jsonl
       \\________\\________\\___________\\_______\\_______\\______> excluded.jsonl (every drop, with its reason)

Why this order:
- clean before quality: repair can turn a noisy page into a good document, and mojibake inflates the
  symbol ratio; judge what we will actually train on.
- quality and gates before pii and dedup: they are cheap and remove documents the expensive blocks then
  need not look at.
- pii BEFORE dedup (not after): the output must hold no two rows with the same normalised text, and that
  is only true if dedup sees the final text. Documents that differ only in their PII ("Dear <NAME>, your
  account <ACCOUNT> is overdue" x 10,000) are exact duplicates once redacted and should train once. Dedup
  also never holds digests of raw PII this way. The cost: PII regexes also run on documents dedup then
  drops (~ the duplicate rate, usually 10-40%); the regex pass is linear in text size, so we pay it.

Outputs in `out_dir` (each written to a temp name and renamed into place):
- documents/part-00000.jsonl  rows {id, text, meta}; `datasets.load_dataset("json", data_files=...)` loads it
- excluded.jsonl              rows {id, reason, block, detail, source, text, meta}, one per dropped document
- stats.json                  {"blocks": {name: {seen, kept, dropped: {reason: n}, seconds, counters}},
                               "metrics": <the returned dict>}
- report.md                   funnel, drop reasons, PII counts, bad input lines, before/after repair examples

With `pii.redact_excluded` (default), the text and detail of excluded rows and the report's examples are
redacted too, so no artifact of the run carries raw PII in document text. `meta` values are not scanned.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from steep.curate.block import Block, BlockStats, DropSink
from steep.curate.clean import TextCleaner
from steep.curate.config import CurateConfig
from steep.curate.dedup import build_deduplicator
from steep.curate.document import Dropped, reason_family
from steep.curate.gates import ComplianceGate, TimeGate
from steep.curate.pii import PiiRedactor
from steep.curate.quality import QualityFilter
from steep.curate.readers import JsonlReader, resolve_inputs
from steep.curate.writers import AtomicJsonlWriter, write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

DOCUMENTS_FILE = "documents/part-00000.jsonl"
EXCLUDED_FILE = "excluded.jsonl"
STATS_FILE = "stats.json"
REPORT_FILE = "report.md"
OUTPUT_FILES = (DOCUMENTS_FILE, EXCLUDED_FILE, STATS_FILE, REPORT_FILE)

_EXAMPLE_CHARS = 600
_BAD_INPUT_LISTED = 20


def build_blocks(cfg: CurateConfig, on_drop: DropSink | None = None) -> list[Block]:
    """The processing blocks after the reader, in chain order; disabled blocks are left out."""
    blocks: list[Block] = []
    if cfg.clean.enabled:
        blocks.append(TextCleaner(cfg.clean, on_drop))
    if cfg.quality.enabled:
        blocks.append(QualityFilter(cfg.quality, on_drop))
    blocks.append(ComplianceGate(cfg.compliance, on_drop))
    blocks.append(TimeGate(cfg.time, on_drop))
    if cfg.pii.enabled:
        blocks.append(PiiRedactor(cfg.pii, on_drop))
    if cfg.dedup.enabled:
        blocks.append(build_deduplicator(cfg.dedup, on_drop))
    return blocks


def run_curate(cfg: CurateConfig, out_dir: Path) -> dict[str, Any]:
    """Run the chain over `cfg.inputs`, write the four outputs into `out_dir`, return the metrics.

    Raises FileNotFoundError (naming every missing input) before any work or write.
    Metrics: docs_in, docs_out, dropped {reason family: n}, dropped_by_reason {reason: n}, bad_input,
    pii_redacted {type: n}, docs_repaired, docs_pii_redacted, seconds. docs_in == docs_out + sum(dropped).
    """
    paths = resolve_inputs(cfg.inputs)
    out_dir = Path(out_dir)
    _remove_stale_temp_files(out_dir)
    started = time.perf_counter()
    drops_by_block: Counter[tuple[str, str]] = Counter()
    scrub: Callable[[str], str] = _identity
    if cfg.pii.enabled and cfg.pii.redact_excluded:
        scrub = PiiRedactor(cfg.pii).redact

    with (
        AtomicJsonlWriter(out_dir / DOCUMENTS_FILE) as documents,
        AtomicJsonlWriter(out_dir / EXCLUDED_FILE) as excluded,
    ):

        def on_drop(dropped: Dropped) -> None:
            drops_by_block[dropped.block, dropped.reason] += 1
            row = dropped.to_row()
            row["text"], row["detail"] = scrub(row["text"]), scrub(row["detail"])
            excluded.write(row)

        reader = JsonlReader(paths, on_drop=on_drop)
        blocks = build_blocks(cfg, on_drop)
        stream = reader.run()
        for block in blocks:
            stream = block.run(stream)
        for doc in stream:
            documents.write(doc.to_row())
        docs_out = documents.rows

    stats: list[BlockStats] = [reader.stats, *(b.stats for b in blocks)]
    by_name = {s.name: s for s in stats}
    dropped_by_reason: Counter[str] = Counter()
    for (_, reason), n in drops_by_block.items():
        dropped_by_reason[reason] += n
    dropped: Counter[str] = Counter()
    for reason, n in dropped_by_reason.items():
        dropped[reason_family(reason)] += n
    pii_counts = by_name["pii"].counters if "pii" in by_name else Counter()
    metrics: dict[str, Any] = {
        "docs_in": reader.stats.seen,
        "docs_out": docs_out,
        "dropped": dict(sorted(dropped.items())),
        "dropped_by_reason": dict(sorted(dropped_by_reason.items())),
        "bad_input": dropped_by_reason.get("bad_input", 0),
        "pii_redacted": {t: pii_counts.get(t, 0) for t in cfg.pii.types} if cfg.pii.enabled else {},
        "docs_repaired": by_name["clean"].counters.get("docs_changed", 0) if "clean" in by_name else 0,
        "docs_pii_redacted": pii_counts.get("docs_redacted", 0),
        "input_files": len(paths),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if metrics["docs_in"] != docs_out + sum(dropped.values()):  # a block lost a document: a bug, say so
        raise RuntimeError(f"curate lost documents: {metrics['docs_in']} in, {docs_out} out, {dict(dropped)} dropped")

    write_json_atomic(out_dir / STATS_FILE, {"blocks": {s.name: s.as_dict() for s in stats}, "metrics": metrics})
    cleaner = next((b for b in blocks if isinstance(b, TextCleaner)), None)
    examples = [
        {"id": e["id"], "before": scrub(e["before"]), "after": scrub(e["after"])}
        for e in (cleaner.examples if cleaner else [])
    ]
    write_text_atomic(
        out_dir / REPORT_FILE,
        render_report(metrics, stats, drops_by_block, examples, [scrub(b) for b in reader.bad_locations], paths),
    )
    log.info(
        "curate: %d in, %d out, dropped %s, %.1fs", metrics["docs_in"], docs_out, metrics["dropped"], metrics["seconds"]
    )
    return metrics


def _identity(text: str) -> str:
    return text


def _remove_stale_temp_files(out_dir: Path) -> None:
    """Temp files of a killed earlier run (`.excluded.jsonl.<random>.tmp`) are ours to clear."""
    for name in OUTPUT_FILES:
        target = out_dir / name
        if target.parent.is_dir():
            for stale in target.parent.glob(f".{target.name}.*.tmp"):
                stale.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------- report


def _fenced(text: str) -> str:
    """A code fence longer than any backtick run inside, so the example cannot break the markdown."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _truncate(text: str, limit: int = _EXAMPLE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more characters]"


def render_report(
    metrics: dict[str, Any],
    stats: list[BlockStats],
    drops_by_block: Counter[tuple[str, str]],
    examples: list[dict[str, str]],
    bad_locations: list[str],
    inputs: list[Path],
) -> str:
    lines = [
        "# curate report",
        "",
        f"{metrics['docs_in']} documents in, **{metrics['docs_out']} out**, "
        f"{sum(metrics['dropped'].values())} dropped, from {len(inputs)} input file(s) "
        f"in {metrics['seconds']} s.",
        "",
        "## Funnel",
        "",
        "| block | in | kept | dropped | seconds |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for s in stats:
        lines.append(f"| {s.name} | {s.seen} | {s.kept} | {sum(s.dropped.values())} | {s.seconds:.3f} |")
    lines += ["", "## Drop reasons", ""]
    if drops_by_block:
        lines += ["| block | reason | documents |", "| --- | --- | ---: |"]
        for (block, reason), n in sorted(drops_by_block.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {block} | `{reason}` | {n} |")
    else:
        lines.append("Nothing was dropped.")
    if metrics["pii_redacted"]:
        lines += ["", "## PII redacted", "", "| type | spans |", "| --- | ---: |"]
        lines += [f"| {t} | {n} |" for t, n in metrics["pii_redacted"].items()]
        lines.append(f"\n{metrics['docs_pii_redacted']} document(s) had PII redacted (kept, not dropped).")
    if bad_locations:
        lines += ["", f"## Bad input ({len(bad_locations)} line(s), see excluded.jsonl)", ""]
        lines += [f"- `{loc}`" for loc in bad_locations[:_BAD_INPUT_LISTED]]
        if len(bad_locations) > _BAD_INPUT_LISTED:
            lines.append(f"- ... and {len(bad_locations) - _BAD_INPUT_LISTED} more")
    clean_stats = next((s for s in stats if s.name == "clean"), None)
    if clean_stats is not None:
        lines += ["", "## Repair", "", f"{metrics['docs_repaired']} document(s) changed by repair."]
        done = {k: v for k, v in sorted(clean_stats.counters.items()) if k != "docs_changed"}
        if done:
            lines.append("Passes: " + ", ".join(f"{k} {v}" for k, v in done.items()) + ".")
        for example in examples:
            lines += [
                "",
                f"### `{example['id']}`",
                "",
                "Before:",
                "",
                _fenced(_truncate(example["before"])),
                "",
                "After:",
                "",
                _fenced(_truncate(example["after"])),
            ]
    return "\n".join(lines) + "\n"
