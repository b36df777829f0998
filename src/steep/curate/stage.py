"""The curate stage: raw documents in, a clean, gated, deduplicated, PII-redacted corpus out.

    from steep.curate import CurateConfig, run_curate
    metrics = run_curate(CurateConfig(inputs=["data/raw/*.jsonl"]), Path("runs/demo/curate"))

Chain (streaming: one document in memory at a time per worker, plus the dedup digests), in two phases:

    MAP, per shard (a file, or a line range of a big JSONL file), shards in parallel:
    read -> clean -> compliance -> time -> [gates] -> [language] -> quality -> [decontam] -> pii
         -> shards/<id>/documents.jsonl, then done.json; every drop of every block, with its reason, goes to
            shards/<id>/excluded.jsonl   ([...]: only when configured)
    REDUCE, shards in input order, in this process:
    shards/*/documents.jsonl -> dedup -> documents/part-00000.jsonl; excluded.jsonl, stats.json, report.md

Why this order:
- clean before everything that judges text: repair can turn a noisy page into a good document, mojibake
  inflates the symbol ratio, and a codename split by a hyphenated line break matches only once rejoined.
- gates (compliance, time, user) before language and quality: a restricted or post-cutoff document is dropped,
  and counted, as what it is; the exclusion row's `also` lists what the later blocks would also drop it for.
- language before quality: the stop-word filter only judges English.
- gates and decontam before pii: they must see the text as written (a codename or an eval passage can sit
  next to an email address that redaction would rewrite).
- quality and gates before pii and dedup: they are cheap and remove documents the expensive blocks then
  need not look at.
- pii BEFORE dedup (not after): the output must hold no two rows with the same normalised text, and that
  is only true if exact dedup sees the final text. Documents that differ only in their PII ("Dear <NAME>, your
  account <ACCOUNT> is overdue" x 10,000) are exact duplicates once redacted and train once (with
  `pii.style: pseudonym` they stay different). Near-dup, though, compares a redacted document as it was
  written, each PII value an opaque keyed token (`dedup.near_text: original`, `steep.curate.dedup_view`):
  compared on placeholders, templated documents look alike, and near-dup once removed 72% of a lake of
  policy documents and support logs. Dedup never holds digests of raw PII either way. The cost: PII regexes
  also run on documents dedup then drops (~ the duplicate rate, usually 10-40%), and the near-dup view runs
  the detector again on documents that had PII; the regex pass is linear in text size, so we pay it.
- dedup (and any block after it) in the REDUCE: "first seen wins" needs one global order, and a duplicate can
  sit in another shard. Every block before dedup looks at one document at a time, so it parallelises; the
  reduce replays the shards in input order, so the output is byte-identical whatever the executor and the
  number of workers, and equal to one sequential pass.

Execution (`executor:`, see `steep.curate.executor`): `{kind: local, workers: 1}` (default) runs the shards in
this process, `workers: N` in N processes, `kind: ray` as Ray tasks. Each finished shard leaves a completion
marker; a rerun with the same config and inputs skips those shards (metrics `shards`, `shards_resumed`), so a
killed run resumes. The pipeline runs curate in `<run_dir>/curate.partial/` and keeps it while config and
inputs match, so the markers survive a kill there too.

Outputs in `out_dir` (each written to a temp name and renamed into place):
- documents/part-00000.jsonl  rows {id, text, meta}; `datasets.load_dataset("json", data_files=...)` loads it
- excluded.jsonl              rows {id, reason, block, detail, source, text, meta, also}, one per dropped
                              document, in input order; `also`: [{block, reason, detail}] the later blocks
                              would also have dropped it for. A gate's drop (compliance, time, user gates)
                              has `text: null` and `text_sha256`, `text_chars` instead, unless
                              `exclusions.keep_text` (and its repair example is left out of report.md)
- stats.json                  {"blocks": {name: {seen, kept, dropped: {reason: n}, seconds, counters}},
                               "metrics": <the returned dict>}; a MAP block's numbers are its shards' summed
                               (its seconds are CPU seconds over all workers)
- report.md                   funnel, drop reasons, PII counts, duplicate clusters, bad input lines,
                              before/after repair examples
- duplicate_clusters.jsonl    rows {kept, size, duplicates: [{id, reason}]}, largest cluster first
- shards/                     per-shard outputs and markers, removed after success unless `executor.keep_shards`

With `pii.redact_excluded` (default), the text and detail of excluded rows and the report's examples are
redacted too, so no artifact of the run carries raw PII in document text. `meta` values are not scanned.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from steep import __version__
from steep.artifacts import atomic_write_text
from steep.curate.audit import also_dropped_by, curate_warnings, undated_metrics
from steep.curate.block import Block, BlockStats, DropSink
from steep.curate.clean import TextCleaner
from steep.curate.config import WITHHELD_BLOCKS, CurateConfig
from steep.curate.decontam import Decontaminator
from steep.curate.dedup import build_deduplicator
from steep.curate.dedup_view import DedupViewPii
from steep.curate.document import Document, Dropped, reason_family
from steep.curate.executor import run_shards
from steep.curate.gates import ComplianceGate, TimeGate
from steep.curate.langid import LanguageFilter
from steep.curate.pii import PiiRedactor
from steep.curate.quality import QualityFilter
from steep.curate.readers import DocumentReader, resolve_inputs
from steep.curate.shards import (
    SHARDS_DIR,
    Shard,
    clear_marker,
    file_identity,
    is_done,
    mark_done,
    plan_shards,
    shard_dir,
    shard_fingerprint,
)
from steep.curate.user_gates import UserGatesBlock
from steep.curate.writers import AtomicJsonlWriter, write_json_in_order

log = logging.getLogger(__name__)

DOCUMENTS_FILE = "documents/part-00000.jsonl"
EXCLUDED_FILE = "excluded.jsonl"
STATS_FILE = "stats.json"
REPORT_FILE = "report.md"
CLUSTERS_FILE = "duplicate_clusters.jsonl"
OUTPUT_FILES = (DOCUMENTS_FILE, EXCLUDED_FILE, STATS_FILE, REPORT_FILE, CLUSTERS_FILE)
_CLUSTERS_LISTED = 5
# In shards/<id>/: kept documents; drops as {"kept_before": n, "row": <excluded row>} (n = documents the shard
# kept before this drop, so the reduce can replay both in input order); the shard's block stats.
SHARD_DOCUMENTS, SHARD_EXCLUDED, SHARD_STATS = "documents.jsonl", "excluded.jsonl", "stats.json"
# The first block of the REDUCE: it and every block after it see the whole corpus, in input order.
REDUCE_FROM_BLOCK = "dedup"

_EXAMPLE_CHARS = 600
_BAD_INPUT_LISTED = 20


def build_blocks(cfg: CurateConfig, on_drop: DropSink | None = None) -> list[Block]:
    """The processing blocks after the reader, in chain order; disabled blocks are left out."""
    blocks: list[Block] = []
    if cfg.clean.enabled:
        blocks.append(TextCleaner(cfg.clean, on_drop))
    # Gates before heuristics: a restricted or post-cutoff document is dropped, and counted, as what it is (a
    # quality filter that ran first once dropped the restricted memos, and the funnel credited compliance with 0).
    blocks.append(ComplianceGate(cfg.compliance, on_drop))
    blocks.append(
        TimeGate(cfg.time, on_drop, corpus=partial(_lake_documents, cfg), corpus_key=partial(_corpus_key, cfg))
    )
    if cfg.gates:  # the operator's own gates: after the built-in ones, before pii (they see the unredacted text)
        blocks.append(UserGatesBlock(cfg.gates, on_drop))
    if cfg.language.enabled:  # before quality: the English stop-word filter skips documents it marks non-English
        blocks.append(LanguageFilter(cfg.language, on_drop))
    if cfg.quality.enabled:
        blocks.append(QualityFilter(cfg.quality, on_drop))
    if cfg.decontam.eval_files:
        blocks.append(
            Decontaminator(cfg.decontam, on_drop, corpus=partial(_training_texts, cfg), corpus_key=partial(_corpus_key, cfg))
        )
    if cfg.pii.enabled:
        blocks.append(DedupViewPii(PiiRedactor(cfg.pii, on_drop)))
    if cfg.dedup.enabled:
        blocks.append(build_deduplicator(cfg.dedup, on_drop))
    return blocks


def _lake_documents(cfg: CurateConfig) -> Iterator[Document]:
    """Every input document as read, for what the time gate learns from the dated ones (one extra read)."""
    yield from make_reader(cfg, resolve_inputs(cfg.inputs)).run()


def _corpus_key(cfg: CurateConfig) -> tuple[str, ...]:
    return tuple(json.dumps(file_identity(p), sort_keys=True) for p in resolve_inputs(cfg.inputs))


def _training_texts(cfg: CurateConfig) -> Iterator[str]:
    """Every input document's raw text, for decontam's count of boilerplate n-grams (one extra read)."""
    for doc in make_reader(cfg, resolve_inputs(cfg.inputs)).run():
        yield doc.text


def make_reader(cfg: CurateConfig, paths: list[Path], on_drop: DropSink | None = None) -> Any:
    """The reader of the chain (stats name "read"; `bad_locations` for the report)."""
    return DocumentReader(paths, cfg.read, on_drop=on_drop, inputs=cfg.inputs)


def reads_line_ranges(reader: Any) -> bool:
    """Whether the reader can read a byte range of a JSONL file: `read_file(path, start=, end=, first_line=)`.

    Without it every file is one shard (correct, only coarser)."""
    read_file = getattr(reader, "read_file", None)
    return read_file is not None and "first_line" in inspect.signature(read_file).parameters


def _read_shard(reader: Any, shard: Shard) -> Iterator[Document]:
    path = Path(shard.path)
    if shard.whole_file:
        return reader.read_file(path) if hasattr(reader, "read_file") else reader.run()
    return reader.read_file(path, start=shard.start, end=shard.end, first_line=shard.first_line)


def _reduce_from(blocks: list[Block]) -> int:
    """Index of the first REDUCE block in chain order (len(blocks) when dedup is off)."""
    return next((i for i, b in enumerate(blocks) if b.name == REDUCE_FROM_BLOCK), len(blocks))


def _excluded_scrubber(cfg: CurateConfig) -> Callable[[str], str]:
    if cfg.pii.enabled and cfg.pii.redact_excluded:
        return PiiRedactor(cfg.pii).redact
    return _identity


def _withhold_text(cfg: CurateConfig, row: dict[str, Any]) -> bool:
    """Replace a gated document's text by its hash and length (see `ExclusionsConfig`); True when it did."""
    if cfg.exclusions.keep_text or row["block"] not in WITHHELD_BLOCKS:
        return False
    text = row["text"] or ""
    row["text"], row["text_sha256"], row["text_chars"] = None, hashlib.sha256(text.encode("utf-8")).hexdigest(), len(text)
    return True


