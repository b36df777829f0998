"""A teacher's reply turned into the row a later stage reads, or the reason it cannot be one.

    row = build_row(request, reply, cfg, teacher="template/v1")   # dict, or Rejected("unparseable", "...")

Shapes, as the stages read them:
- sft:  `{messages: [system?, user, assistant], meta}`; the answer is written in `synth.answer_format` and cites
  its source (`{source}`: the document's id, or what `synth.source_pattern` finds in it).
- dpo:  `{messages: [system?, user], meta}` (a prompt; dpo samples and judges the answers).
- rs:   a `steep.simulate.Scenario` (`{id, case_id, persona, topic, goal, user_turns, facts, meta}`): the opening line
  states the case number and the facts, the last turn asks the case number back (`asked_at_turns`).
Every row's `meta` holds its provenance: `use_case`, `source_doc`, `teacher`, `template`, `difficulty`, `tempts`.
A reply that is not the JSON asked for is `unparseable` (counted, never fatal: a small model teacher often
writes prose).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from steep.simulate.user import Scenario
from steep.synth.config import SynthConfig
from steep.synth.requests import TeacherRequest

RECALL_TURN = "Before I go, can you confirm my case number?"


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str = ""


def parse_reply(text: str) -> dict | None:
    """The JSON object in a teacher's reply: the whole reply, or its outermost `{...}` (models wrap JSON in prose
    or code fences); None when there is none."""
    text = (text or "").strip()
    for candidate in (text, text[text.find("{") : text.rfind("}") + 1] if "{" in text else ""):
        if not candidate:
            continue
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def row_id(request: TeacherRequest) -> str:
    # the text's hash too: two documents that share an id (from two input files) must not share row ids
    text = hashlib.sha256(request.doc.text.encode()).hexdigest()[:8]
    key = "\x1f".join([request.template_id, request.doc.id, text, request.use_case.name, str(request.variant)])
    return f"synth-{request.kind}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def provenance(request: TeacherRequest, teacher: str) -> dict:
    return {
        "synth_id": row_id(request), "use_case": request.use_case.name, "source_doc": request.doc.id, "source": request.source,
        "teacher": teacher, "template": request.template_id, "difficulty": request.difficulty, "tempts": request.tempts,
    }  # fmt: skip


def _text(value) -> str:
    return " ".join(str(value).split()) if isinstance(value, str | int | float) else ""


def _system(cfg: SynthConfig) -> list[dict]:
    return [{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []


def build_row(request: TeacherRequest, reply: str, cfg: SynthConfig, teacher: str) -> dict | Rejected:
    data = parse_reply(reply)
    if data is None:
        return Rejected("unparseable", (reply or "")[:200])
    if "skip" in data:
        return Rejected("teacher_skipped", _text(data["skip"]))
    meta = provenance(request, teacher)
    if request.kind == "sft":
        question, answer = _text(data.get("question")), str(data.get("answer") or "").strip()
        if not question or not answer:
            return Rejected("unparseable", "missing question or answer")
        content = cfg.answer_format.format(answer=answer, source=request.source)
        return {"messages": [*_system(cfg), {"role": "user", "content": question}, {"role": "assistant", "content": content}], "meta": meta}
    if request.kind == "dpo":
        prompt = _text(data.get("prompt"))
        if not prompt:
            return Rejected("unparseable", "missing prompt")
        return {"messages": [*_system(cfg), {"role": "user", "content": prompt}], "meta": meta}
    return _scenario(request, data, meta)


def _append(text: str, sentence: str) -> str:
    text = text.rstrip()
    return f"{text}{'' if text[-1:] in '.!?' else '.'} {sentence}"


def _scenario(request: TeacherRequest, data: dict, meta: dict) -> dict | Rejected:
    opening = _text(data.get("opening"))
    follow_ups = [_text(t) for t in data.get("follow_ups") or [] if _text(t)] if isinstance(data.get("follow_ups"), list) else []
    if not opening or not follow_ups:
        return Rejected("unparseable", "missing opening or follow_ups")
    case_id = request.case_id or ""
    if case_id not in opening:  # the simulator needs the case number in the first turn; a model teacher may drop it
        opening = _append(opening, f"My case number is {case_id}.")
    facts = []
    for fact in data.get("facts") or []:
        name, value = (_text(fact.get("name")), _text(fact.get("value"))) if isinstance(fact, dict) else ("", "")
        name = re.sub(r"[^a-z0-9_.\-]", "", "_".join(name.lower().split()))[:64]  # the simulator's fact-name alphabet
        if name and value and name != "case_id" and all(f["name"] != name for f in facts):
            if value not in opening:
                opening = _append(opening, f"My {name.replace('_', ' ')} is {value}.")
            facts.append({"name": name, "value": value, "stated_at_turn": 1})
    turns = [opening, *follow_ups[:30], RECALL_TURN]
    facts.insert(0, {"name": "case_id", "value": case_id, "recall": "every_turn", "asked_at_turns": [len(turns)], "label": "case number"})
    row = {
        "id": meta["synth_id"], "case_id": case_id, "persona": _text(data.get("persona")), "topic": request.use_case.name,
        "goal": _text(data.get("goal")), "user_turns": turns, "facts": facts, "meta": meta,
    }  # fmt: skip
    try:
        Scenario.model_validate(row)
    except ValueError as error:
        return Rejected("invalid_scenario", str(error).splitlines()[-1][:200])
    return row
