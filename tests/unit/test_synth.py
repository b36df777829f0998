"""synth without a model: the template teacher's rows load with the readers dpo, rs and sft use, every gate drops
with a counted reason (PII, compliance, 13-gram decontamination, exact and near dedup, judge), a planted secret
never reaches a row, a model teacher without declared terms is refused at its YAML path, and the pipeline wires
`{from: synth}` to synth's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steep.artifacts import read_jsonl
from steep.curate.decontam import ngram_hashes
from steep.pipeline.config import ConfigError, validate_pipeline_config
from steep.pipeline.runner import declared_inputs
from steep.simulate.user import load_scenarios
from steep.stage import FileInput, StageOutput
from steep.synth.config import SynthConfig, UseCase
from steep.synth.run import run_synth
from tests.conftest import write_jsonl

CLAIMS = (
    "A home insurance claim is settled within ten working days of the report. The standard excess on home cover "
    "is two hundred and fifty pounds per claim. Claims must be reported within thirty days of the incident. "
    "Storm damage is covered when wind speeds reach fifty five miles per hour. The loss adjuster visits within "
    "five working days for claims above five thousand pounds."
)
CARDS = (
    "A replacement card arrives within five working days of the request. The contactless limit on every debit card "
    "is one hundred pounds per payment. Lost cards must be reported through the app or by phone at once. "
    "Cash withdrawals abroad cost two percent of the amount withdrawn."
)
USE_CASES = [
    UseCase(name="claims", description="home insurance claims", examples=["How long does a claim take?"], documents="(?i)claim"),
    UseCase(name="cards", description="debit cards", examples=["Can I get a new card?"], documents="(?i)card"),
]


def docs(tmp_path: Path, extra: list[dict] = ()) -> Path:
    rows = [
        {"id": "pol-claims", "text": CLAIMS + " See POL-1315 for the full policy.", "meta": {"title": "Home Insurance Claims"}},
        {"id": "pol-cards", "text": CARDS + " See POL-2040 for the full policy.", "meta": {"title": "Debit Cards"}},
        *extra,
    ]
    return write_jsonl(tmp_path / "docs.jsonl", rows)


def synth(tmp_path: Path, documents: Path, **overrides) -> tuple[dict, Path]:
    fields = {
        "use_cases": USE_CASES, "system_prompt": "You are the support assistant.", "answer_format": "Answer: {answer}\nSource: {source}",
        "source_pattern": r"POL-\d{4}", "sft": {"per_document": 3}, "dpo": {"per_document": 4, "tempting_share": 0.5},
        "rs": {"per_document": 1, "follow_ups": 3}, "temptations": {"restricted_terms": ["Project Bluefin"], "post_cutoff_terms": ["2025 rate review"]},
        "quality": {"compliance": {"terms": ["Project Bluefin"]}},
    }  # fmt: skip
    for key, value in overrides.items():
        fields[key] = {**fields[key], **value} if isinstance(value, dict) and isinstance(fields.get(key), dict) else value
    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    metrics = run_synth(SynthConfig.model_validate(fields), documents=documents, out_dir=out, cache_dir=tmp_path / "cache")
    return metrics, out


def all_text(out: Path) -> str:
    return "\n".join((out / name).read_text(encoding="utf-8") for name in ("sft.jsonl", "dpo_prompts.jsonl", "rs_scenarios.jsonl"))


def test_rows_are_in_the_formats_the_stages_read(tmp_path):
    metrics, out = synth(tmp_path, docs(tmp_path))
    sft, dpo = read_jsonl(out / "sft.jsonl"), read_jsonl(out / "dpo_prompts.jsonl")
    scenarios = load_scenarios(out / "rs_scenarios.jsonl")  # rs's own reader validates every scenario
    assert metrics["sft_rows"] == len(sft) > 0 and metrics["dpo_prompts"] == len(dpo) > 0 and metrics["rs_scenarios"] == len(scenarios) > 0
    for row in sft:
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        answer = row["messages"][-1]["content"]
        assert answer.startswith("Answer: ") and answer.endswith(f"Source: {row['meta']['source']}")  # cites its source
        assert row["meta"]["source"] in {"POL-1315", "POL-2040"}
    for row in dpo:
        assert [m["role"] for m in row["messages"]] == ["system", "user"]
    for scenario in scenarios:
        assert scenario.case_id in scenario.user_turns[0]
        assert scenario.all_facts[0].asked_at_turns == [len(scenario.user_turns)]  # the last turn asks the case number back
        assert scenario.persona and scenario.goal
    every = sft + dpo + [s.model_dump() for s in scenarios]
    assert {r["meta"]["use_case"] for r in every} == {"claims", "cards"}
    for row in every:
        assert set(row["meta"]) >= {"use_case", "source_doc", "teacher", "template", "synth_id"}
        assert row["meta"]["teacher"] == "template/v1"
    assert {r["meta"]["source_doc"] for r in every} == {"pol-claims", "pol-cards"}
    provenance = read_jsonl(out / "provenance.jsonl")
    assert len(provenance) == metrics["requested"] and sum(p["kept"] for p in provenance) == len(every)


def test_dpo_prompts_vary_and_tempt_to_break_each_rule(tmp_path):
    metrics, out = synth(tmp_path, docs(tmp_path))
    dpo = read_jsonl(out / "dpo_prompts.jsonl")
    assert {r["meta"]["difficulty"] for r in dpo} >= {"plain", "tempting"}
    tempting = {r["meta"]["tempts"]: r["messages"][-1]["content"] for r in dpo if r["meta"]["tempts"]}
    assert set(tempting) == {"account_number", "restricted_project", "post_cutoff"} == set(metrics["tempting_prompts"])
    assert "account number" in tempting["account_number"]
    assert "Project Bluefin" in tempting["restricted_project"]  # its own term passes the compliance gate
    assert "2025 rate review" in tempting["post_cutoff"]


def test_same_config_same_rows(tmp_path):
    first = synth(tmp_path / "a", docs(tmp_path))[1]
    second = synth(tmp_path / "b", docs(tmp_path))[1]
    assert all_text(first) == all_text(second)


def test_duplicates_are_dropped_and_counted(tmp_path):
    copy = {"id": "pol-claims-copy", "text": CLAIMS + " See POL-1315 for the full policy.", "meta": {"title": "Home Insurance Claims"}}
    metrics, out = synth(tmp_path, docs(tmp_path, [copy]))
    assert metrics["dropped"].get("duplicate:exact", 0) > 0
    provenance = read_jsonl(out / "provenance.jsonl")
    assert all(not p["kept"] for p in provenance if p["source_doc"] == "pol-claims-copy" and p["kind"] == "sft")


def test_near_duplicates_are_dropped(tmp_path):
    near = {"id": "pol-claims-v2", "text": CLAIMS.replace("ten working days", "ten business days") + " See POL-1315 for the full policy.",
            "meta": {"title": "Home Insurance Claims"}}  # fmt: skip
    metrics, _ = synth(tmp_path, docs(tmp_path, [near]), quality={"near_duplicate_threshold": 0.5})
    assert metrics["dropped"].get("duplicate:near", 0) > 0


def test_no_row_shares_a_13_gram_with_the_heldout_files(tmp_path):
    sentence = "A home insurance claim is settled within ten working days of the report."  # 13 words
    heldout = write_jsonl(tmp_path / "heldout.jsonl", [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": sentence}]}])
    _, clean_out = synth(tmp_path / "clean", docs(tmp_path))
    assert sentence in all_text(clean_out)  # without decontamination the teacher quotes it
    metrics, out = synth(tmp_path / "decontam", docs(tmp_path), quality={"heldout": [str(heldout)]})
    assert metrics["dropped"]["contaminated"] > 0 and metrics["gates"]["decontam"]["dropped"]["contaminated"] > 0
    held = set(ngram_hashes(sentence, 13))
    rows = read_jsonl(out / "sft.jsonl") + read_jsonl(out / "dpo_prompts.jsonl")
    texts = [m["content"] for r in rows for m in r["messages"] if m["role"] != "system"]
    texts += [t for s in read_jsonl(out / "rs_scenarios.jsonl") for t in s["user_turns"]]
    assert texts and not any(held & set(ngram_hashes(text, 13)) for text in texts)
    assert any(p["reason"] == "contaminated" and "heldout.jsonl:1" in p["detail"] for p in read_jsonl(out / "provenance.jsonl") if not p["kept"])


def test_a_planted_secret_never_reaches_a_row(tmp_path):
    canary_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    canary_card = "4111 1111 1111 1111"
    leaky = {"id": "leaky", "meta": {"title": "Card operations runbook"}, "text": (
        f"The payments gateway key is {canary_key} and it rotates every quarter. "
        f"The test card number {canary_card} is accepted by every card terminal in the branch. "
        "A replacement card terminal is delivered within three working days."
    )}  # fmt: skip
    metrics, out = synth(tmp_path, docs(tmp_path, [leaky]), sft={"per_document": 3}, rs={"per_document": 2})
    text = all_text(out) + (out / "provenance.jsonl").read_text(encoding="utf-8")
    assert canary_key not in text and "1111 1111" not in text
    assert metrics["dropped"]["pii"] > 0 and any(r.startswith("pii:") for r in metrics["gates"]["pii"]["dropped"])


def test_compliance_terms_in_the_teachers_output_are_dropped(tmp_path):
    restricted = {"id": "secret", "meta": {"title": "Internal claims note"}, "text": (
        "Project Kingfisher is a claims automation pilot run by the back office. "
        "Project Kingfisher claims are reviewed twice a week by the pilot team."
    )}  # fmt: skip
    metrics, out = synth(tmp_path, docs(tmp_path, [restricted]), quality={"compliance": {"terms": ["Project Bluefin", "Project Kingfisher"]}})
    assert "Kingfisher" not in all_text(out)
    assert metrics["dropped"]["compliance"] > 0
    # the tempting prompt's own term is allowed; another restricted term in it would not be
    assert "Project Bluefin" in (out / "dpo_prompts.jsonl").read_text(encoding="utf-8")


def test_the_judge_filter_drops_low_scores_with_a_reason(tmp_path):
    judge = {"rules": [{"kind": "regex_present", "name": "cites_claims_policy", "pattern": "POL-1315"}]}
    metrics, out = synth(tmp_path, docs(tmp_path), quality={"judge": judge, "min_judge_score": 1.0})
    sft = read_jsonl(out / "sft.jsonl")
    assert sft and all("POL-1315" in r["messages"][-1]["content"] and r["meta"]["judge_score"] == 1.0 for r in sft)
    assert metrics["dropped"]["judge"] > 0 and metrics["dropped_by_kind"]["sft:judge"] == metrics["dropped"]["judge"]


# --- the pipeline: use cases, terms, {from: synth} -------------------------------------------------------------------


def _pipeline(pipeline_dict: dict, **synth) -> dict:
    pipeline_dict["use_cases"] = [{"name": "claims", "description": "claims", "examples": ["How long does a claim take?"], "rules": ["cite the policy"]}]
    pipeline_dict["curate"]["compliance"] = {"terms": ["Project Bluefin"]}
    pipeline_dict["synth"] = synth
    return pipeline_dict


def problems(raw: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as error:
        validate_pipeline_config(raw)
    return dict(error.value.problems)


@pytest.mark.parametrize("teacher", [
    {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "big-model"},
    {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "big-model", "terms": {"allows_training_on_outputs": True}},
    {"kind": "hf_local", "path": "README.md", "terms": {"allows_training_on_outputs": False, "source": "license"}},
])  # fmt: skip
def test_a_model_teacher_without_terms_is_refused_at_its_yaml_path(pipeline_dict, teacher, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    found = problems(_pipeline(pipeline_dict, teacher=teacher))
    [(path, message)] = [(p, m) for p, m in found.items() if p.startswith("synth.teacher")]
    assert path == "synth.teacher"
    assert "terms" in message and "allows_training_on_outputs" in message and "teacher" in message


def test_a_model_teacher_with_terms_validates(pipeline_dict):
    terms = {"allows_training_on_outputs": True, "source": "our own model"}
    cfg = validate_pipeline_config(_pipeline(pipeline_dict, teacher={"kind": "openai", "base_url": "http://x/v1", "model": "m", "terms": terms}))
    assert cfg.synth.teacher.kind == "openai"


def test_the_pipeline_fills_synth_from_its_other_sections(pipeline_dict):
    cfg = validate_pipeline_config(_pipeline(pipeline_dict))
    assert [u.name for u in cfg.synth.use_cases] == ["claims"]
    assert cfg.synth.temptations.restricted_terms == ["Project Bluefin"]
    assert cfg.synth.quality.compliance.terms == ["Project Bluefin"]
    assert {str(p) for p in cfg.synth.quality.heldout} == {pipeline_dict[s]["heldout"] for s in ("sft", "dpo", "rs")}
    inputs = declared_inputs(cfg, "synth")
    assert inputs["documents"] == StageOutput("curate", "documents")
    assert all(isinstance(inputs[k], FileInput) for k in inputs if k.startswith("quality.heldout"))


def test_stages_read_synth_outputs_by_reference(pipeline_dict):
    raw = _pipeline(pipeline_dict)
    raw["sft"]["train"] = {"from": "synth"}
    raw["dpo"]["prompts"] = {"from": "synth"}
    raw["rs"]["scenarios"] = {"from": "synth"}
    cfg = validate_pipeline_config(raw)
    assert declared_inputs(cfg, "sft")["train"] == StageOutput("synth", "sft")
    assert declared_inputs(cfg, "dpo")["prompts"] == StageOutput("synth", "dpo_prompts")
    assert declared_inputs(cfg, "rs")["scenarios"] == StageOutput("synth", "rs_scenarios")
    assert json.dumps(cfg.dpo.model_dump(mode="json")["prompts"]) == '{"from": "synth"}'  # hashed as written


def test_from_synth_without_a_synth_section_fails_naming_both(pipeline_dict):
    pipeline_dict["dpo"]["prompts"] = {"from": "synth"}
    found = problems(pipeline_dict)
    assert any("dpo consumes synth's 'dpo_prompts'" in message for message in found.values())


def test_a_bad_source_names_its_path(pipeline_dict):
    pipeline_dict["dpo"]["prompts"] = {"from": "curate"}
    assert "expected a file path or {from: synth}" in problems(pipeline_dict)["dpo.prompts"]


def test_the_synth_example_yaml_validates_and_reads_synth(tmp_path, monkeypatch, demo_data):
    """examples/demo/pipeline_synth.yaml: dpo prompts and rs scenarios come from synth, nothing else changes."""
    from steep.pipeline.config import load_pipeline_config

    repo = Path(__file__).resolve().parents[2]
    target = tmp_path / "examples" / "demo" / "data"
    target.parent.mkdir(parents=True)
    target.symlink_to(demo_data)
    monkeypatch.chdir(tmp_path)
    cfg = load_pipeline_config(repo / "examples" / "demo" / "pipeline_synth.yaml")
    plain = load_pipeline_config(repo / "examples" / "demo" / "pipeline.yaml")
    assert declared_inputs(cfg, "dpo")["prompts"] == StageOutput("synth", "dpo_prompts")
    assert declared_inputs(cfg, "rs")["scenarios"] == StageOutput("synth", "rs_scenarios")
    assert {u.name for u in cfg.synth.use_cases} == {"claims", "banking"} and plain.synth is None
    for stage in ("base", "curate", "cpt", "sft"):  # the training path; eval and serve may gain checks of their own
        assert getattr(cfg, stage).model_dump(mode="json") == getattr(plain, stage).model_dump(mode="json")
    assert cfg.dpo.model_copy(update={"prompts": plain.dpo.prompts}) == plain.dpo


def test_steep_synth_runs_the_stage_from_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from steep.cli import app
    from tests.conftest import write_yaml

    documents = docs(tmp_path)
    pipeline = write_yaml(tmp_path / "p.yaml", {
        "run_dir": str(tmp_path / "run"), "use_cases": [{"name": "claims", "documents": "(?i)claim"}],
        "synth": {"documents": str(documents), "source_pattern": r"POL-\d{4}"},
    })  # fmt: skip
    result = CliRunner().invoke(app, ["synth", str(pipeline)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "run" / "synth" / "manifest.json").read_text())
    assert manifest["inputs"]["documents"]["from_stage"] is None and manifest["metrics"]["sft_rows"] > 0
    assert {r["meta"]["use_case"] for r in read_jsonl(tmp_path / "run" / "synth" / "sft.jsonl")} == {"claims"}


def test_copies_of_heldout_prompts_too_short_for_13_grams_are_dropped(tmp_path):
    _, out = synth(tmp_path / "plain", docs(tmp_path))
    prompts = [r["messages"][-1]["content"] for r in read_jsonl(out / "dpo_prompts.jsonl") if not r["meta"]["tempts"]]
    exact, near = sorted(prompts, key=lambda p: len(p.split()))[:2]
    assert len(exact.split()) < 13 and len(near.split()) < 13  # no 13-gram can catch them
    heldout = write_jsonl(tmp_path / "dpo_heldout.jsonl", [
        {"messages": [{"role": "system", "content": "You are the support assistant."}, {"role": "user", "content": exact}]},
        {"messages": [{"role": "user", "content": near.rstrip("?") + " please?"}]},
    ])  # fmt: skip
    metrics, out = synth(tmp_path / "decontam", docs(tmp_path), quality={"heldout": [str(heldout)]})
    kept = [r["messages"][-1]["content"] for r in read_jsonl(out / "dpo_prompts.jsonl")]
    assert exact not in kept and near not in kept
    assert metrics["dropped"]["heldout_duplicate:exact"] >= 1 and metrics["dropped"]["heldout_duplicate:near"] >= 1


def test_post_cutoff_terms_are_dropped_except_in_their_own_tempting_prompt(tmp_path):
    later = {"id": "later", "meta": {"title": "Rates note for card holders"}, "text": (
        "The 2025 rate review raises the savings rate on every instant access account. "
        "The 2025 rate review takes effect for every customer in the spring."
    )}  # fmt: skip
    metrics, out = synth(tmp_path, docs(tmp_path, [later]))
    assert metrics["dropped"]["time"] > 0 and metrics["gates"]["time"]["dropped"]["time:term"] == metrics["dropped"]["time"]
    rows = read_jsonl(out / "sft.jsonl") + read_jsonl(out / "rs_scenarios.jsonl")
    assert rows and "2025 rate review" not in json.dumps(rows)
    dpo = read_jsonl(out / "dpo_prompts.jsonl")
    assert all(r["meta"]["tempts"] == "post_cutoff" for r in dpo if "2025 rate review" in r["messages"][-1]["content"])
    assert any(r["meta"]["tempts"] == "post_cutoff" for r in dpo)