def run_curate(cfg: CurateConfig, out_dir: Path) -> dict[str, Any]:
    """Run the chain over `cfg.inputs`, write the four outputs into `out_dir`, return the metrics.

    Raises FileNotFoundError (naming every missing input) before any work or write; `ShardFailed` (naming the
    shard's file and range) when a block raises, after the finished shards have left their markers.
    Metrics: docs_in, docs_out, dropped {reason family: n}, dropped_by_reason {reason: n}, bad_input,
    pii_redacted {type: n}, docs_repaired, docs_pii_redacted, input_files, shards, shards_resumed, seconds.
    docs_in == docs_out + sum(dropped).
    """
    paths = resolve_inputs(cfg.inputs)
    out_dir = Path(out_dir)
    _remove_stale_temp_files(out_dir)
    started = time.perf_counter()

    shard_bytes = max(1, int(cfg.executor.shard_mb * 2**20))
    shards = plan_shards(paths, shard_bytes, split_jsonl=reads_line_ranges(make_reader(cfg, [])))
    # What the MAP's output depends on: the config but the executor (how, not what) and dedup (REDUCE only: retuning
    # it reuses every shard), and every input file: a MAP block may read the whole corpus (decontam counts
    # boilerplate n-grams over all inputs), so a changed input invalidates every shard (the pipeline would rerun
    # the stage anyway).
    map_config = {
        **cfg.model_dump(mode="json", exclude={"executor", "dedup"}),
        "corpus": [file_identity(p) for p in paths],
    }
    fingerprints = {s.index: shard_fingerprint(s, map_config, __version__) for s in shards}
    todo = [s for s in shards if not is_done(shard_dir(out_dir, s), fingerprints[s.index])]
    if len(todo) < len(shards):
        log.info("curate: %d of %d shard(s) done by an earlier run, skipped", len(shards) - len(todo), len(shards))
    run_shards(partial(map_shard, cfg, out_dir.resolve(), fingerprints), todo, cfg.executor)

    metrics = _reduce(cfg, out_dir, shards, paths, resumed=len(shards) - len(todo), started=started)
    if not cfg.executor.keep_shards:
        shutil.rmtree(out_dir / SHARDS_DIR, ignore_errors=True)
    log.info(
        "curate: %d in, %d out, dropped %s, %d shard(s) (%d resumed), %.1fs",
        metrics["docs_in"], metrics["docs_out"], metrics["dropped"], len(shards), metrics["shards_resumed"],
        metrics["seconds"],
    )  # fmt: skip
    undated = metrics["undated"]
    if undated and undated["undated"]:
        log.info(
            "curate: time gate: %d of %d document(s) undated (no usable meta.%s); undated: %s -> %d dropped, %d kept",
            undated["undated"], undated["undated"] + undated["dated"], undated["date_field"], undated["policy"],
            undated["dropped"], undated["kept"],
        )  # fmt: skip
    return metrics


