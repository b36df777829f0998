"""eval: every stage's model on the same held-out data, with the metric names the stages report.

    steep eval PIPELINE.yaml

One row per model (base, cpt, sft, dpo, rs): domain and general bits per byte (cpt's held-out sets), format
adherence (sft's held-out questions), rule pass rate and mean answer length (dpo's held-out prompts and judge),
late-turn coherence (rs's held-out scenarios and judge). Writes `metrics.json` and `report.html`.
"""

from __future__ import annotations

from pathlib import Path

from steep.artifacts import atomic_write_json, atomic_write_text, read_jsonl
from steep.evaluate.metrics import format_adherence
from steep.evaluate.report import render_report
from steep.generate.hf import HFChatGenerator
from steep.judge.rules import RulesJudge
from steep.simulate.user import load_scenarios
from steep.train.common import base_revision, chat_template_sha256, load_model, load_tokenizer
from steep.train.cpt import heldout_bpb
from steep.train.dpo import heldout_report
from steep.train.rs import late_coherence
from steep.train.sft import heldout_prompts

METRIC_NAMES = ("domain_bpb", "general_bpb", "format_adherence", "rule_pass_rate", "mean_answer_len", "coherence_late")


def evaluate_model(model, tokenizer, cfg, device: str, seed: int) -> dict:
    limits = cfg.eval
    generator = HFChatGenerator(model, tokenizer, device)
    row = {
        "domain_bpb": heldout_bpb(model, tokenizer, cfg.cpt.heldout.domain, limits.max_docs, cfg.cpt.seq_len, device),
        "general_bpb": heldout_bpb(model, tokenizer, cfg.cpt.heldout.general, limits.max_docs, cfg.cpt.seq_len, device),
    }
    sft_prompts = heldout_prompts(read_jsonl(Path(cfg.sft.heldout))[: limits.max_prompts])
    answers = [g.text for g in generator.generate_chat(sft_prompts, cfg.sft.generation, seed=seed)]
    row["format_adherence"] = format_adherence(answers, cfg.sft.format_pattern)

    dpo_prompts = [r["messages"] for r in read_jsonl(Path(cfg.dpo.heldout))][: limits.max_prompts]
    report = heldout_report(generator, RulesJudge(cfg.dpo.judge), dpo_prompts, cfg.dpo.heldout_generation, seed, cfg.dpo.heldout_samples)
    row["rule_pass_rate"] = report["rule_pass_rate"]
    row["mean_answer_len"] = report["mean_answer_len"]

    scenarios = load_scenarios(Path(cfg.rs.heldout))[: limits.max_dialogues]
    row["coherence_late"], _, _ = late_coherence(generator, RulesJudge(cfg.rs.judge), scenarios, cfg.rs, seed)
    return row


def run(ctx) -> dict:
    rows: dict[str, dict] = {}
    for name in ctx.inputs:
        if not name.startswith("model."):
            continue
        stage = name.removeprefix("model.")
        model_ref = ctx.input_path(name)
        tokenizer = load_tokenizer(model_ref, revision=base_revision(ctx, name))
        model = load_model(model_ref, ctx.device, ctx.config.base.dtype, revision=base_revision(ctx, name))
        rows[stage] = evaluate_model(model, tokenizer, ctx.config, ctx.device, ctx.seed)
        rows[stage]["chat_template_sha256"] = chat_template_sha256(tokenizer)
        ctx.log(f"{stage}: " + ", ".join(f"{k}={rows[stage][k]:.3f}" for k in METRIC_NAMES if rows[stage][k] is not None))
        del model
    metrics = {"models": rows}
    atomic_write_json(ctx.work_dir / "metrics.json", metrics)
    atomic_write_text(ctx.work_dir / "report.html", render_report(ctx.run_dir, rows))
    ctx.add_output("metrics", ctx.work_dir / "metrics.json")
    ctx.add_output("report", ctx.work_dir / "report.html")
    return metrics
