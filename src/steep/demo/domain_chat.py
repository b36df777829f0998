"""Chat data for the demo: SFT conversations, DPO prompts and multi-turn scenarios for the rs user simulator.

Every assistant turn is in the house format (`Answer: ...` / `Source: POL-dddd`). Like real support logs, the
SFT answers are inconsistent on the business rules the DPO judge enforces later: about 40% carry the disclaimer,
about 25% of those answering a question that contains an account number echo it back, and about 25% run past
`MAX_ANSWER_WORDS`. Short answers are at most about 50 words and long ones at least 70 (whole message, split on
whitespace), so the word rule separates them whichever way it counts.

All user texts across every chat file are distinct, so no held-out prompt appears in a training file.
"""

from __future__ import annotations

from random import Random
from typing import Any

from steep.demo.domain_dirt import account_number
from steep.demo.domain_spec import DISCLAIMER, MAX_ANSWER_WORDS, SYSTEM_PROMPT
from steep.demo.domain_world import ALL_FACTS, Fact, Policy

DISCLAIMER_RATE = 0.40
ECHO_RATE = 0.25
LONG_RATE = 0.25
MULTITURN_RATE = 0.20

_OPENERS = ("", "Hi.", "Hello.", "Hi there.", "Good morning.", "Quick question:", "Hello, I hope you can help.",
            "Good afternoon.", "Sorry to bother you.")
_CLOSERS = ("", "", "Thanks.", "Thank you!", "Cheers.", "Thanks in advance.", "Any help appreciated.")
_ACCOUNT_PHRASES = ("My account number is {a}.", "Account {a} here.", "I'm asking about account {a}.",
                    "(account no. {a})", "This is for account {a}.")
_FOLLOW_LEADS = ("", "Thanks.", "Okay, that helps.", "Got it.", "One more question.", "Another thing.", "Right.",
                 "Also:", "And one more:", "Sorry, one more thing.", "OK.", "Next question.")
_ECHOES = ("For account {a}: ", "I've checked account {a}. ", "Regarding account {a}: ")
_FILLERS = (
    "If anything is unclear, you can ask me to explain it in more detail.",
    "You can also find the full terms in your product documents or in the app.",
    "Our team is available seven days a week if you would like to talk it through.",
    "We always aim to treat every customer fairly and to explain our decisions clearly.",
    "Please keep any letters or emails we send you, as they confirm what we have agreed.",
)
_GREETINGS = ("Hi, I'm calling about case {c}.", "Hello, this is about case {c}.",
              "Hi there, a question about case {c}.", "Good morning, I'm following up on case {c}.",
              "Hello again, it's about case {c}.")
_RECALL_LEADS = ("", "Before I forget, ", "Oh, and ", "One last thing: ", "Sorry, ", "Quickly, ", "By the way, ",
                 "Just to check, ")
_RECALLS = ("can you confirm my case number before I go?", "what was my case reference again?",
            "could you read my case number back to me, please?", "which case number should I quote if I call back?",
            "can you remind me of my case number?", "what's the case number for all of this?",
            "which case is this all filed under?", "what reference did you say my case has?")
_RECALL_CLOSERS = ("", " Thanks.", " I want to write it down.", " My pen ran out earlier.", " I've lost my note.",
                   " My daughter wants to know.")
PERSONAS = (
    "a retired teacher who prefers short, plain answers",
    "a small-business owner in a hurry",
    "a first-time homebuyer who is anxious about fees",
    "a student travelling abroad for the first time",
    "a customer whose wallet was stolen yesterday",
    "a recently bereaved customer sorting out family accounts",
    "a nurse working night shifts who asks precise questions",
    "a customer who is unhappy after a long wait on the phone",
    "a parent opening accounts for two children",
    "a self-employed builder with irregular income",
)


def _unique(make, used: set[str], what: str) -> str:
    for _ in range(200):
        text = make()
        if text not in used:
            used.add(text)
            return text
    raise RuntimeError(f"could not make a new distinct {what}")  # the pools are far larger than the demo needs


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def user_question(rng: Random, fact: Fact, account: str | None, used: set[str]) -> str:
    def make() -> str:
        acct = rng.choice(_ACCOUNT_PHRASES).format(a=account) if account else ""
        return _join(rng.choice(_OPENERS), acct, rng.choice(fact.questions), rng.choice(_CLOSERS))

    return _unique(make, used, "user question")


def follow_up(rng: Random, fact: Fact, used: set[str]) -> str:
    return _unique(lambda: _join(rng.choice(_FOLLOW_LEADS), rng.choice(fact.questions), rng.choice(_CLOSERS)), used,
                   "follow-up")


def house_answer(rng: Random, policy: Policy, fact: Fact, account: str | None = None, *, disclaimer: bool = True,
                 echo: bool = False, long: bool = False, case: str | None = None) -> str:
    """`Answer: [For case CASE-ddddd: ]<sentences>[ disclaimer]` newline `Source: POL-dddd`."""
    parts = [rng.choice(_ECHOES).format(a=account) + fact.answer if echo and account else fact.answer]
    if case:
        parts[0] = f"For case {case}: {parts[0]}"
    if long:
        extras = [f.answer for f in policy.facts if f is not fact]
        rng.shuffle(extras)
        extras += rng.sample(_FILLERS, len(_FILLERS))
        while len(" ".join(parts).split()) + (8 if disclaimer else 0) + 3 < MAX_ANSWER_WORDS + 10:
            parts.append(extras.pop(0))
    if disclaimer:
        parts.append(DISCLAIMER)
    return f"Answer: {' '.join(parts)}\nSource: {policy.pid}"