def map_shard(cfg: CurateConfig, out_dir: Path, fingerprints: dict[int, str], shard: Shard) -> None:
    """MAP: the blocks before dedup over one shard; outputs into `shards/<id>/`, then its completion marker.

    A module-level function of picklable arguments, so a process pool and Ray can run it as is."""
    directory = shard_dir(out_dir, shard)
    clear_marker(directory)
    scrub = _excluded_scrubber(cfg)
    drops_by_block: Counter[tuple[str, str]] = Counter()
    also_by_block: Counter[tuple[str, str]] = Counter()
    blocks: list[Block] = []
    withheld: set[str] = set()  # ids whose text the exclusion rows withhold: their repair examples go too
    with (
        AtomicJsonlWriter(directory / SHARD_DOCUMENTS) as documents,
        AtomicJsonlWriter(directory / SHARD_EXCLUDED) as excluded,
    ):

        def on_drop(dropped: Dropped) -> None:
            drops_by_block[dropped.block, dropped.reason] += 1
            row = dropped.to_row()
            if _withhold_text(cfg, row):
                withheld.add(row["id"])
            else:
                row["text"] = scrub(row["text"])
            row["detail"] = scrub(row["detail"])
            row["also"] = [{**a, "detail": scrub(a["detail"])} for a in also_dropped_by(blocks, dropped)]
            for also in row["also"]:
                also_by_block[dropped.block, also["block"]] += 1
            excluded.write({"kept_before": documents.rows, "row": row})

        reader = make_reader(cfg, [Path(shard.path)], on_drop)
        blocks += build_blocks(cfg, on_drop)
        del blocks[_reduce_from(blocks) :]
        stream = _read_shard(reader, shard)
        for block in blocks:
            stream = block.run(stream)
        for doc in stream:
            row = doc.to_row()
            if doc.dedup_view is not None:
                row["dedup_view"] = doc.dedup_view
            documents.write(row)

    cleaner = next((b for b in blocks if isinstance(b, TextCleaner)), None)
    write_json_in_order(
        directory / SHARD_STATS,
        {
            "blocks": [{"name": s.name, **s.as_dict()} for s in [reader.stats, *(b.stats for b in blocks)]],
            "drops_by_block": [[block, reason, n] for (block, reason), n in drops_by_block.items()],
            "also_by_block": [[first, also, n] for (first, also), n in also_by_block.items()],
            "bad_locations": [scrub(b) for b in reader.bad_locations],
            "examples": [
                {"id": e["id"], "before": scrub(e["before"]), "after": scrub(e["after"])}
                for e in (cleaner.examples if cleaner else [])
                if e["id"] not in withheld
            ],
        },
    )
    mark_done(directory, fingerprints[shard.index])


