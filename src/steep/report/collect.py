"""Read a run directory into the plain dict the report renders; nothing here draws or formats.

    from steep.report.collect import collect_run
    run = collect_run(Path("runs/demo"))
    run["stages"]["dpo"]["metrics"]["rule_pass_rate_after"]

Every piece is optional: a run stopped after sft, an eval written before leak tests existed, a curate-only run all
give a dict the renderers handle (missing parts are empty lists/dicts or None, never a KeyError later). Files are
read tolerantly (a bad JSON line is skipped) because a report must still open for a run that went wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from steep.artifacts import MANIFEST_NAME

# the curves worth plotting from a training stage's metrics.jsonl; other keys (grad_norm, lr) stay in the file
LOSS_KEY = "loss"


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _iter_rows(path: Path) -> Iterator[dict]:
    """A JSONL file's dict rows, one line at a time: rs's dialogues.jsonl holds every candidate's whole
    conversation, and a caller that keeps a few keys of each should not hold all of them at once."""
    if not path.is_file():
        return
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a torn last line of a killed run: the rest is still worth showing
            if isinstance(row, dict):
                yield row


def _rows(path: Path) -> list[dict]:
    return list(_iter_rows(path))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_manifests(run_dir: Path) -> dict[str, dict]:
    """Stage -> manifest for every stage directory with one, in the order the stages ran (their start times), so
    the report needs no list of stage names and shows a stage it does not know about."""
    found = []
    for child in sorted(Path(run_dir).iterdir()) if Path(run_dir).is_dir() else []:
        manifest = _json(child / MANIFEST_NAME) if child.is_dir() else None
        if isinstance(manifest, dict):
            found.append((str(manifest.get("started_at", "")), manifest.get("stage", child.name), manifest))
    return {stage: manifest for _, stage, manifest in sorted(found, key=lambda item: item[0])}


def loss_curves(stage_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """Phase -> [(step, loss)] from a stage's metrics.jsonl (dpo: `round0`, `round1`, ...; others: `train`)."""
    curves: dict[str, list[tuple[float, float]]] = {}
    for row in _rows(stage_dir / "metrics.jsonl"):
        if _number(row.get(LOSS_KEY)) and _number(row.get("step")):
            curves.setdefault(str(row.get("phase", "train")), []).append((float(row["step"]), float(row[LOSS_KEY])))
    return curves


def curate_funnel(stage_dir: Path, metrics: dict) -> dict:
    """{steps: [{block, seen, kept, dropped}], reasons: {reason: documents}, docs_in, docs_out}.

    The per-block funnel comes from curate's stats.json; without it (an older run) the manifest's totals still
    give in, out and the reasons."""
    stats = _json(stage_dir / "stats.json") or {}
    steps = []
    for block, block_stats in (stats.get("blocks") or {}).items():
        if isinstance(block_stats, dict):
            dropped = block_stats.get("dropped") or {}
            steps.append({"block": block, "seen": block_stats.get("seen", 0), "kept": block_stats.get("kept", 0), "dropped": sum(dropped.values())})
    # blocks in funnel order whatever the file's key order: each block sees what the one before kept (stable sort
    # keeps read before clean when neither dropped anything)
    steps.sort(key=lambda step: (-step["seen"], -step["kept"]))
    reasons = metrics.get("dropped_by_reason") or metrics.get("dropped") or {}
    return {"steps": steps, "reasons": dict(sorted(reasons.items(), key=lambda item: -item[1])), "docs_in": metrics.get("docs_in"), "docs_out": metrics.get("docs_out")}


def answer_lengths(eval_dir: Path) -> dict[str, list[int]]:
    """Model -> words per single answer in eval's answers.jsonl (the unit `mean_answer_len` counts in: whitespace
    words): rules, format and win-rate answers. Dialogues (coherence) and pairwise comparisons (`new`/`old`, the
    same answers again) have no single `answer` and are left out."""
    lengths: dict[str, list[int]] = {}
    for row in _rows(eval_dir / "answers.jsonl"):
        if isinstance(row.get("answer"), str):
            lengths.setdefault(str(row.get("model", "?")), []).append(len(row["answer"].split()))
    return lengths


