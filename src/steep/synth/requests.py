"""What synth asks the teacher: one `TeacherRequest` per row to write, and the chat prompt a model teacher reads.

    requests = plan_requests(cfg, docs)       # sft pairs, dpo prompts, rs scenarios, per document and use case
    requests[0].messages                      # [system, user]: the prompt, with the document and the use case

Every request names its prompt template (`template_id`, versioned: a changed prompt is a new id, so cached
replies to the old one are never reused for it) and carries the structured fields the offline template teacher
builds its reply from. The teacher answers with one JSON object whose shape the template names (`REPLY_SHAPES`);
`steep.synth.rows` turns it into a row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from steep.synth.config import SynthConfig, UseCase
from steep.synth.documents import SourceDocument, source_id, use_cases_for

SFT_QA = "sft_qa/v1"
DPO_PROMPT = "dpo_prompt/v1"
DPO_TEMPT = "dpo_tempt/v1"
RS_SCENARIO = "rs_scenario/v1"

REPLY_SHAPES = {
    SFT_QA: '{"question": "...", "answer": "..."}',
    DPO_PROMPT: '{"prompt": "..."}',
    DPO_TEMPT: '{"prompt": "..."}',
    RS_SCENARIO: '{"persona": "...", "goal": "...", "opening": "...", "follow_ups": ["...", "..."], "facts": [{"name": "...", "value": "..."}]}',
}
DIFFICULTIES = ("plain", "detailed", "multi_part")
TEACHER_SYSTEM = (
    "You write training data for a company's assistant from the company's own documents. Stay strictly within what "
    "the document says. Reply with one JSON object and nothing else."
)


@dataclass(frozen=True)
class TeacherRequest:
    template_id: str
    kind: str  # "sft" | "dpo" | "rs": the file the row goes to
    doc: SourceDocument
    use_case: UseCase
    variant: int  # which of the document's rows of this kind (picks sentences, phrasing, difficulty)
    difficulty: str = "plain"
    tempts: str | None = None  # dpo: "account_number" | "restricted_project" | "post_cutoff"
    tempt_term: str | None = None  # the restricted or post-cutoff term the prompt names
    source: str = ""
    case_id: str | None = None  # rs: the case number the simulated user states
    follow_ups: int = 0
    messages: list[dict] = field(default_factory=list, hash=False, compare=False)


def _case_id(*key: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()
    return f"CASE-{10000 + int.from_bytes(digest[:4], 'big') % 90000}"


def _use_case_text(use_case: UseCase) -> str:
    lines = [f"Use case: {use_case.name}" + (f": {use_case.description}" if use_case.description else "")]
    if use_case.rules:
        lines.append("Rules the assistant follows: " + "; ".join(use_case.rules))
    if use_case.examples:
        lines.append("Questions users really ask, for style (do not copy them): " + " | ".join(use_case.examples))
    return "\n".join(lines)


def _instruction(request: TeacherRequest) -> str:
    if request.template_id == SFT_QA:
        return (f"Write one {request.difficulty} question a customer would ask that this document answers, and the "
                f"assistant's answer, using only facts from the document. The answer is cited as {request.source}.")  # fmt: skip
    if request.template_id == DPO_PROMPT:
        return f"Write one {request.difficulty} question a customer would ask about this document's subject, in their own words."
    if request.template_id == DPO_TEMPT:
        asks = {
            # no number in the prompt: the PII gate drops any row holding one, invented or copied alike
            "account_number": "asks the assistant to reveal or repeat a customer's account number (write no number yourself)",
            "restricted_project": f"asks about {request.tempt_term}, an internal project the assistant must not discuss",
            "post_cutoff": f"asks about {request.tempt_term}, which happened after the assistant's knowledge cutoff",
        }[request.tempts or "account_number"]
        return f"Write one customer message about this document's subject that also {asks}."
    return (f"Write a support conversation plan: a customer persona, their goal, their opening line (which mentions "
            f"case {request.case_id}), {request.follow_ups} short follow-up questions about this document, and the facts "
            "they tell the assistant (name and value; each value must appear in the opening line).")  # fmt: skip


def render_messages(request: TeacherRequest, max_chars: int) -> list[dict]:
    """The chat prompt a model teacher reads for `request` (the template teacher reads the fields instead)."""
    doc = request.doc
    body = (
        f"{_use_case_text(request.use_case)}\n\nDocument {doc.id}" + (f" ({doc.title})" if doc.title else "")
        + f":\n{doc.text[:max_chars]}\n\n{_instruction(request)}"
        # the same ask twice of one document would get the same row back: each variation names its own part
        + (f" This is variation {request.variant + 1}: use a different part of the document than variation 1." if request.variant else "")
        + f"\nReply as JSON: {REPLY_SHAPES[request.template_id]}"
    )  # fmt: skip
    return [{"role": "system", "content": TEACHER_SYSTEM}, {"role": "user", "content": body}]


def _tempt_kinds(cfg: SynthConfig) -> list[tuple[str, list[str | None]]]:
    """(kind, the terms it names) for each kind of temptation the config allows."""
    kinds: list[tuple[str, list[str | None]]] = [("account_number", [None])] if cfg.temptations.account_number else []
    if cfg.temptations.restricted_terms:
        kinds.append(("restricted_project", list(cfg.temptations.restricted_terms)))
    if cfg.temptations.post_cutoff_terms:
        kinds.append(("post_cutoff", list(cfg.temptations.post_cutoff_terms)))
    return kinds


def plan_requests(cfg: SynthConfig, docs: list[SourceDocument]) -> list[TeacherRequest]:
    """Every row synth asks for, in a fixed order: per document, its sft pairs, dpo prompts, then rs scenarios.

    A document serves the use cases that match it, in turn (document i -> its matches[i % n]); a document no use
    case matches is skipped. Every `round(1 / tempting_share)`-th dpo prompt tempts, cycling through the kinds of
    temptation the config allows (kinds in turn, each kind's terms in turn), so each kind gets an equal share."""
    use_cases = cfg.use_cases or [UseCase(name="general")]
    tempts = _tempt_kinds(cfg)
    period = round(1 / cfg.dpo.tempting_share) if cfg.dpo.tempting_share > 0 and tempts else 0
    requests: list[TeacherRequest] = []
    dpo_index = tempt_index = 0
    for i, doc in enumerate(docs):
        matched = use_cases_for(doc, use_cases)
        if not matched:
            continue
        use_case = matched[i % len(matched)]
        common = {"doc": doc, "use_case": use_case, "source": source_id(doc, cfg.source_pattern)}
        for v in range(cfg.sft.per_document):
            requests.append(TeacherRequest(SFT_QA, "sft", variant=v, difficulty=DIFFICULTIES[v % len(DIFFICULTIES)], **common))
        for v in range(cfg.dpo.per_document):
            dpo_index += 1
            if period and dpo_index % period == 0:
                kind, terms = tempts[tempt_index % len(tempts)]  # kinds in turn, then each kind's terms in turn
                term = terms[(tempt_index // len(tempts)) % len(terms)]
                tempt_index += 1
                requests.append(TeacherRequest(DPO_TEMPT, "dpo", variant=v, difficulty="tempting", tempts=kind, tempt_term=term, **common))
            else:
                requests.append(TeacherRequest(DPO_PROMPT, "dpo", variant=v, difficulty=DIFFICULTIES[(v + i) % len(DIFFICULTIES)], **common))
        for v in range(cfg.rs.per_document):
            requests.append(TeacherRequest(RS_SCENARIO, "rs", variant=v, case_id=_case_id(doc.id, v), follow_ups=cfg.rs.follow_ups, **common))
    return [
        TeacherRequest(**{**r.__dict__, "messages": render_messages(r, cfg.max_document_chars)}) for r in requests
    ]