def _merge_stats(into: dict[str, BlockStats], rows: list[dict[str, Any]]) -> None:
    for row in rows:
        stats = into.setdefault(row["name"], BlockStats(row["name"]))
        stats.seen += row["seen"]
        stats.kept += row["kept"]
        stats.dropped.update(row["dropped"])
        stats.seconds += row["seconds"]
        stats.counters.update(row.get("counters", {}))


def _replay_shards(out_dir: Path, shards: list[Shard], excluded: AtomicJsonlWriter) -> Iterator[Document]:
    """The MAP's kept documents in input order; each shard's drops are written to `excluded` at the point of
    the stream where they happened, so excluded.jsonl matches a single sequential pass row for row."""
    for shard in shards:
        directory = shard_dir(out_dir, shard)
        with open(directory / SHARD_EXCLUDED, encoding="utf-8") as drops:
            pending = [json.loads(line) for line in drops]  # drops are small rows; kept documents stream
        position = 0
        with open(directory / SHARD_DOCUMENTS, encoding="utf-8") as kept:
            for kept_before, line in enumerate(kept):
                while position < len(pending) and pending[position]["kept_before"] <= kept_before:
                    excluded.write(pending[position]["row"])
                    position += 1
                row = json.loads(line)
                yield Document(id=row["id"], text=row["text"], meta=row["meta"], dedup_view=row.get("dedup_view"))
        for drop in pending[position:]:
            excluded.write(drop["row"])


