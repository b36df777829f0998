"""The curate benchmark: steep against datatrove, datasketch and Presidio, side by side, in one run.

    bash bench/curate/setup.sh                                  # once: bench/.venv with datatrove, datasketch
    bench/.venv/bin/python bench/curate/run.py                  # scale 25 (~10,000 docs), writes RESULTS.md
    bench/.venv/bin/python bench/curate/run.py --scale 1 --neardup-docs 1000 --results /tmp/r.md   # a quick look

Three parts, all on the labeled demo lake (`steep.demo.domain`) at `--scale` (scale 25 = 10,000 documents):
1. chain: steep's `run_curate` with the demo's curate config vs the datatrove chain ftfy -> Gopher -> C4 -> PII
   -> exact dedup: documents/s per core, and what each keeps of the PII documents and of the OCR/mojibake-damaged
   documents (kept count, kept characters, labeled PII values still verbatim in kept text).
2. near-dup: signatures/s per core, pair precision/recall on the lake's labeled near duplicates (exact copies
   removed first) and on a synthetic corpus of hard copies (5% of words replaced at scattered positions).
3. PII: characters/s per core, precision/recall per type on the lake's labels.

Every component runs in this one process, one after the other, one worker, numeric libraries held to one
thread; per-core rates divide by `time.process_time()`, wall seconds are reported beside. The network is
switched off for the whole run (any connection attempt raises), so nothing can phone home unnoticed.
"""

# ruff: noqa: E402  (the thread limits below must be set before numpy and friends are imported)
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # one worker means one thread too: per-core rates must not hide a thread pool
os.environ.setdefault("LOGURU_LEVEL", "WARNING")  # datatrove logs every file it opens at INFO through loguru
os.environ.setdefault("TQDM_DISABLE", "1")  # and draws progress bars for its dedup stages

import argparse
import logging
import platform
import shlex
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from chains import GOPHER_RELAXED, ChainRun, outcome, run_datatrove_chain, run_steep_chain
from lake import Lake, NearDupCorpus, build_lake, distinct_originals, hard_near_duplicates
from neardup import NearDupResult, compare_near_dup
from pii_detect import TYPES, PiiResult, compare_pii, labeled_pii

# Distinct originals per demo lake document (the lake minus duplicates, their sources, damaged docs and filler):
# measured 0.51 at scales 1, 4 and 6; 0.48 leaves a margin when sizing a second lake for the synthetic corpus.
_ORIGINALS_SHARE = 0.48


