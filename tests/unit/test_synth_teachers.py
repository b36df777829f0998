"""synth's model teachers: an OpenAI-compatible teacher against a fake server on loopback and the tiny local HF
model. Unparseable replies are counted, never fatal; a rerun with the same config asks the teacher nothing."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from steep.artifacts import read_jsonl
from steep.simulate.user import load_scenarios
from steep.synth.config import SynthConfig
from steep.synth.run import run_synth
from tests.conftest import write_jsonl

TERMS = {"allows_training_on_outputs": True, "source": "test fixture: our own model"}
DOC = (
    "A home insurance claim is settled within ten working days of the report. The standard excess on home cover is "
    "two hundred and fifty pounds per claim. Claims must be reported within thirty days of the incident."
)


def reply_for(prompt: str) -> str:
    """What the fake teacher writes: JSON for each template, prose for multi-part sft asks (unparseable)."""
    if '{"question"' in prompt:
        if "multi_part" in prompt:
            return "Sure! Here is a great question about claims."  # no JSON: counted as unparseable
        if "detailed" in prompt:  # an answer from the teacher's own knowledge, not from the document
            return json.dumps({"question": "Is flooding covered?", "answer": "Flooding is covered everywhere except coastal zones."})
        return "```json\n" + json.dumps({"question": "How fast is a claim settled?", "answer": "Within ten working days of the report."}) + "\n```"
    if '{"prompt"' in prompt:
        return json.dumps({"prompt": f"Teacher prompt {abs(hash(prompt)) % 10_000}: what is the excess on home cover?"})
    return json.dumps({"persona": "a busy parent", "goal": "learn the excess", "opening": "Hello, I have a claim question.",
                       "follow_ups": ["What is the excess?", "How long will it take?"], "facts": [{"name": "postcode area", "value": "north"}]})  # fmt: skip


@pytest.fixture
def teacher_server():
    seen: list[dict] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                seen.append(body)
            text = reply_for(body["messages"][-1]["content"])
            data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                               "usage": {"prompt_tokens": 50, "completion_tokens": 20}}).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield seen, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _config(teacher: dict, **extra) -> SynthConfig:
    return SynthConfig.model_validate({
        "teacher": teacher, "sft": {"per_document": 3}, "dpo": {"per_document": 2, "tempting_share": 0.5}, "rs": {"per_document": 1},
        "use_cases": [{"name": "claims", "description": "home insurance claims"}], **extra,
    })  # fmt: skip


def test_openai_teacher_rows_are_cached_and_unparseable_replies_counted(teacher_server, tmp_path):
    seen, url = teacher_server
    documents = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "text": DOC, "meta": {}} for i in range(2)])
    cfg = _config({"kind": "openai", "base_url": url, "model": "teacher-72b", "backoff_base_s": 0, "concurrency": 2, "terms": TERMS})
    first = run_synth(cfg, documents=documents, out_dir=tmp_path / "first", cache_dir=tmp_path / "cache")
    assert len(seen) == first["requested"] == first["teacher_calls"] == 12 and first["teacher_cached"] == 0
    assert seen[0]["model"] == "teacher-72b" and seen[0]["messages"][0]["role"] == "system"
    assert "home insurance claims" in seen[0]["messages"][-1]["content"] and DOC in seen[0]["messages"][-1]["content"]
    assert first["dropped"]["unparseable"] == 2  # the multi-part sft asks, one per document
    assert first["dropped"]["ungrounded"] == 2 and first["gates"]["grounding"]["dropped"] == {"ungrounded": 2}
    sft = read_jsonl(tmp_path / "first" / "sft.jsonl")
    # both documents got the same reply: the second pair differs only in its source line, a near duplicate
    assert len(sft) == 1 and first["dropped"]["duplicate:near"] == 2  # that pair, and the second scenario
    assert sft[0]["messages"][-1]["content"] == "Within ten working days of the report.\nSource: d0"
    assert sft[0]["meta"]["teacher"].startswith(f"openai:{url}:teacher-72b")
    [scenario] = load_scenarios(tmp_path / "first" / "rs_scenarios.jsonl")  # one per document; the second duplicates it
    assert scenario.case_id in scenario.user_turns[0] and "north" in scenario.user_turns[0]
    assert [f.name for f in scenario.facts] == ["case_id", "postcode_area"]

    seen.clear()  # the same config again: every reply comes from the cache
    again = run_synth(cfg, documents=documents, out_dir=tmp_path / "again", cache_dir=tmp_path / "cache")
    assert seen == [] and again["teacher_calls"] == 0 and again["teacher_cached"] == 12
    for name in ("sft.jsonl", "dpo_prompts.jsonl", "rs_scenarios.jsonl"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "first" / name).read_bytes()

    seen.clear()  # one more row per document: only the new asks reach the teacher
    more = _config(cfg.teacher.model_dump(), dpo={"per_document": 3, "tempting_share": 0.5})
    grown = run_synth(more, documents=documents, out_dir=tmp_path / "grown", cache_dir=tmp_path / "cache")
    assert grown["teacher_calls"] == len(seen) and 0 < len(seen) < grown["requested"]


def test_local_hf_teacher_runs_counts_garbage_and_caches(tiny_model_dir, tmp_path):
    documents = write_jsonl(tmp_path / "docs.jsonl", [{"id": "d0", "text": DOC, "meta": {}}])
    teacher = {"kind": "hf_local", "path": str(tiny_model_dir), "device": "cpu", "terms": TERMS,
               "generation": {"max_new_tokens": 8, "temperature": 1.0, "batch_size": 4}}  # fmt: skip
    cfg = _config(teacher)
    first = run_synth(cfg, documents=documents, out_dir=tmp_path / "first", cache_dir=tmp_path / "cache")
    assert first["teacher_calls"] == first["requested"] == 6
    # a random tiny model writes no JSON: every row is dropped as unparseable, and the run still completes
    assert first["dropped"] == {"unparseable": 6} and first["sft_rows"] == first["dpo_prompts"] == first["rs_scenarios"] == 0
    assert all(p["reason"] == "unparseable" and p["teacher"].startswith("hf_local:") for p in read_jsonl(tmp_path / "first" / "provenance.jsonl"))
    again = run_synth(cfg, documents=documents, out_dir=tmp_path / "again", cache_dir=tmp_path / "cache")
    assert again["teacher_calls"] == 0 and again["teacher_cached"] == 6


def test_rerunning_the_stage_pays_the_teacher_nothing(teacher_server, tmp_path):
    """`steep run --from synth` replaces synth's directory; the cache lives beside it, so nothing is asked again."""
    from steep.artifacts import read_manifest
    from steep.pipeline.config import validate_pipeline_config
    from steep.pipeline.runner import run_pipeline

    seen, url = teacher_server
    documents = write_jsonl(tmp_path / "docs.jsonl", [{"id": "d0", "text": DOC, "meta": {}}])
    raw = {
        "run_dir": str(tmp_path / "run"), "use_cases": [{"name": "claims"}],
        "synth": {"documents": str(documents), "teacher": {"kind": "openai", "base_url": url, "model": "t", "backoff_base_s": 0, "terms": TERMS}},
    }  # fmt: skip
    cfg = validate_pipeline_config(raw)
    run_pipeline(cfg)
    first = read_manifest(tmp_path / "run" / "synth")["metrics"]
    assert first["teacher_calls"] == len(seen) == first["requested"] > 0
    seen.clear()
    run_pipeline(cfg, start="synth")
    again = read_manifest(tmp_path / "run" / "synth")["metrics"]
    assert seen == [] and again["teacher_calls"] == 0 and again["teacher_cached"] == first["requested"]
