"""synth from end to end: documents -> teacher requests -> replies (cached) -> rows -> gates -> files.

    metrics = run_synth(cfg, documents=Path("runs/demo/curate/documents"), out_dir=work_dir,
                        cache_dir=run_dir / "cache" / "synth", seed=0, log=log)

Writes into `out_dir`: `sft.jsonl`, `dpo_prompts.jsonl`, `rs_scenarios.jsonl` (the rows that passed every gate,
in request order) and `provenance.jsonl` (one line per request: its row id, kind, use case, source document,
teacher, prompt template, and `kept` or the drop `reason`; no text, so a row dropped for PII leaves no copy).
Metrics: rows per kind, per use case and per temptation, `dropped` (reason -> count), `dropped_by_kind`,
`teacher_calls` (replies paid for in this run) and `teacher_cached` (read from the cache), per-gate stats.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from steep.artifacts import write_jsonl
from steep.synth.config import SynthConfig
from steep.synth.documents import read_documents
from steep.synth.quality import RowGates, judge_filter
from steep.synth.requests import plan_requests
from steep.synth.rows import Rejected, build_row, row_id
from steep.synth.teachers import build_teacher

OUTPUT_FILES = {"sft": "sft.jsonl", "dpo": "dpo_prompts.jsonl", "rs": "rs_scenarios.jsonl"}


def run_synth(cfg: SynthConfig, *, documents: Path, out_dir: Path, cache_dir: Path, seed: int = 0, log: logging.Logger | None = None) -> dict:
    log = log or logging.getLogger(__name__)
    docs = read_documents(documents, cfg.max_documents)
    requests = plan_requests(cfg, docs)
    served = {r.doc for r in requests}
    unserved = sum(doc not in served for doc in docs)
    log.info(f"{len(docs)} documents, {len(requests)} rows to write ({len(cfg.use_cases) or 1} use cases; {unserved} documents match none)")
    teacher = build_teacher(cfg.teacher, cache_dir=cache_dir, seed=seed, log=log)
    replies = teacher.reply(requests)
    log.info(f"teacher {teacher.identity}: {teacher.calls} replies written now, {teacher.cached} from the cache")

    gates = RowGates(cfg.quality, cfg.answer_format, cfg.temptations.post_cutoff_terms)
    outcomes: list[tuple[object, dict | None, Rejected | None]] = []
    for request, reply in zip(requests, replies):
        row = build_row(request, reply, cfg, teacher.identity)
        if isinstance(row, Rejected):
            outcomes.append((request, None, row))
            continue
        outcomes.append((request, row, gates.check(request.kind, row, request)))

    judge_scores: list[float] = []
    if cfg.quality.judge is not None:
        from steep.judge.factory import build_training_judge

        judge_config = cfg.quality.judge
        if "cache_dir" in type(judge_config).model_fields and judge_config.cache_dir is None:  # a model judge: pay once
            judge_config = judge_config.model_copy(update={"cache_dir": cache_dir / "judge"})
        judge = build_training_judge(judge_config, where="synth.quality.judge")  # its verdicts choose training data
        positions = [i for i, (r, row, rejected) in enumerate(outcomes) if row is not None and rejected is None and r.kind == "sft"]
        for i, (row, score, rejected) in zip(positions, judge_filter(judge, [outcomes[i][1] for i in positions], cfg.quality.min_judge_score)):
            row["meta"]["judge_score"] = score
            judge_scores.append(score)
            outcomes[i] = (outcomes[i][0], row, rejected)

    kept: dict[str, list[dict]] = {kind: [] for kind in OUTPUT_FILES}
    provenance, dropped, dropped_by_kind = [], Counter(), Counter()
    per_use_case, per_tempt = Counter(), Counter()
    for request, row, rejected in outcomes:
        record = {"id": row_id(request), "kind": request.kind, "use_case": request.use_case.name, "source_doc": request.doc.id,
                  "teacher": teacher.identity, "template": request.template_id, "tempts": request.tempts}  # fmt: skip
        if rejected is not None:
            whole = rejected.reason.startswith(("duplicate:", "heldout_duplicate:"))  # exact and near counted apart
            family = rejected.reason if whole else rejected.reason.split(":", 1)[0]
            dropped[family] += 1
            dropped_by_kind[f"{request.kind}:{family}"] += 1
            provenance.append({**record, "kept": False, "reason": rejected.reason, "detail": rejected.detail})
            continue
        kept[request.kind].append(row)
        per_use_case[f"{request.kind}:{request.use_case.name}"] += 1
        if request.tempts:
            per_tempt[request.tempts] += 1
        provenance.append({**record, "kept": True})

    for kind, name in OUTPUT_FILES.items():
        write_jsonl(out_dir / name, kept[kind])
    write_jsonl(out_dir / "provenance.jsonl", provenance)
    counts = {kind: len(rows) for kind, rows in kept.items()}
    log.info(f"kept {counts['sft']} sft pairs, {counts['dpo']} dpo prompts, {counts['rs']} rs scenarios; dropped {dict(dropped) or 0}")
    for kind, n in counts.items():
        if n == 0 and any(r.kind == kind for r in requests):
            log.warning(f"synth wrote no {kind} rows: every one was dropped (see dropped_by_kind and provenance.jsonl)")
    return {
        "documents": len(docs), "documents_without_use_case": unserved, "requested": len(requests), "sft_rows": counts["sft"], "dpo_prompts": counts["dpo"],
        "rs_scenarios": counts["rs"], "dropped": dict(sorted(dropped.items())), "dropped_by_kind": dict(sorted(dropped_by_kind.items())),
        "rows_per_use_case": dict(sorted(per_use_case.items())), "tempting_prompts": dict(sorted(per_tempt.items())),
        "teacher": teacher.identity, "teacher_calls": teacher.calls, "teacher_cached": teacher.cached, "gates": gates.stats(),
        **({"judge_score_mean": sum(judge_scores) / len(judge_scores)} if judge_scores else {}),
    }  # fmt: skip
