"""The pipeline's side of promotion gates (`steep.tasks.gates`): check them against the YAML, run them after
each stage, record them, stop the run on a failed `on_fail: stop` gate.

    problems = gate_problems(cfg.gates, stages, model_stages, has_leaks)   # [("gates[0].metric", "unknown ...")]
    check_gates(cfg.gates, "cpt", run_dir, log, has_eval=True)            # after cpt completed (or was skipped)

A stage's gates run when it completes, and again whenever a rerun finds it up to date (a changed threshold is
checked without retraining). Gates on a per-model metric eval reports run when eval completes. Results go to
`<run_dir>/gates.json` (`{"gates": [the YAML's gates], "results": [rows]}`, reset when the gates change) and to
the `gates` key of the stage's manifest. A failed `stop` gate raises `GateFailed` (a `PipelineError`: `steep
run` prints it and exits 1) naming stage, metric, value and threshold.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from steep.artifacts import MANIFEST_NAME, STATUS_COMPLETE, atomic_write_json, read_manifest
from steep.stages import STAGE_ORDER
from steep.tasks.gates import PER_MODEL_METRICS, Gate, describe, evaluate_gate, gate_source
from steep.tasks.names import EVAL_METRICS, STAGE_MOVES

GATES_FILE = "gates.json"
# What curate reports (steep.curate.stage.run_curate); a path may go deeper (`dropped.compliance`).
CURATE_METRICS = (
    "docs_in", "docs_out", "dropped", "dropped_by_reason", "bad_input", "pii_redacted", "docs_repaired",
    "docs_pii_redacted", "input_files", "shards", "shards_resumed", "seconds", "duplicate_clusters", "undated",
)  # fmt: skip
LEAK_METRICS = ("count", "checked_files", "checked_bytes", "probes", "canaries")


class GateFailed(RuntimeError):
    """A failed `on_fail: stop` gate; the runner raises it on as a PipelineError (a clean CLI error)."""


# --- validation against the pipeline ------------------------------------------------------------------------------


def _metric_problem(gate: Gate, metric: str, stages: list[str], model_stages: list[str], has_leaks: bool) -> str | None:
    """Why `metric` cannot be one of `gate.stage`'s metrics, or None when it can (or cannot be known)."""
    stage = gate.stage
    if stage == "curate":
        head = metric.split(".", 1)[0]
        if head not in CURATE_METRICS:
            return f"unknown curate metric {head!r}; curate reports: {', '.join(CURATE_METRICS)}"
    elif stage == "eval":
        parts = metric.split(".")
        if parts[0] == "leaks":
            if not has_leaks:
                return "leaks.* needs eval.leaks (a canaries file) in this pipeline"
            if len(parts) != 2 or parts[1] not in LEAK_METRICS:
                return f"unknown leaks metric; eval reports leaks.{{{','.join(LEAK_METRICS)}}}"
        elif parts[0] == "models" and len(parts) == 5 and parts[2] == "lm_eval":
            if parts[1] not in model_stages:  # models.<stage>.lm_eval.<task>.<metric>: task names are lm-eval's
                return f"write models.<stage>.lm_eval.<task>.<metric> with a model stage of this pipeline ({', '.join(model_stages)})"
        elif parts[0] == "models":
            if len(parts) != 3 or parts[1] not in model_stages:
                return f"write models.<stage>.<metric> with a model stage of this pipeline ({', '.join(model_stages)})"
            if parts[2] not in PER_MODEL_METRICS:
                return f"unknown per-model metric {parts[2]!r}; eval reports: {', '.join(sorted(PER_MODEL_METRICS))}"
        else:
            return "eval's gated metrics are models.<stage>.<metric> and leaks.<count|checked_files|probes|...>"
    elif stage in STAGE_MOVES:
        moves = [m.key for m in STAGE_MOVES[stage]]
        known = {f"{m}_{when}" for m in moves for when in ("before", "after")}
        # `general_bpb_aftr`: a misspelled before/after name (other names, `per_rule_after.<rule>`, `pairs`, are
        # not listed anywhere: they are checked when the stage has run)
        head = metric.split(".", 1)[0]
        if any(head.startswith(f"{m}_") for m in moves) and head not in known:
            return f"unknown {stage} metric {metric!r}; its before/after metrics: " + ", ".join(f"{m}_before, {m}_after" for m in moves)
        if metric in {m.key for m in EVAL_METRICS} and "eval" not in stages:
            return (f"{metric!r} is eval's per-model metric (stage {stage} reports {metric}_before/_after): "
                    f"add an eval section, or gate {metric}_after")
    return None