def _no_network(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("the benchmark tried to open a network connection; it must run offline")


def block_network() -> None:
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    socket.socket.connect_ex = _no_network  # type: ignore[method-assign]
    socket.create_connection = _no_network  # type: ignore[assignment]
    socket.getaddrinfo = _no_network  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------------- report


def _f(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _rate(x: float) -> str:
    return f"{x:,.0f}"


def chain_table(lake: Lake, runs: list[ChainRun]) -> list[str]:
    lines = [
        (
            "| chain | docs in | docs kept | CPU s | wall s | docs/s per core | PII docs kept | PII docs kept chars "
            "| PII values left verbatim | damaged docs kept | damaged docs kept chars |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    pii_ids, damaged_ids = lake.pii_docs, lake.damaged_docs
    for run in runs:
        p, d = outcome(lake, run.kept, pii_ids), outcome(lake, run.kept, damaged_ids)
        lines.append(
            f"| {run.name} | {run.docs_in} | {len(run.kept)} | {run.cpu_s:.1f} | {run.wall_s:.1f} "
            f"| {_rate(run.docs_per_cpu_s)} | {p.kept_docs}/{p.docs} | {p.kept_chars:,}/{p.chars_in:,} "
            f"| {p.pii_values_left} | {d.kept_docs}/{d.docs} | {d.kept_chars:,}/{d.chars_in:,} |"
        )
    for run in runs:
        lines += [f"- {run.name}: {note}" for note in run.notes]
    lines += [
        "",
        (
            "PII docs: documents with at least one labeled PII value; input characters count the undamaged text. "
            "Damaged docs: OCR-damaged and mojibake documents (labels carry `clean_text`); input characters are those "
            "of `clean_text`, so kept/input near 1 means the text survived whole. PII values left: labeled values "
            "found verbatim in kept text (lower is better; steep redacts, datatrove's PIIFormatter handles emails and "
            "public IPs only). steep also applies the demo's compliance and time gates; datatrove has no such block."
        ),
    ]
    return lines


def near_dup_table(title: str, results: list[NearDupResult]) -> list[str]:
    lines = [
        f"### {title}",
        "",
        (
            "| method | docs | signatures/s per core | docs/s per core (whole method) | CPU s | wall s | precision "
            "| precision within a part | recall | pairs predicted | true pairs | wrong pairs (across parts) "
            "| least 2-gram Jaccard of a wrong pair |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        sig = r.signatures_per_cpu_s
        lines.append(
            f"| {r.name} | {r.docs} | {'n/a' if sig is None else _rate(sig)} | {_rate(r.docs / r.cpu_s)} "
            f"| {r.cpu_s:.1f} | {r.wall_s:.1f} | {_f(r.precision)} | {_f(r.precision_within_parts)} | {_f(r.recall)} "
            f"| {r.predicted_pairs} | {r.true_pairs} | {r.wrong_pairs} ({r.wrong_pairs_across_parts}) "
            f"| {'-' if r.wrong_pair_min_jaccard is None else _f(r.wrong_pair_min_jaccard, 2)} |"
        )
    return lines


def pii_table(results: list[PiiResult]) -> list[str]:
    header = "| detector | chars/s per core | CPU s | " + " | ".join(f"{t} P / R" for t in TYPES) + " |"
    lines = [header, "| --- | ---: | ---: |" + " ---: |" * len(TYPES)]
    for r in results:
        cells = [f"{_f(r.precision(t), 2)} / {_f(r.recall(t), 2)}" for t in TYPES]
        lines.append(f"| {r.name} | {_rate(r.chars_per_cpu_s)} | {r.cpu_s:.2f} | " + " | ".join(cells) + " |")
    steep_counts = results[0].counts  # steep has every type, so its tp + fn is the whole gold set
    counts = ", ".join(f"{t} {steep_counts.get(t, [0, 0, 0])[0] + steep_counts.get(t, [0, 0, 0])[2]}" for t in TYPES)
    lines += ["", f"Labeled spans per type: {counts}. n/a: the detector has no such type (and predicted none)."]
    return lines


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, {platform.system()}"


def versions() -> str:
    names = ("steep", "datatrove", "datasketch", "presidio-analyzer", "ftfy", "numpy", "spacy", "phonenumbers")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ----------------------------------------------------------------------------------------------------- main


def lake_near_dup_corpus(lake: Lake) -> NearDupCorpus:
    """The lake without its exact copies and empty/junk filler: near duplicates are what is left to find."""
    docs = [
        (row["id"], row["text"])
        for row in lake.rows
        if not lake.labels[row["id"]]["exact_duplicate_of"]
        and row["text"].strip()
        and not lake.labels[row["id"]]["junk"]
    ]
    ids = {doc_id for doc_id, _ in docs}
    return NearDupCorpus(docs, lake.near_dup_clusters(ids))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=25.0, help="demo lake scale; 25 = 10,000 documents")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--neardup-docs", type=int, default=5000, help="size of the synthetic hard near-dup corpus")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/steep-bench-curate"))
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--skip-datatrove", action="store_true", help="steep, datasketch and Presidio only")
    args = parser.parse_args(argv)
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    block_network()
    started = time.perf_counter()
    work = args.work_dir

    lake = build_lake(work / f"lake-scale{args.scale:g}-seed{args.seed}", args.scale, args.seed)
    print(
        f"lake: {len(lake.rows)} documents ({lake.parts} part(s)), {len(lake.pii_docs)} with PII, "
        f"{len(lake.damaged_docs)} damaged, {lake.cross_part_exact} exact copies across parts",
        flush=True,
    )
    curate_section = yaml.safe_load((REPO / "examples/demo/pipeline.yaml").read_text())["curate"]

    runs = [run_steep_chain(lake, curate_section, work)]
    print(f"chain steep: {runs[-1].cpu_s:.1f} CPU s", flush=True)
    if not args.skip_datatrove:
        for gopher in (None, GOPHER_RELAXED):
            runs.append(run_datatrove_chain(lake, work, gopher))
            print(f"chain {runs[-1].name}: {runs[-1].cpu_s:.1f} CPU s", flush=True)

    lake_corpus = lake_near_dup_corpus(lake)
    lake_nd = compare_near_dup(lake_corpus, work / "lake-neardup", with_datatrove=not args.skip_datatrove)
    print("near-dup on the lake: done", flush=True)
    n_orig = round(args.neardup_docs * 0.8)
    if len(distinct_originals(lake)) >= n_orig:  # scale 25: the lake has enough; no second lake to generate
        source, source_desc = lake, "the lake above"
    else:
        source_scale = max(1.0, round(n_orig / (400 * _ORIGINALS_SHARE), 1))
        source = build_lake(work / f"neardup-source-scale{source_scale:g}", source_scale, seed=1000 + args.seed)
        source_desc = f"a demo lake at scale {source_scale:g}, seed {1000 + args.seed}"
    hard = hard_near_duplicates(source, args.neardup_docs, seed=args.seed)
    hard_nd = compare_near_dup(hard, work / "hard-neardup", with_datatrove=not args.skip_datatrove)
    print("near-dup on hard copies: done", flush=True)

    texts, gold = labeled_pii(lake)
    pii = compare_pii(texts, gold)
    total = time.perf_counter() - started

    command = "bench/.venv/bin/python bench/curate/run.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# curate benchmark results",
        "",
        f"- command: `{command.strip()}` (git {git_sha()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        f"- machine: {machine()}; one process, one worker, numeric libraries at one thread",
        f"- versions: {versions()}",
        (
            f"- lake: demo lake scale {args.scale:g} seed {args.seed}: {len(lake.rows)} documents in {lake.parts} "
            f"part(s) of scale {args.scale / lake.parts:g} (seeds {args.seed}..{args.seed + lake.parts - 1}); "
            f"{lake.cross_part_exact} exact copies across parts"
        ),
        f"- whole run: {total:.0f} s wall",
        "",
        "## 1. Curate chain",
        "",
        *chain_table(lake, runs),
        "",
        "## 2. MinHash near-dup",
        "",
        (
            "Pairwise scoring on clusters (a pair is positive when both documents share a cluster). Signatures/s: "
            "shingling + signature only; docs/s: the whole method (index, clustering, checks, and for steep the "
            "run_curate I/O)."
        ),
        "",
        *near_dup_table(
            f"(a) demo lake, labeled near duplicates ({len(lake_corpus.docs)} docs, exact copies and filler removed)",
            lake_nd,
        ),
        "",
        *near_dup_table(
            f"(b) synthetic hard near duplicates ({len(hard.docs)} docs, 20% are copies with "
            f"{hard.change_share:.0%} of words replaced at scattered positions; originals from {source_desc})",
            hard_nd,
        ),
        "",
        "## 3. PII detection",
        "",
        f"{len(texts)} lake documents ({sum(map(len, texts)):,} characters, `clean_text` where damaged).",
        "",
        *pii_table(pii),
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(report, encoding="utf-8")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