def _assistant(rng: Random, policy: Policy, fact: Fact, account: str | None, case: str | None = None) -> str:
    return house_answer(rng, policy, fact, account, disclaimer=rng.random() < DISCLAIMER_RATE,
                        echo=account is not None and rng.random() < ECHO_RATE, long=rng.random() < LONG_RATE,
                        case=case)


# Multi-turn logs from case calls: agents quote the case number early in a call and forget it as the call goes
# on (the chance of quoting it falls with each exchange), which is what rs later has to fix for long dialogues.
CASE_CALL_RATE = 0.6
CASE_QUOTE_START, CASE_QUOTE_DECAY = 0.8, 0.2


def _case_quote(rng: Random, case: str | None, exchange: int) -> str | None:
    return case if case and rng.random() < CASE_QUOTE_START - CASE_QUOTE_DECAY * exchange else None


def _next_fact(rng: Random, policy: Policy, seen: set[int]) -> tuple[Policy, Fact]:
    """A follow-up: usually another rule of the same policy, sometimes a different topic."""
    same = [(policy, f) for f in policy.facts if id(f) not in seen]  # id(): facts are unique objects
    pool = same if same and rng.random() < 0.6 else [pf for pf in ALL_FACTS if id(pf[1]) not in seen]
    return rng.choice(pool)


def sft_rows(rng: Random, n: int, used: set[str]) -> list[dict[str, Any]]:
    rows = []
    for _ in range(n):
        policy, fact = rng.choice(ALL_FACTS)
        account = account_number(rng) if rng.random() < 0.4 else None
        multiturn = rng.random() < MULTITURN_RATE
        case = f"CASE-{rng.randint(10000, 99999)}" if multiturn and rng.random() < CASE_CALL_RATE else None
        question = user_question(rng, fact, account, used)
        if case:
            question = f"{rng.choice(_GREETINGS).format(c=case)} {question}"
        messages = [{"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": _assistant(rng, policy, fact, account, _case_quote(rng, case, 0))}]
        if multiturn:
            seen, current = {id(fact)}, policy
            for exchange in range(1, rng.randint(2, 4)):
                current, f = _next_fact(rng, current, seen)
                seen.add(id(f))
                messages.append({"role": "user", "content": follow_up(rng, f, used)})
                messages.append({"role": "assistant", "content": _assistant(rng, current, f, None, _case_quote(rng, case, exchange))})
        kind = "multiturn" if multiturn else "qa"
        rows.append({"messages": messages, "meta": {"policy_id": policy.pid, "kind": kind}})
    return rows


def dpo_rows(rng: Random, n: int, used: set[str]) -> list[dict[str, Any]]:
    """Prompts only: the dpo stage samples answers from the policy being trained and judges them.

    `meta.reference_answer` is the rule's canonical answer, for a judge that wants one.
    """
    rows = []
    for _ in range(n):
        policy, fact = rng.choice(ALL_FACTS)
        account = account_number(rng) if rng.random() < 0.5 else None
        rows.append({
            "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                         {"role": "user", "content": user_question(rng, fact, account, used)}],
            "meta": {"policy_id": policy.pid, "account_number": account, "reference_answer": fact.answer},
        })
    return rows


def _recall_turn(rng: Random, used: set[str]) -> str:
    def make() -> str:
        lead, ask = rng.choice(_RECALL_LEADS), rng.choice(_RECALLS)
        return (lead + ask if lead else ask[0].upper() + ask[1:]) + rng.choice(_RECALL_CLOSERS)

    return _unique(make, used, "recall turn")


def rs_rows(rng: Random, n: int, used: set[str], used_cases: set[str], prefix: str) -> list[dict[str, Any]]:
    """Scenarios of 10-12 short user turns. The first states the case id; no later turn repeats it, and about
    half the scenarios ask for it back at turn 9 or later, so only an assistant that remembered can answer."""
    rows = []
    for i in range(n):
        case_id = _unique(lambda: f"CASE-{rng.randint(10000, 99999)}", used_cases, "case id")
        policy, fact = rng.choice(ALL_FACTS)
        n_turns = rng.randint(10, 12)
        first = _unique(lambda: f"{rng.choice(_GREETINGS).format(c=case_id)} {rng.choice(fact.questions)}", used,
                        "first turn")
        turns, seen, current = [first], {id(fact)}, policy
        recall_at = rng.randint(8, n_turns - 1) if rng.random() < 0.5 else -1
        for k in range(1, n_turns):
            if k == recall_at:
                turns.append(_recall_turn(rng, used))
                continue
            if len(seen) >= len(ALL_FACTS):
                seen = set()
            home = [f for f in policy.facts if id(f) not in seen]
            if home and rng.random() < 0.35:  # calls keep coming back to what the case is about
                current = policy
            current, f = _next_fact(rng, current, seen)
            seen.add(id(f))
            turns.append(follow_up(rng, f, used))
        rows.append({"id": f"{prefix}-{i + 1:04d}", "case_id": case_id, "persona": rng.choice(PERSONAS),
                     "topic": policy.topic, "user_turns": turns})
    return rows