def rs_dialogues(stage_dir: Path) -> list[dict]:
    """rs's judged dialogues, reduced to what the kept-vs-rejected section shows (no messages: see rs_pair)."""
    keys = ("scenario_id", "rollout", "round", "score", "worst_turn_score", "fact_recall", "rules_mean", "reject_reason", "end_reason", "tied")
    return [{"kept": bool(row.get("kept")), **{key: row.get(key) for key in keys}} for row in _iter_rows(stage_dir / "dialogues.jsonl")]


# what the side-by-side conversations need beyond a reduced dialogue; only the two shown are read in full
CONVERSATION_KEYS = ("messages", "turn_scores", "turn_rationales", "worst_turn", "worst_turn_rationale", "fact_misses")


def _dialogue_key(dialogue: dict) -> tuple[str, ...]:
    # one candidate of one round; str() so a malformed id still compares instead of raising
    return tuple(str(dialogue.get(key)) for key in ("scenario_id", "round", "rollout"))


def contrast_pair(dialogues: list[dict]) -> tuple[dict, dict] | None:
    """(kept, rejected) from the scenario where the best keeper beat the worst rejected candidate by the most:
    the clearest example of what selection keeps and what it throws away. None when no scenario has both."""
    best_kept: dict[str, dict] = {}
    worst_rejected: dict[str, dict] = {}
    for dialogue in dialogues:
        if not _number(dialogue.get("score")):
            continue
        scenario = str(dialogue.get("scenario_id"))
        side, pick = (best_kept, max) if dialogue["kept"] else (worst_rejected, min)
        held = side.get(scenario)
        side[scenario] = dialogue if held is None else pick(held, dialogue, key=lambda d: d["score"])
    shared = [scenario for scenario in best_kept if scenario in worst_rejected]
    if not shared:
        return None
    scenario = max(shared, key=lambda s: best_kept[s]["score"] - worst_rejected[s]["score"])
    return best_kept[scenario], worst_rejected[scenario]


def rs_pair(stage_dir: Path, dialogues: list[dict]) -> dict | None:
    """{kept, rejected}: the contrast pair's reduced dialogues with their conversations (CONVERSATION_KEYS),
    read by a second pass over dialogues.jsonl. None without a pair, or when the file no longer holds it."""
    pair = contrast_pair(dialogues)
    if pair is None:
        return None
    wanted = {_dialogue_key(dialogue): dialogue for dialogue in pair}
    found: dict[tuple[str, ...], dict] = {}
    for row in _iter_rows(stage_dir / "dialogues.jsonl"):
        key = _dialogue_key(row)
        if key in wanted and key not in found:
            found[key] = {**wanted[key], **{name: row.get(name) for name in CONVERSATION_KEYS}}
            if len(found) == len(wanted):
                break
    kept, rejected = (found.get(_dialogue_key(dialogue)) for dialogue in pair)
    return {"kept": kept, "rejected": rejected} if kept and rejected else None


def describe_judge(judge) -> str | None:
    """One line naming a judge config: `rules: a, b`, `openai: MODEL`, `hf_local: PATH`, `ensemble(...)`."""
    if not isinstance(judge, dict):
        return None
    kind = judge.get("kind", "?")
    if kind == "rules":
        return "rules: " + ", ".join(str(rule.get("name", rule.get("kind"))) for rule in judge.get("rules", []))
    if kind == "ensemble":
        members = [describe_judge(member.get("judge", member)) for member in judge.get("members", []) if isinstance(member, dict)]
        gate = describe_judge(judge.get("gate"))
        return "ensemble(" + "; ".join(filter(None, [f"gate {gate}" if gate else None, *members])) + ")"
    name = judge.get("identity") or judge.get("model") or judge.get("path")
    return f"{kind}: {name}" if name else str(kind)


