"""Prompt templates for model judges and reading their replies: a score for pointwise, A/B/tie for pairwise.

Templates are plain `str.format` strings; placeholders: {conversation}, {answer}, {answer_a}, {answer_b},
{criteria}. A reply that cannot be read returns None, and the judge counts it as malformed (never fatal).
"""

from __future__ import annotations

import json
import re

from steep.chat import Message

POINTWISE_TEMPLATE = (
    "You are a strict grader. Criteria:\n{criteria}\n\nConversation so far:\n{conversation}\n\n"
    "Assistant's answer:\n{answer}\n\nRate the answer from 0 to 10 against the criteria. "
    "Reply with one line: Score: N/10"
)
PAIRWISE_TEMPLATE = (
    "You are a strict grader. Criteria:\n{criteria}\n\nConversation so far:\n{conversation}\n\n"
    "Answer A:\n{answer_a}\n\nAnswer B:\n{answer_b}\n\nWhich answer better meets the criteria? "
    "Reply with one line: Winner: A, Winner: B or Winner: tie"
)
DEFAULT_CRITERIA = "Correct, helpful, concise, and faithful to the conversation."


def render_conversation(messages: list[Message]) -> str:
    return "\n".join(f"[{m.get('role', '?')}] {m.get('content') or ''}" for m in messages) or "(empty)"


_SCORE = re.compile(r"score\W{0,3}\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?))?", re.IGNORECASE)
_BARE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?))?\s*$")


def parse_score(text: str, scale: float = 10.0) -> float | None:
    """A score in [0, 1] from `Score: 7/10`, `{"score": 7}` or a bare `7`; None when unreadable or out of range."""
    value: float | None = None
    denom = scale
    try:
        data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("score"), (int, float)):
            value = float(data["score"])
    except (ValueError, TypeError):
        pass
    if value is None:
        match = _SCORE.search(text) or _BARE.match(text)
        if match is None:
            return None
        value = float(match.group(1))
        if match.group(2):
            denom = float(match.group(2))
    if denom <= 0 or not (0.0 <= value <= denom):
        return None
    return value / denom


_WINNER = re.compile(r"winner\W{0,3}\s*(a|b|tie)\b", re.IGNORECASE)


def parse_winner(text: str) -> str | None:
    """"a", "b" or "tie" from `Winner: A` or `{"winner": "B"}`; None when unreadable."""
    try:
        data = json.loads(text)
        if isinstance(data, dict) and str(data.get("winner", "")).lower() in ("a", "b", "tie"):
            return str(data["winner"]).lower()
    except (ValueError, TypeError):
        pass
    match = _WINNER.search(text)
    return match.group(1).lower() if match else None