def gate_problems(gates: list[Gate], stages: list[str], model_stages: list[str], has_leaks: bool) -> list[tuple[str, str]]:
    """(YAML path, message) for each gate the pipeline cannot check: an unknown stage or a metric the stage
    cannot report (where that is knowable; other names are checked when the stage has run). `stages`: the
    pipeline's enabled stages; `model_stages`: those that make a model; `has_leaks`: eval.leaks is configured."""
    problems = []
    for index, gate in enumerate(gates):
        path = f"gates[{index}]"
        if gate.stage not in stages:
            problems.append((f"{path}.stage", f"{gate.stage!r} is not a stage of this pipeline (enabled: {', '.join(stages)})"))
            continue
        for key, metric in (("metric", gate.metric), ("over", gate.baseline if gate.max_rise is not None else None)):
            problem = metric and _metric_problem(gate, metric, stages, model_stages, has_leaks)
            if problem:
                problems.append((f"{path}.{key}", problem))
    return problems


# --- running them ---------------------------------------------------------------------------------------------


def _completed_metrics(run_dir: Path) -> dict[str, dict]:
    found = {}
    for stage in STAGE_ORDER:
        manifest = read_manifest(run_dir / stage)
        if manifest and manifest.get("status") == STATUS_COMPLETE:
            found[stage] = manifest.get("metrics", {})
    return found


def _due(gate: Gate, stage: str, metrics: dict[str, dict], has_eval: bool) -> bool:
    """Whether the gate runs now that `stage` completed."""
    deferred = gate.stage != "eval" and has_eval and gate_source(gate, metrics.get(gate.stage)) == "eval"
    return (gate.stage == stage and not deferred) or (stage == "eval" and deferred)


def _record(run_dir: Path, stage: str, gates: list[Gate], results: list[dict]) -> None:
    definitions = [gate.model_dump(mode="json", exclude_none=True) for gate in gates]
    path = run_dir / GATES_FILE
    previous = _read_json(path)
    kept = previous.get("results", []) if previous.get("gates") == definitions else []
    checked = {row["gate"] for row in results}
    merged = sorted([row for row in kept if row["gate"] not in checked] + results, key=lambda row: row["gate"])
    atomic_write_json(path, {"gates": definitions, "results": merged})
    manifest = read_manifest(run_dir / stage)
    if manifest is not None and manifest.get("gates") != results:
        atomic_write_json(run_dir / stage / MANIFEST_NAME, {**manifest, "gates": results})


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def check_gates(gates: list[Gate], stage: str, run_dir: Path, log: logging.Logger, has_eval: bool) -> list[dict]:
    """Run the gates due after `stage`, record them, and raise GateFailed for a failed `on_fail: stop` gate.
    `has_eval`: eval is in the pipeline (per-model metrics wait for it)."""
    if not gates:
        return []
    metrics = _completed_metrics(run_dir)
    results = []
    for index, gate in enumerate(gates):
        if _due(gate, stage, metrics, has_eval):
            results += evaluate_gate(index, gate, metrics)
    if not results:
        return []
    _record(run_dir, stage, gates, results)
    for row in results:
        if row["passed"]:
            log.info(f"gate passed: {describe(row)}")
        elif row["on_fail"] == "mark":
            log.warning(f"gate FAILED (on_fail: mark, going on): {describe(row)}")
        else:
            log.error(f"gate FAILED: {describe(row)}")
    stopping = [row for row in results if not row["passed"] and row["on_fail"] == "stop"]
    if stopping:
        lines = "; ".join(describe(row) for row in stopping)
        raise GateFailed(
            f"promotion gate failed after stage {stage}: {lines}. The pipeline stops here ({GATES_FILE} in "
            f"{run_dir} has every result); loosen the gate, or set on_fail: mark to record it and go on."
        )
    return results