def _reduce(
    cfg: CurateConfig, out_dir: Path, shards: list[Shard], paths: list[Path], resumed: int, started: float
) -> dict[str, Any]:
    """REDUCE: dedup (and any later block) over the shards in order; the final outputs; the metrics."""
    shard_stats = [json.loads((shard_dir(out_dir, s) / SHARD_STATS).read_text(encoding="utf-8")) for s in shards]
    map_stats: dict[str, BlockStats] = {}
    drops_by_block: Counter[tuple[str, str]] = Counter()
    also_by_block: Counter[tuple[str, str]] = Counter()
    bad_locations: list[str] = []
    examples: list[dict[str, str]] = []
    for stats in shard_stats:
        _merge_stats(map_stats, stats["blocks"])
        drops_by_block.update({(block, reason): n for block, reason, n in stats["drops_by_block"]})
        also_by_block.update({(first, also): n for first, also, n in stats.get("also_by_block", [])})
        bad_locations += stats["bad_locations"]
        examples += stats["examples"]
    scrub = _excluded_scrubber(cfg)

    with (
        AtomicJsonlWriter(out_dir / DOCUMENTS_FILE) as documents,
        AtomicJsonlWriter(out_dir / EXCLUDED_FILE) as excluded,
    ):

        def on_drop(dropped: Dropped) -> None:
            drops_by_block[dropped.block, dropped.reason] += 1
            if dropped.reason.startswith("duplicate:"):  # dedup's detail is the id of the copy it kept
                clusters.setdefault(dropped.detail, []).append({"id": dropped.doc.id, "reason": dropped.reason})
            row = dropped.to_row()
            row["text"], row["detail"] = scrub(row["text"]), scrub(row["detail"])
            row["also"] = []  # dedup is the last filter: a document reaching it passed every other block
            excluded.write(row)

        clusters: dict[str, list[dict[str, str]]] = {}  # kept id -> the duplicates dropped in its favour
        blocks = build_blocks(cfg, on_drop)
        blocks = blocks[_reduce_from(blocks) :]
        stream = _replay_shards(out_dir, shards, excluded)
        for block in blocks:
            stream = block.run(stream)
        for doc in stream:
            documents.write(doc.to_row())
        docs_out = documents.rows

    stats_list: list[BlockStats] = [*map_stats.values(), *(b.stats for b in blocks)]
    by_name = {s.name: s for s in stats_list}
    dropped_by_reason: Counter[str] = Counter()
    for (_, reason), n in drops_by_block.items():
        dropped_by_reason[reason] += n
    dropped: Counter[str] = Counter()
    for reason, n in dropped_by_reason.items():
        dropped[reason_family(reason)] += n
    pii_counts = by_name["pii"].counters if "pii" in by_name else Counter()
    metrics: dict[str, Any] = {
        "docs_in": by_name["read"].seen,
        "docs_out": docs_out,
        "dropped": dict(sorted(dropped.items())),
        "dropped_by_reason": dict(sorted(dropped_by_reason.items())),
        "bad_input": dropped_by_reason.get("bad_input", 0),
        "pii_redacted": (
            {t: pii_counts.get(t, 0) for t in [*cfg.pii.types, *(c.name for c in cfg.pii.custom)]}
            if cfg.pii.enabled
            else {}
        ),
        "docs_repaired": by_name["clean"].counters.get("docs_changed", 0) if "clean" in by_name else 0,
        "docs_pii_redacted": pii_counts.get("docs_redacted", 0),
        "input_files": len(paths),
        "shards": len(shards),
        "shards_resumed": resumed,
        "seconds": round(time.perf_counter() - started, 3),  # wall time of both phases
    }
    if metrics["docs_in"] != docs_out + sum(dropped.values()):  # a block lost a document: a bug, say so
        raise RuntimeError(f"curate lost documents: {metrics['docs_in']} in, {docs_out} out, {dict(dropped)} dropped")

    cluster_rows = [{"kept": kept, "size": 1 + len(dups), "duplicates": dups} for kept, dups in clusters.items()]
    cluster_rows.sort(key=lambda row: (-row["size"], row["kept"]))
    with AtomicJsonlWriter(out_dir / CLUSTERS_FILE) as writer:
        for row in cluster_rows:
            writer.write(row)
    metrics["duplicate_clusters"] = len(cluster_rows)
    metrics["undated"] = undated_metrics(cfg, by_name.get("time"))
    warnings = curate_warnings(cfg, metrics, stats_list)
    metrics["warnings"] = warnings
    for warning in warnings:
        log.warning("curate: %s", warning)
    write_json_in_order(out_dir / STATS_FILE, {"blocks": {s.name: s.as_dict() for s in stats_list}, "metrics": metrics})
    atomic_write_text(
        out_dir / REPORT_FILE,
        render_report(
            metrics, stats_list, drops_by_block, examples[: cfg.clean.examples_in_report], bad_locations, paths,
            cluster_rows, also_by_block,
        ),  # fmt: skip
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
    clusters: list[dict[str, Any]] | None = None,
    also_by_block: Counter[tuple[str, str]] | None = None,
) -> str:
    lines = [
        "# curate report",
        "",
        (
            f"{metrics['docs_in']} documents in, **{metrics['docs_out']} out**, "
            f"{sum(metrics['dropped'].values())} dropped, from {len(inputs)} input file(s) "
            f"in {metrics['seconds']} s."
        ),
        "",
    ]
    if metrics.get("warnings"):
        lines += ["## Warnings", ""] + [f"- **{w}**" for w in metrics["warnings"]] + [""]
    undated = metrics.get("undated") or {}
    if undated:
        lines += [
            "## Undated documents",
            "",
            (
                f"{undated['undated']} of {undated['dated'] + undated['undated']} documents had no usable "
                f"`meta.{undated['date_field']}` ({undated['no_field']} without the field, {undated['unparseable']} "
                f"unparseable); `undated: {undated['policy']}`: {undated['dropped']} dropped, {undated['kept']} kept."
            ),
            "",
        ]
    lines += [
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
    if also_by_block:
        lines += ["", "## Also dropped by later blocks (see `also` in excluded.jsonl)", ""]
        lines += ["| dropped by | would also drop | documents |", "| --- | --- | ---: |"]
        for (first, also), n in sorted(also_by_block.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {first} | {also} | {n} |")
    if metrics["pii_redacted"]:
        lines += ["", "## PII redacted", "", "| type | spans |", "| --- | ---: |"]
        lines += [f"| {t} | {n} |" for t, n in metrics["pii_redacted"].items()]
        lines.append(f"\n{metrics['docs_pii_redacted']} document(s) had PII redacted (kept, not dropped).")
    if clusters:
        sizes = Counter(row["size"] for row in clusters)
        lines += ["", f"## Duplicate clusters ({len(clusters)}, see {CLUSTERS_FILE})", ""]
        lines.append("Sizes: " + ", ".join(f"{n} of {size}" for size, n in sorted(sizes.items())) + ". Largest:")
        lines.append("")
        for row in clusters[:_CLUSTERS_LISTED]:
            shown = ", ".join(f"`{d['id']}` ({d['reason'].split(':', 1)[1]})" for d in row["duplicates"][:8])
            more = f" and {len(row['duplicates']) - 8} more" if len(row["duplicates"]) > 8 else ""
            lines.append(f"- kept `{row['kept']}`, dropped {shown}{more}")
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
