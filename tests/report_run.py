"""A synthetic finished run directory for the report tests: the manifests and files each stage writes, no training.

    from tests.report_run import write_run
    run_dir = write_run(tmp_path / "run")                      # every stage, eval with win rates, leaks and gates
    run_dir = write_run(tmp_path / "run", eval_extras=False)   # eval as written before those existed

Shapes follow what the stages write (see runs/*/<stage>/manifest.json of a real run); numbers are made up but
plausible, so a screenshot of the report looks like a real one.
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL_STAGES = ("base", "cpt", "sft", "dpo", "rs")
LOSS_STEPS = {"base": 6, "cpt": 12, "sft": 20, "rs": 4}
DPO_ROUNDS, DPO_STEPS = 2, 4


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True))  # sorted, as steep's atomic_write_json writes


def _write_jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _manifest(run_dir: Path, stage: str, index: int, metrics: dict, inputs: dict, section: dict | None = None, outputs=("model",)) -> None:
    _write_json(run_dir / stage / "manifest.json", {
        "stage": stage, "status": "complete",
        "config": {"config": section or {"enabled": True}, "device": "auto", "dtype": "float32", "seed": 0, "stage": stage},
        "config_hash": f"{index:x}" * 64, "inputs": inputs,
        "outputs": {name: {"path": name, "sha256": f"{index + 1:x}" * 64} for name in outputs},
        "metrics": metrics, "seed": 0, "device": "cpu", "versions": {"git_sha": "abc123" * 6, "steep": "0.1.0"},
        "started_at": f"2026-12-06T05:{index:02d}:00+00:00", "wall_time_s": 10.0 + index, "host": "test",
    })  # fmt: skip


def _model_input(stage: str) -> dict:
    return {"from_stage": stage, "path": f"run/{stage}/model", "sha256": "e" * 64}


def _file(path: str) -> dict:
    return {"from_stage": None, "path": path, "sha256": "f" * 64}


def _loss_rows(steps: int, start: float, phase: str = "train") -> list[dict]:
    return [{"phase": phase, "step": s, "loss": start * (1 - 0.4 * s / steps) + 0.05 * (s % 3), "learning_rate": 1e-3, "tokens_seen": 512 * s} for s in range(1, steps + 1)]


def eval_models(extras: bool = True) -> dict:
    models = {}
    for i, stage in enumerate(MODEL_STAGES):
        row = {
            "domain_bpb": 1.2 - 0.05 * i, "general_bpb": 1.25 - 0.02 * i, "format_adherence": min(0.2 * i, 1.0),
            "rule_pass_rate": 0.5 + 0.1 * i, "all_rules_pass_rate": 0.05 * i, "mean_answer_len": 45.0 - 5 * i,
            "coherence_late": 0.5 + 0.05 * i, "fact_recall_late": 0.1 * i,
            "coherence_by_turn": {str(t): 0.8 - 0.03 * t + 0.04 * i for t in range(1, 9)},
            "per_rule": {"cites_policy": 0.2 * i, "disclaimer": 0.1 * i}, "chat_template_sha256": "c" * 64,
        }  # fmt: skip
        if extras and i:
            row |= {"win_rate_vs_previous": 0.45 + 0.06 * i, "win_rate_vs_previous_lc": 0.43 + 0.05 * i, "tie_rate_vs_previous": 0.1, "comparisons_vs_previous": 24,
                    "win_rate_vs_previous_low": 0.3 + 0.06 * i, "win_rate_vs_previous_high": 0.6 + 0.06 * i, "win_rate_vs_previous_verdict": "no clear difference"}  # fmt: skip
        models[stage] = row
    return models


def eval_metrics(extras: bool = True) -> dict:
    metrics = {"models": eval_models(extras), "tasks": ["bpb", "bpb", "format", "rules", "coherence"]}
    if extras:
        metrics |= {
            # as eval writes it: kind, identity and the judge's usage counters
            "eval_judge": {"kind": "reference_embedding", "identity": "reference_embedding:all-MiniLM-L6-v2@0a1b2c3d", "calls": 96},
            "leaks": {"count": 1, "hits": [{"canary": "canary-0003", "where": "rs/model answer to probe 2"}], "checked_files": 14, "probes": 8},
            "gates": [
                {"stage": "dpo", "metric": "rule_pass_rate", "value": 0.9, "threshold": 0.8, "passed": True},
                {"stage": "rs", "metric": "fact_recall_late", "value": 0.4, "threshold": 0.5, "passed": False},
            ],
        }
    return metrics


# rs: four scenarios of three candidates, the third kept; in RS_CONTRAST the first candidate scored far lower
# than the rest (the pair the report shows side by side), and in RS_NO_KEEPER every candidate tied below min_score
RS_SCENARIOS, RS_ROLLOUTS, RS_TURNS = 4, 3, 3
RS_CONTRAST, RS_NO_KEEPER = "rs-0002", "rs-0004"
# model text is untrusted: the report must show it, not run it
UNTRUSTED = "<script>alert('rs')</script> & <b>not bold</b>"
LONG_REPLY = "Answer: " + "very long " * 300


def _rs_dialogue(scenario: str, rollout: int, score: float, worst_score: float, kept: bool, reason: str | None, tied: bool = False) -> dict:
    """One judged candidate as rs writes it; its worst turn is turn `rollout + 1`, and rollout 0 forgets the case
    number on turn 2."""
    worst = rollout % RS_TURNS
    scores = [worst_score if turn == worst else 0.9 for turn in range(RS_TURNS)]
    rationales = ["" if s == 0.9 else f"disclaimer: missing (rollout {rollout}, turn {turn + 1})" for turn, s in enumerate(scores)]
    messages = [{"role": "system", "content": "You are Kestrel Mutual's support assistant."}]
    for turn in range(1, RS_TURNS + 1):
        reply = f"Answer: reply {turn} of rollout {rollout} on CASE-{scenario[-4:]}.\nSource: POL-1234"
        if scenario == RS_CONTRAST and turn == 1:
            reply = UNTRUSTED if rollout == 0 else LONG_REPLY if kept else reply
        messages += [{"role": "user", "content": f"Question {turn} about case CASE-{scenario[-4:]}?"}, {"role": "assistant", "content": reply}]
    misses = [{"turn": 2, "fact": "case_id"}] if rollout == 0 else []
    return {
        "scenario_id": scenario, "rollout": rollout, "round": 1, "messages": messages, "end_reason": "turn_limit",
        "facts": [{"name": "case_id", "value": f"CASE-{scenario[-4:]}", "recall": "every_turn"}], "user_asks": {},
        "turn_scores": scores, "turn_rationales": rationales, "worst_turn": worst + 1, "worst_turn_score": worst_score,
        "worst_turn_rationale": rationales[worst], "rules_mean": sum(scores) / RS_TURNS, "fact_recall": 2 / 3 if misses else 1.0,
        "fact_misses": misses, "score": score, "judge": "rules:2:cites_policy,disclaimer", "tied": tied,
        "kept": kept, "reject_reason": reason,
    }  # fmt: skip


def rs_dialogues() -> list[dict]:
    dialogues = []
    for n in range(RS_SCENARIOS * RS_ROLLOUTS):
        scenario, rollout = f"rs-{n // RS_ROLLOUTS:04d}", n % RS_ROLLOUTS
        kept = rollout == RS_ROLLOUTS - 1
        score = 0.35 if scenario == RS_CONTRAST and rollout == 0 else 0.6 + 0.03 * n
        dialogues.append(_rs_dialogue(scenario, rollout, score, 0.5 + 0.03 * n, kept, None if kept else "not_top"))
    dialogues += [_rs_dialogue(RS_NO_KEEPER, rollout, 0.3, 0.3, False, "below_min_score", tied=True) for rollout in range(RS_ROLLOUTS)]
    return dialogues


def write_run(run_dir: Path, *, eval_extras: bool = True, stages=("base", "curate", "cpt", "sft", "dpo", "rs", "eval", "serve")) -> Path:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    index = {stage: i for i, stage in enumerate(("base", "curate", "cpt", "sft", "dpo", "rs", "eval", "serve"))}
    if "base" in stages:
        _manifest(run_dir, "base", index["base"], {"params": 1_000_000}, {"corpus[0]": _file("data/general.jsonl")})
        _write_jsonl(run_dir / "base" / "metrics.jsonl", _loss_rows(LOSS_STEPS["base"], 6.0))
    if "curate" in stages:
        dropped = {"duplicate:exact": 12, "compliance:Project Bluefin": 5, "too_short": 3}
        _manifest(run_dir, "curate", index["curate"], {"docs_in": 100, "docs_out": 80, "dropped": dropped, "dropped_by_reason": dropped}, {"inputs[0]": _file("data/lake.jsonl")}, outputs=("documents", "excluded"))
        blocks = {"read": (100, 100, {}), "compliance": (100, 95, {"compliance:Project Bluefin": 5}), "quality": (95, 92, {"too_short": 3}), "dedup": (92, 80, {"duplicate:exact": 12})}
        _write_json(run_dir / "curate" / "stats.json", {"blocks": {name: {"seen": s, "kept": k, "dropped": d, "seconds": 0.1} for name, (s, k, d) in blocks.items()}})
    if "cpt" in stages:
        _manifest(run_dir, "cpt", index["cpt"], {"domain_bpb_before": 1.2, "domain_bpb_after": 1.05, "general_bpb_before": 1.25, "general_bpb_after": 1.2}, {"model": _model_input("base"), "documents": {**_file("run/curate/documents"), "from_stage": "curate"}})
        _write_jsonl(run_dir / "cpt" / "metrics.jsonl", _loss_rows(LOSS_STEPS["cpt"], 3.5))
    if "sft" in stages:
        _manifest(run_dir, "sft", index["sft"], {"format_adherence_before": 0.1, "format_adherence_after": 0.9}, {"model": _model_input("cpt"), "train": _file("data/sft_train.jsonl")}, outputs=("adapter", "model", "chat_template"))
        _write_jsonl(run_dir / "sft" / "metrics.jsonl", _loss_rows(LOSS_STEPS["sft"], 2.6))
    if "dpo" in stages:
        judge = {"kind": "rules", "rules": [{"kind": "regex_present", "name": "cites_policy", "pattern": "POL-\\d{4}"}, {"kind": "contains", "name": "disclaimer", "text": "x"}]}
        _manifest(run_dir, "dpo", index["dpo"], {"rule_pass_rate_before": 0.6, "rule_pass_rate_after": 0.85, "mean_answer_len_before": 30.0, "mean_answer_len_after": 26.0, "judge": "rules:2:cites_policy,disclaimer"}, {"model": _model_input("sft"), "prompts": _file("data/dpo_prompts.jsonl")}, section={"judge": judge})
        rows = []
        for r in range(DPO_ROUNDS):
            rows += _loss_rows(DPO_STEPS, 1.6, phase=f"round{r}")
            rows.append({"phase": "dpo_round", "round": r, "prompts": 16, "pairs": 12 - r, "tie_rate": 0.2, "sampled_pass_rate": 0.7 + 0.05 * r, "heldout_rule_pass_rate": 0.75 + 0.05 * r, "win_rate_vs_previous": 0.55, "length_drift": -0.05})
        _write_jsonl(run_dir / "dpo" / "metrics.jsonl", rows)
    if "rs" in stages:
        dialogues = rs_dialogues()
        rs_metrics = {"coherence_late_before": 0.6, "coherence_late_after": 0.7, "fact_recall_late_before": 0.2, "fact_recall_late_after": 0.4, "dialogues": len(dialogues), "kept": sum(d["kept"] for d in dialogues), "scenarios_without_keeper": [RS_NO_KEEPER], "tied_scenarios": 1, "rounds": [{"round": 1, "scenarios_with_due_facts": 3, "scenarios_with_recalling_candidate": 1}]}
        _manifest(run_dir, "rs", index["rs"], rs_metrics, {"model": _model_input("dpo"), "scenarios": _file("data/rs_scenarios.jsonl")})
        _write_jsonl(run_dir / "rs" / "metrics.jsonl", _loss_rows(LOSS_STEPS["rs"], 0.6))
        _write_jsonl(run_dir / "rs" / "dialogues.jsonl", dialogues)
    if "eval" in stages:
        metrics = eval_metrics(eval_extras)
        _manifest(run_dir, "eval", index["eval"], metrics, {f"model.{stage}": _model_input(stage) for stage in MODEL_STAGES}, outputs=("metrics", "answers", "report"))
        _write_json(run_dir / "eval" / "metrics.json", metrics)
        answers = [{"model": stage, "task": 3, "kind": "rules", "prompt": [], "answer": " ".join(["word"] * (10 + 4 * n + 3 * (4 - i))), "score": 0.8} for i, stage in enumerate(MODEL_STAGES) for n in range(8)]
        answers += [{"model": stage, "task": 4, "kind": "coherence", "messages": [], "score": 0.7} for stage in MODEL_STAGES]
        answers += [{"model": stage, "task": "winrate", "kind": "comparison", "against": "x", "new": "a b", "old": "c", "outcome": 1.0} for stage in MODEL_STAGES[1:]]
        _write_jsonl(run_dir / "eval" / "answers.jsonl", answers)
    if "serve" in stages:
        _manifest(run_dir, "serve", index["serve"], {"smoke_latency_s": 0.5}, {"model": _model_input("rs")}, outputs=("serve",))
    return run_dir