def lineage(stage: str, manifest: dict, stage_order: list[str] = ()) -> dict:
    """Which model, data, judge and config produced this stage's outputs."""
    section = (manifest.get("config") or {}).get("config") or {}
    inputs = manifest.get("inputs") or {}
    models = {name: item for name, item in inputs.items() if name == "model" or name.startswith("model.")}
    data = [{"name": name, **item} for name, item in inputs.items() if name not in models]
    judge = describe_judge(section.get("judge")) or (manifest.get("metrics") or {}).get("judge")
    return {
        "stage": stage,
        "status": manifest.get("status"),
        "models_from": sorted({str(item.get("from_stage") or item.get("path")) for item in models.values()}, key=lambda name: (list(stage_order) + [name]).index(name)),
        "data": data,
        "judge": judge if isinstance(judge, str) else None,
        "config_hash": manifest.get("config_hash"),
        "git_sha": (manifest.get("versions") or {}).get("git_sha"),
        "seed": manifest.get("seed"),
        "device": manifest.get("device"),
        "wall_time_s": manifest.get("wall_time_s"),
        "outputs": {name: item.get("sha256") for name, item in (manifest.get("outputs") or {}).items()},
    }


# eval's leak tests, gates and judge are newer than most runs on disk; these accept the shapes a run may hold
# (ARCHITECTURE.md's plain `leaks` count, a gates object holding its list) and give None for anything else.
def _leaks(leaks) -> dict | None:
    if _number(leaks):
        return {"count": int(leaks), "hits": []}
    return leaks if isinstance(leaks, dict) else None


def _gates(gates) -> list[dict] | None:
    if isinstance(gates, dict):
        gates = gates.get("results", gates.get("gates"))
    return [gate for gate in gates if isinstance(gate, dict)] if isinstance(gates, list) else None


def _judge(judge) -> dict | None:
    if isinstance(judge, str):
        return {"kind": judge}
    return judge if isinstance(judge, dict) else None


def collect_run(run_dir: Path, *, eval_dir: Path | None = None, eval_metrics: dict | None = None) -> dict:
    """Everything the report shows, as plain data.

    `eval_dir` / `eval_metrics`: eval's own files and metrics while eval is still running (its directory is
    `<run_dir>/eval.partial` and it has no manifest yet); by default `<run_dir>/eval` and its metrics.json."""
    run_dir = Path(run_dir)
    manifests = read_manifests(run_dir)
    eval_dir = Path(eval_dir) if eval_dir is not None else run_dir / "eval"
    if eval_metrics is None:
        eval_metrics = _json(eval_dir / "metrics.json") or (manifests.get("eval") or {}).get("metrics") or {}
    if eval_dir != run_dir / "eval":
        manifests.pop("eval", None)  # eval is running again: the manifest there is the previous attempt's
    stage_names = list(manifests)
    # metrics.json is written with sorted keys; show models in the order their stages ran, so a delta is "what
    # this stage changed" (a model whose stage has no manifest goes last)
    models = eval_metrics.get("models") or {}
    models = {name: models[name] for name in sorted(models, key=lambda name: stage_names.index(name) if name in stage_names else len(stage_names))}
    curate = manifests.get("curate")
    rs_dir = run_dir / "rs"
    dialogues = rs_dialogues(rs_dir)
    found = {
        "run_dir": str(run_dir),
        "stages": {stage: {"status": m.get("status"), "wall_time_s": m.get("wall_time_s"), "metrics": m.get("metrics") or {}} for stage, m in manifests.items()},
        "funnel": curate_funnel(run_dir / "curate", curate.get("metrics") or {}) if curate else None,
        "losses": {stage: curves for stage in stage_names if (curves := loss_curves(run_dir / stage))},
        "dpo_rounds": [row for row in _rows(run_dir / "dpo" / "metrics.jsonl") if row.get("phase") == "dpo_round"],
        "eval": {
            "models": models,
            "judge": _judge(eval_metrics.get("eval_judge")),
            "leaks": _leaks(eval_metrics.get("leaks")),
            "gates": _gates(eval_metrics.get("gates")),
        },
        "answer_lengths": answer_lengths(eval_dir),
        "dialogues": dialogues,
        "dialogue_pair": rs_pair(rs_dir, dialogues),
        "lineage": [lineage(stage, manifest, stage_names) for stage, manifest in manifests.items()],
    }
    eval_judge = eval_metrics.get("eval_judge")
    for item in found["lineage"]:
        if item["stage"] == "eval" and not item["judge"] and isinstance(eval_judge, dict):
            item["judge"] = describe_judge(eval_judge)  # what eval's judge says it is, from its metrics
    return found
