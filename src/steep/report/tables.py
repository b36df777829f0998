"""The report's tables as plain rows, shared by the HTML and the Markdown renderers (so both say the same thing).

    from steep.report.tables import eval_table
    columns, rows = eval_table(collect_run(run_dir))   # rows: (model, [Cell(value, delta, better), ...])

A `Cell` carries the value, its change from the row above (the previous stage's model) and whether that change
is an improvement for that metric (bits per byte and answer length go down when things get better).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from steep.chat import message_text
from steep.tasks.names import EVAL_METRICS, HEADLINE, STAGE_MOVES, Metric, before_after

# eval's pairwise columns (names from ARCHITECTURE.md); 0.5 means "no better, no worse than the previous stage".
# Listed here as well as (once eval measures them) in EVAL_METRICS: eval_table keeps the first of each key.
WIN_RATE = Metric("win_rate_vs_previous", "win rate vs previous", True)
WIN_RATE_LC = Metric("win_rate_vs_previous_lc", "win rate vs previous, length-controlled", True)
AGAINST_PREVIOUS = {WIN_RATE.key, WIN_RATE_LC.key}


@dataclass(frozen=True)
class Cell:
    value: float | None
    delta: float | None = None
    better: bool | None = None  # None: no change to judge (first row, equal, or a metric with no direction)


def number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "–" if value is None else str(value)


def fmt_delta(delta: float | None) -> str:
    return "" if delta is None else f"{delta:+.3f}"


def _cell(value, previous, metric: Metric) -> Cell:
    value, previous = number(value), number(previous)
    if value is None or previous is None:
        return Cell(value)
    delta = value - previous
    if abs(delta) < 1e-12:
        return Cell(value, 0.0, None)
    return Cell(value, delta, (delta > 0) == metric.higher_is_better)


def eval_table(run: dict) -> tuple[list[Metric], list[tuple[str, list[Cell]]]]:
    """Eval's models (rows, in stage order) by metric (columns present in any row), each with its delta from the
    model above it: what that stage changed on the same held-out data."""
    models = run["eval"]["models"]
    unique = {m.key: m for m in reversed((*EVAL_METRICS, WIN_RATE, WIN_RATE_LC))}  # reversed: the first label wins
    columns = [m for m in dict.fromkeys(unique[m.key] for m in (*EVAL_METRICS, WIN_RATE, WIN_RATE_LC)) if any(number(row.get(m.key)) is not None for row in models.values())]
    rows, previous = [], {}
    for model, row in models.items():
        # win rates are already "against the previous model": a delta of a delta would mean nothing
        rows.append((model, [_cell(row.get(m.key), None if m.key in AGAINST_PREVIOUS else previous.get(m.key), m) for m in columns]))
        previous = row
    return columns, rows


def per_rule_table(run: dict) -> tuple[list[str], list[list]]:
    """Rule (rows) by model (columns): eval's share of answers that passed each rule (where dpo's gain came from)."""
    models = {model: row["per_rule"] for model, row in run["eval"]["models"].items() if isinstance(row.get("per_rule"), dict)}
    rules = list(dict.fromkeys(rule for per_rule in models.values() for rule in per_rule))
    return list(models), [[rule, *[number(models[model].get(rule)) for model in models]] for rule in rules]


# lm-eval metrics where lower is better (its perplexity family); every other score it reports (acc, acc_norm,
# exact_match, f1, mcc, ...) is higher-is-better
LM_EVAL_LOWER_IS_BETTER = ("perplexity", "bits_per_byte")


def lm_eval_table(run: dict) -> tuple[list[str], list[tuple[str, str, list[Cell]]]]:
    """lm-evaluation-harness scores (eval's `models.<stage>.lm_eval.<task>.<metric>`): (models, [(task, metric,
    [Cell per model])]), each cell with its change from the model to its left (the previous stage's)."""
    models = {model: row["lm_eval"] for model, row in run["eval"]["models"].items() if isinstance(row.get("lm_eval"), dict)}
    keys = list(dict.fromkeys((task, metric) for scores in models.values() for task, row in scores.items() if isinstance(row, dict) for metric in row))
    rows = []
    for task, metric in keys:
        direction = Metric(metric, metric, not any(word in metric for word in LM_EVAL_LOWER_IS_BETTER))
        cells, previous = [], None
        for scores in models.values():
            value = (scores.get(task) or {}).get(metric)
            cells.append(_cell(value, previous, direction))
            previous = value
        rows.append((task, metric, cells))
    return list(models), rows


USE_CASE_METRICS = tuple(m for m in EVAL_METRICS if m.key in ("format_adherence", "rule_pass_rate", "all_rules_pass_rate", "reference_similarity", "win_rate_vs_previous"))


def use_case_table(run: dict) -> tuple[list[str], list[tuple[str, str, list[Cell]]]]:
    """eval's metrics per use case (`models.<stage>.by_use_case.<use case>.<metric>`): (models, [(use case, metric
    label, [Cell per model])]), each cell with its change from the model to its left."""
    models = {model: row["by_use_case"] for model, row in run["eval"]["models"].items() if isinstance(row.get("by_use_case"), dict)}
    use_cases = list(dict.fromkeys(name for split in models.values() for name in split))
    rows = []
    for use_case in use_cases:
        for metric in USE_CASE_METRICS:
            values = [(split.get(use_case) or {}).get(metric.key) for split in models.values()]
            if all(v is None for v in values):
                continue
            cells, previous = [], None
            for value in values:
                cells.append(_cell(value, previous, metric))
                previous = value
            answers = max((split.get(use_case) or {}).get("answers", 0) for split in models.values())
            rows.append((f"{use_case} (≤{answers} answers)", metric.label, cells))
    return list(models), rows


def moves_table(run: dict) -> list[tuple[str, Metric, Cell, Cell]]:
    """(stage, metric, before, after-with-delta) for every before/after pair a stage reported on its own data."""
    found = []
    for stage, moves in STAGE_MOVES.items():
        metrics = run["stages"].get(stage, {}).get("metrics", {})
        for metric in moves:
            before, after = before_after(metrics, metric)
            if number(before) is not None or number(after) is not None:
                found.append((stage, metric, Cell(number(before)), _cell(after, before, metric)))
    return found


def headlines(run: dict) -> list[tuple[str, str, Cell, Cell]]:
    """(stage, label, before, after) of the number each training stage exists to move."""
    found = []
    for stage, metric in HEADLINE.items():
        metrics = run["stages"].get(stage, {}).get("metrics", {})
        before, after = before_after(metrics, metric)
        if number(after) is not None:
            found.append((stage, metric.label, Cell(number(before)), _cell(after, before, metric)))
    return found


def win_rates(run: dict) -> list[tuple[str, list[tuple[str, float]]]]:
    """(model, [(series, value)]) for the models eval compared with the previous one."""
    groups = []
    for model, row in run["eval"]["models"].items():
        bars = [(label, number(row.get(m.key))) for label, m in (("win rate", WIN_RATE), ("length-controlled", WIN_RATE_LC))]
        bars = [(label, value) for label, value in bars if value is not None]
        if bars:
            groups.append((model, bars))
    return groups


def _interval(row: dict) -> tuple[float, float] | None:
    """(low, high) of a model's win rate when eval bootstrapped it, else None."""
    low, high = number(row.get("win_rate_vs_previous_low")), number(row.get("win_rate_vs_previous_high"))
    return (low, high) if low is not None and high is not None else None


def win_rate_intervals(run: dict) -> dict[tuple[str, str], tuple[float, float]]:
    """{(model, "win rate"): (low, high)} for the models whose win rate eval bootstrapped."""
    return {(model, "win rate"): interval for model, row in run["eval"]["models"].items() if (interval := _interval(row))}


def win_rate_rows(run: dict) -> tuple[list[str], list[list]]:
    """(model, win rate, 95% interval, verdict, length-controlled, tie rate, comparisons) for each model eval compared
    with its predecessor; the interval and verdict columns only when eval bootstrapped them."""
    labels = {WIN_RATE.key: "win rate", "interval": "95% interval", "win_rate_vs_previous_verdict": "verdict", WIN_RATE_LC.key: "length-controlled",
              "tie_rate_vs_previous": "ties", "comparisons_vs_previous": "comparisons"}  # fmt: skip
    compared = {model: _with_interval(row) for model, row in run["eval"]["models"].items() if number(row.get(WIN_RATE.key)) is not None}
    keys = [key for key in labels if any(row.get(key) is not None for row in compared.values())]
    return ["model", *[labels[key] for key in keys]], [[model, *[row.get(key) for key in keys]] for model, row in compared.items()]


def _with_interval(row: dict) -> dict:
    interval = _interval(row)
    return row | {"interval": f"{interval[0]:.3f}–{interval[1]:.3f}" if interval else None}


def judge_text(judge: dict | None) -> str | None:
    """eval's judge in one line: its kind and its identity (or model), and how many calls it took if it says."""
    if not judge:
        return None
    name = judge.get("identity") or judge.get("model")
    text = f"{judge.get('kind', '?')}" + (f" ({name})" if name and name != judge.get("kind") else "")
    calls = judge.get("calls")
    return text + (f", {calls} calls" if number(calls) is not None else "")


def dpo_round_rows(run: dict) -> tuple[list[str], list[list]]:
    """dpo's per-round rows (sampled, judged, trained, measured), columns present in any round."""
    wanted = ("round", "prompts", "pairs", "tie_rate", "sampled_pass_rate", "heldout_rule_pass_rate", "heldout_all_rules_pass_rate", "win_rate_vs_previous", "length_drift", "train_loss_final")
    rounds = run["dpo_rounds"]
    columns = [key for key in wanted if any(key in row for row in rounds)]
    return columns, [[row.get(key) for key in columns] for row in rounds]


def dialogue_summary(run: dict) -> dict:
    """Counts and mean scores of rs's kept and rejected dialogues, and why the rejected ones were."""
    dialogues = run["dialogues"]
    kept = [d for d in dialogues if d["kept"]]
    rejected = [d for d in dialogues if not d["kept"]]

    def mean(rows, key):
        values = [number(row.get(key)) for row in rows]
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    reasons: dict[str, int] = {}
    for row in rejected:
        reason = str(row.get("reject_reason") or "rejected")
        reasons[reason] = reasons.get(reason, 0) + 1
    return {
        "kept": len(kept),
        "rejected": len(rejected),
        "mean_score": {"kept": mean(kept, "score"), "rejected": mean(rejected, "score")},
        "mean_worst_turn": {"kept": mean(kept, "worst_turn_score"), "rejected": mean(rejected, "worst_turn_score")},
        "reasons": dict(sorted(reasons.items(), key=lambda item: -item[1])),
    }


def scenario_table(run: dict) -> tuple[list[str], list[list]]:
    """One row per rs scenario, in the order rs rolled them out: candidates, kept, best and worst score, and the
    kept dialogue's fact recall (the best keeper's, when several rounds kept one). A `tied` column (every
    candidate scored the same: keeping "the best" was a coin flip) only when some scenario tied."""
    by_scenario: dict[str, list[dict]] = {}
    for dialogue in run["dialogues"]:
        by_scenario.setdefault(str(dialogue.get("scenario_id")), []).append(dialogue)
    rows = []
    for scenario, group in by_scenario.items():
        scores = [score for score in (number(d.get("score")) for d in group) if score is not None]
        keepers = [d for d in group if d["kept"]]
        best_keeper = max(keepers, key=lambda d: number(d.get("score")) or 0.0, default=None)
        recall = number(best_keeper.get("fact_recall")) if best_keeper else None
        rows.append([scenario, len(group), len(keepers), max(scores, default=None), min(scores, default=None), recall, any(d.get("tied") for d in group)])
    headers = ["scenario", "candidates", "kept", "best score", "worst score", "kept fact recall", "tied"]
    if not any(row[-1] for row in rows):
        return headers[:-1], [row[:-1] for row in rows]
    return headers, rows


def kept_fraction(run: dict) -> str | None:
    """`kept N of M (x%) candidate dialogues, in S of T scenarios`: how picky rs's selection was."""
    dialogues = run["dialogues"]
    if not dialogues:
        return None
    kept = sum(d["kept"] for d in dialogues)
    scenarios = {str(d.get("scenario_id")) for d in dialogues}
    with_keeper = {str(d.get("scenario_id")) for d in dialogues if d["kept"]}
    return f"kept {kept} of {len(dialogues)} ({kept / len(dialogues):.1%}) candidate dialogues, in {len(with_keeper)} of {len(scenarios)} scenarios"


# ids a note names before it says "..."; the manifest holds them all
MAX_NAMED_SCENARIOS = 20


def selection_notes(run: dict) -> list[str]:
    """What rs's selection warned about, from its manifest's metrics: scenarios where no candidate passed, and
    how many scenarios (counted per round) had every candidate score the same."""
    metrics = run["stages"].get("rs", {}).get("metrics", {})
    notes = []
    without = metrics.get("scenarios_without_keeper")
    if isinstance(without, list) and without:
        named = ", ".join(str(s) for s in without[:MAX_NAMED_SCENARIOS]) + (", ..." if len(without) > MAX_NAMED_SCENARIOS else "")
        notes.append(f"no keeper in {len(without)} scenario(s) (no candidate scored >= rs.min_score in any round): {named}")
    tied = number(metrics.get("tied_scenarios"))
    if tied:
        notes.append(f"tied in {int(tied)} scenario(s), counted per round: every candidate scored the same, so the judge could not pick a best")
    for info in metrics.get("rounds") or []:
        due, recalled = (number(info.get(key)) if isinstance(info, dict) else None for key in ("scenarios_with_due_facts", "scenarios_with_recalling_candidate"))
        if due and recalled is not None and recalled < due:
            notes.append(f"round {info.get('round')}: a candidate gave a due fact back in {int(recalled)} of {int(due)} scenario(s); "
                         "selection cannot raise fact recall in the others")
    return notes


# a message longer than this is cut in the report; rs/dialogues.jsonl keeps the whole text
MAX_MESSAGE_CHARS = 1200


def _turn_misses(dialogue: dict) -> dict[int, list[str]]:
    misses: dict[int, list[str]] = {}
    for miss in dialogue.get("fact_misses") or []:
        if isinstance(miss, dict) and isinstance(miss.get("turn"), int):
            misses.setdefault(miss["turn"], []).append(str(miss.get("fact")))
    return misses


def _at(values, turn: int):
    """The 1-based `turn`'s entry of a per-turn list, or None when the list is missing or short."""
    return values[turn - 1] if isinstance(values, list) and 0 < turn <= len(values) else None


def conversation_turns(dialogue: dict) -> list[dict]:
    """A dialogue's user and assistant messages, in order, as `{role, text, cut}` (`cut`: characters left out
    past MAX_MESSAGE_CHARS); assistant messages add `turn` (1-based), `score`, `rationale`, `worst` and `misses`
    (the facts it failed to give back). The system prompt is left out: every candidate of a scenario shares it."""
    misses = _turn_misses(dialogue)
    turns, assistant_turn, user_turn = [], 0, 0
    for message in dialogue.get("messages") or []:
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            continue
        text = message_text(message)
        turn = {"role": role, "text": text[:MAX_MESSAGE_CHARS], "cut": max(len(text) - MAX_MESSAGE_CHARS, 0)}
        if role == "user":
            user_turn += 1
        else:
            assistant_turn += 1
            worst = assistant_turn == dialogue.get("worst_turn")
            turn |= {
                "turn": assistant_turn,
                "score": number(_at(dialogue.get("turn_scores"), assistant_turn)),
                "rationale": (dialogue.get("worst_turn_rationale") if worst else None) or _at(dialogue.get("turn_rationales"), assistant_turn),
                "worst": worst,
                # fact recall numbers a reply by the user messages before it (tasks.metrics.fact_checks)
                "misses": misses.get(user_turn, []),
            }
        turns.append(turn)
    return turns


def conversation_title(dialogue: dict) -> str:
    """`kept: rollout 2, round 1, score 0.840, fact recall 1.000, ended: goal_reached` (`rejected (not_top): ...`
    for a rejected one)."""
    outcome = "kept" if dialogue["kept"] else f"rejected ({dialogue.get('reject_reason') or 'no reason given'})"
    details = [f"rollout {fmt(dialogue.get('rollout'))}", f"round {fmt(dialogue.get('round'))}", f"score {fmt(number(dialogue.get('score')))}", f"fact recall {fmt(number(dialogue.get('fact_recall')))}"]
    if dialogue.get("end_reason"):
        details.append(f"ended: {dialogue['end_reason']}")
    return f"{outcome}: {', '.join(details)}"


def gate_summary(gates) -> str:
    if not gates:
        return "no promotion gates in this run's eval"
    failed = [g for g in gates if not g.get("passed")]
    return f"all {len(gates)} gates passed" if not failed else f"{len(failed)} of {len(gates)} gates failed"


def leak_summary(leaks) -> str:
    if not isinstance(leaks, dict):
        return "no leak test results in this run's eval"
    count = leaks.get("count", len(leaks.get("hits") or []))
    scope = [f"{leaks[key]} {noun}" for key, noun in (("probes", "probes"), ("checked_files", "files checked")) if leaks.get(key) is not None]
    where = f" ({', '.join(scope)})" if scope else ""
    return f"no canary leaked{where}" if not count else f"{count} canary leak(s) found{where}"


def short_hash(value) -> str:
    return str(value)[:12] if value else "–"
