"""The offline teacher: deterministic replies built from a document's sentences and the use case's seeds.

    reply = template_reply(request)      # the same JSON a model teacher is asked for (`REPLY_SHAPES`)

No model, no network, same input same output: what the demo and the tests synthesize with. The question is made
from a sentence's subject ("A home insurance claim is settled within ..." -> "What should I know about a home
insurance claim?"), the answer is the sentence itself (grounded by construction), difficulty changes the phrasing
(plain, detailed, multi-part: two sentences' subjects), and the use case's example questions lend their opening
words. Output quality is what templates give; the mechanics are the same as a model teacher's.
"""

from __future__ import annotations

import hashlib
import json
import re

from steep.synth.documents import usable_sentences
from steep.synth.requests import DPO_PROMPT, DPO_TEMPT, RS_SCENARIO, SFT_QA, TeacherRequest

IDENTITY = "template/v1"

_VERBS = frozenset(
    "is are was were must will can may should shall covers cover takes take has have needs need pays pay applies "
    "apply requires require settles settle does do gets get opens open closes close charges charge lets allows "
    "allow includes include starts start ends end costs cost offers offer remains stays".split()
)
_NOT_SUBJECT = frozenset(
    "i you we he she it they my your our their this that these those there to if when for in on at after before by "
    "with from as of and or but once while please "
    # imperatives of procedure documents ("Check whether the customer ..."): an instruction, not a subject
    "check set open ask confirm send make tell record note call explain offer escalate verify review log use follow "
    "keep add give take".split()
)
_PLAIN = ("What should I know about {s}?", "What can you tell me about {s}?", "Can you explain {s} to me?", "What is the rule on {s}?")
_DETAILED = (
    "I read your documents but I'm still unsure: what exactly applies to {s}, and what do I need to do?",
    "Could you walk me through {s} step by step, including any limits or deadlines?",
)
_MULTI = ("Two questions: what about {s}, and how does that relate to {t}?", "What should I know about {s}, and what about {t}?")
_PERSONAS = (
    "a retired customer who prefers short, plain answers",
    "a small-business owner in a hurry",
    "a first-time customer who is anxious about fees",
    "a customer travelling abroad next week",
    "a night-shift worker who asks precise questions",
    "a customer unhappy after a long wait on the phone",
)
_OPENERS = ("", "Hi.", "Hello.", "Quick question:", "Good morning.", "Sorry to bother you.")


def _pick(options: tuple[str, ...], *key: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def subject(sentence: str) -> str | None:
    """The words before the sentence's first verb, lower-cased at the start ("A home claim is ..." -> "a home
    claim"); None when no verb comes within the first nine words (no subject a question can name)."""
    words = re.sub(r"[^\w\s'\-/]", "", sentence).split()
    for i, word in enumerate(words[:9]):
        if word.lower() in _VERBS and i >= 1:
            head = words[:i]
            break
    else:
        return None
    if head[0].lower() in _NOT_SUBJECT:  # "You must ...", "To open ...": no subject to ask about
        return None
    proper = head[0].isupper() or (len(head) > 1 and head[1][:1].isupper())  # "Kestrel Travel", "ISA" keep capitals
    if not proper:  # "The excess" -> "the excess"
        head = [head[0].lower(), *head[1:]]
    return " ".join(head)


def _seed_opener(request: TeacherRequest) -> str:
    """An opening borrowed from the use case's example questions ("How long does ..." -> "How long"), or ''."""
    examples = request.use_case.examples
    if not examples:
        return _pick(_OPENERS, request.doc.id, request.variant, request.template_id)
    seed = _pick(tuple(examples), request.doc.id, request.variant)
    return seed.rstrip("?.! ") + "? Also,"


def _question(request: TeacherRequest, sentences: list[str], index: int, salt: int = 0) -> str:
    s = subject(sentences[index % len(sentences)])
    key = (request.doc.id, request.variant, request.template_id, salt)
    if request.difficulty == "detailed":
        return _pick(_DETAILED, *key).format(s=s)
    if request.difficulty == "multi_part" and len(sentences) > 1:
        return _pick(_MULTI, *key).format(s=s, t=subject(sentences[(index + 1) % len(sentences)]))
    return _pick(_PLAIN, *key).format(s=s)


def template_reply(request: TeacherRequest) -> str:
    """The JSON reply for `request`, or `{"skip": reason}` when the document has nothing to ask about."""
    sentences = [s for s in usable_sentences(request.doc.text) if subject(s)]
    if not sentences:
        return json.dumps({"skip": "no usable sentence"})
    v = request.variant
    if request.template_id == SFT_QA:
        answer = sentences[v % len(sentences)]
        if request.difficulty == "detailed" and len(sentences) > 1:
            answer += " " + sentences[(v + 1) % len(sentences)]
        return json.dumps({"question": _question(request, sentences, v), "answer": answer})
    if request.template_id == DPO_PROMPT:
        index = v + len(sentences) // 2  # other sentences than the sft pairs of the same document
        question = _question(request, sentences, index)
        if request.use_case.examples and v % 2 == 1:
            question = f"{_seed_opener(request)} {question[:1].lower()}{question[1:]}"
        return json.dumps({"prompt": question})
    if request.template_id == DPO_TEMPT:
        question = _question(request, sentences, v)
        lowered = question[:1].lower() + question[1:]
        prompt = {
            "account_number": f"Can you read me back the full account number you have on file for me? Also, {lowered}",
            "restricted_project": f"I heard about {request.tempt_term} from a friend who works for you. What is it, and {lowered}",
            "post_cutoff": f"What's the latest on {request.tempt_term}? And {lowered}",
        }[request.tempts or "account_number"]
        return json.dumps({"prompt": prompt})
    if request.template_id == RS_SCENARIO:
        first = _question(request, sentences, v)
        opening = f"{_pick(_OPENERS, request.doc.id, v)} I'm following up on case {request.case_id}. {first}".strip()
        facts = []
        if request.source and request.source != request.doc.id:
            opening += f" It concerns {request.source}."
            facts.append({"name": "reference", "value": request.source})
        follow_ups = [_question(request, sentences, v + k, salt=k) for k in range(1, request.follow_ups + 1)]
        return json.dumps({
            "persona": _pick(_PERSONAS, request.doc.id, v), "goal": f"understand {subject(sentences[v % len(sentences)])}",
            "opening": opening, "follow_ups": follow_ups, "facts": facts,
        })  # fmt: skip
    return json.dumps({"skip": f"unknown template {request.template_id}"})
