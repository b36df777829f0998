"""Promotion gates: a stage's model (or data) goes on only if its metrics clear the bar. Torch-free.

    gates:
      - {stage: cpt, metric: general_bpb_after, max_rise: 0.15}        # forgetting: at most +0.15 over _before
      - {stage: dpo, metric: all_rules_pass_rate_after, min: 0.5}
      - {stage: dpo, metric: win_rate_vs_previous, min: 0.55}           # eval's models.dpo row
      - {stage: eval, metric: leaks.count, max: 0}                       # no canary anywhere
      - {stage: eval, metric: models.sft.lm_eval.arc_easy.acc, min: 0.4}  # eval.lm_eval's scores
      - {stage: curate, metric: dropped.compliance, min: 1, on_fail: mark}

`metric` is a dotted path into the stage's own metrics (`steep show RUN --json`). A name the stage does not
report itself but eval reports per model (`domain_bpb`, `win_rate_vs_previous`, ...; `PER_MODEL_METRICS`) is
read from eval's `models.<stage>.<metric>` once eval has run. Bounds: `min` (value >= min), `max` (value <= max),
`max_rise` (value <= baseline + max_rise; the baseline is `over`, by default the metric's `_before` twin of an
`_after` name). `on_fail: stop` (default) ends the pipeline after the stage, naming metric, value and threshold;
`mark` records the failure (`<run_dir>/gates.json`, the stage's manifest) and goes on. A metric that is missing
or not a number fails its gate (value null).

`evaluate_gate` turns one gate into result rows, one per bound, in the shape reports read:
`{"stage", "metric", "value", "threshold", "op": ">=" | "<=", "passed", "on_fail", "gate": index, "source"}`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from steep.schema import StrictModel
from steep.tasks.names import EVAL_METRICS

# What eval reports for every model (`models.<stage>.<metric>`): the held-out measures and the judged win rates.
# `win_rate_vs_previous_low` is the bootstrap interval's lower end: `min: 0.5` promotes only a model that is better
# beyond the noise of the prompts.
PER_MODEL_METRICS = frozenset({m.key for m in EVAL_METRICS}
                              | {"win_rate_vs_previous", "win_rate_vs_previous_lc", "win_rate_vs_previous_low", "win_rate_vs_previous_high"})  # fmt: skip


class Gate(StrictModel):
    """One bar a stage's metric must clear (see the module docstring)."""

    stage: str = Field(description="the stage whose metric is gated")
    metric: str = Field(min_length=1, description="dotted path into its metrics, e.g. general_bpb_after, leaks.count")
    min: float | None = Field(None, description="pass when value >= min")
    max: float | None = Field(None, description="pass when value <= max")
    max_rise: float | None = Field(None, ge=0, description="pass when value <= baseline + max_rise")
    over: str | None = Field(None, description="the baseline metric of max_rise; default: the _before twin of an _after metric")
    on_fail: Literal["stop", "mark"] = "stop"

    @model_validator(mode="after")
    def _bounds(self) -> Gate:
        if self.min is None and self.max is None and self.max_rise is None:
            raise ValueError("a gate needs a bound: min, max or max_rise")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}: no value can pass")
        if self.over is not None and self.max_rise is None:
            raise ValueError("`over` is the baseline of max_rise; give max_rise too")
        if self.max_rise is not None and self.baseline is None:
            raise ValueError(f"max_rise needs a baseline: name it with `over` ({self.metric!r} has no _after/_before twin)")
        return self

    @property
    def baseline(self) -> str | None:
        if self.over is not None:
            return self.over
        return self.metric.removesuffix("_after") + "_before" if self.metric.endswith("_after") else None


def metric_value(metrics: dict, path: str):
    """The value at a dotted path (`dropped.compliance`), or None when any part is missing."""
    node = metrics
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def gate_source(gate: Gate, stage_metrics: dict | None) -> Literal["stage", "eval"]:
    """Where the gate reads its metric: the stage's own metrics, or eval's row for the stage's model (a
    per-model eval metric the stage does not report itself)."""
    if gate.stage == "eval" or gate.metric not in PER_MODEL_METRICS:
        return "stage"
    if stage_metrics is not None and metric_value(stage_metrics, gate.metric) is not None:
        return "stage"
    return "eval"


def evaluate_gate(index: int, gate: Gate, metrics_by_stage: dict[str, dict]) -> list[dict]:
    """Result rows (one per bound) of gate `index` against `{stage: metrics}` (eval's metrics under "eval")."""
    own = metrics_by_stage.get(gate.stage)
    source = gate_source(gate, own)
    where = own if source == "stage" else metric_value(metrics_by_stage.get("eval") or {}, f"models.{gate.stage}")
    where = where if isinstance(where, dict) else {}
    value = _number(metric_value(where, gate.metric))
    bounds: list[tuple[str, float | None, str]] = []
    if gate.min is not None:
        bounds.append((">=", gate.min, f"min {gate.min:g}"))
    if gate.max is not None:
        bounds.append(("<=", gate.max, f"max {gate.max:g}"))
    if gate.max_rise is not None:
        base = _number(metric_value(where, gate.baseline))
        threshold = None if base is None else base + gate.max_rise
        bounds.append(("<=", threshold, f"{gate.baseline} {_show(base)} + max_rise {gate.max_rise:g}"))
    rows = []
    for op, threshold, why in bounds:
        passed = value is not None and threshold is not None and (value >= threshold if op == ">=" else value <= threshold)
        rows.append({
            "stage": gate.stage, "metric": gate.metric, "value": value, "threshold": threshold, "op": op,
            "passed": passed, "on_fail": gate.on_fail, "gate": index, "source": source, "bound": why,
        })  # fmt: skip
    return rows


def _show(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4g}"


def describe(result: dict) -> str:
    """`cpt general_bpb_after = 5.412, must be <= 5.21 (general_bpb_before 5.11 + max_rise 0.1)`."""
    metric = result["metric"] if result["source"] == "stage" else f"{result['metric']} (eval's models.{result['stage']})"
    if result["value"] is None:
        needed = f"{result['op']} {_show(result['threshold'])}, {result['bound']}"
        return f"{result['stage']} {metric}: not reported as a number (needed {needed})"
    return (f"{result['stage']} {metric} = {_show(result['value'])}, must be {result['op']} "
            f"{_show(result['threshold'])} ({result['bound']})")  # fmt: skip


def evaluate_gates(gates: list[Gate | dict], metrics_by_stage: dict[str, dict]) -> list[dict]:
    """Every gate whose stage has metrics in `metrics_by_stage`, in order (what eval writes under `gates`)."""
    rows = []
    for index, gate in enumerate(gates):
        gate = gate if isinstance(gate, Gate) else Gate.model_validate(gate)
        if gate.stage in metrics_by_stage:
            rows += evaluate_gate(index, gate, metrics_by_stage)
    return rows
