"""eval's numbers per use case: which use case a held-out prompt belongs to, and each metric over its prompts.

    matcher = UseCaseMatcher(use_cases)                  # the pipeline's top-level `use_cases`
    matcher.of(messages, meta)                           # "claims", "banking" or None
    by_use_case(answers, matcher)                        # {stage: {use_case: {metric: value, "answers": n}}}

A held-out row names its use case in `meta.use_case` (synth writes it); a row that does not is matched against
each use case's `matches` regex (its user turns' text), first match wins; a use case without `matches` takes what
no other one matched, so `[{name: claims, matches: claim}, {name: general}]` splits every prompt in two. Rows no use
case claims are left out of the split (they still count in the overall numbers).

From eval's `answers.jsonl` rows: `rule_pass_rate` / `all_rules_pass_rate` (rules tasks), `format_adherence`
(format tasks: the record says whether the answer matched), `reference_similarity` and `win_rate_vs_previous`
(the win-rate task), with the most answers behind any one of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from steep.synth.config import UseCase


class UseCaseMatcher:
    def __init__(self, use_cases: Sequence[UseCase]) -> None:
        self.names = [u.name for u in use_cases]
        self._rules = [(u.name, re.compile(u.matches) if u.matches else None) for u in use_cases]
        self._fallback = next((u.name for u in use_cases if not u.matches), None)

    def of(self, messages: Sequence[dict], meta: dict | None = None) -> str | None:
        named = (meta or {}).get("use_case")
        if named:
            return named
        text = "\n".join(m.get("content") or "" for m in messages if m.get("role") == "user")
        for name, pattern in self._rules:
            if pattern is not None and pattern.search(text):
                return name
        return self._fallback


def _prompt_of(row: dict) -> list[dict]:
    return row.get("prompt") or row.get("messages") or []


def by_use_case(answers: Sequence[dict], matcher: UseCaseMatcher) -> dict[str, dict[str, dict]]:
    """{stage: {use_case: {metric: mean, "answers": n}}} over eval's answer rows, for every use case with a row."""
    sums: dict[tuple[str, str, str], list[float]] = {}
    for row in answers:
        use_case = matcher.of(_prompt_of(row), row.get("meta"))
        if use_case is None:
            continue
        for metric, value in _row_metrics(row).items():
            sums.setdefault((row["model"], use_case, metric), []).append(value)
    out: dict[str, dict[str, dict]] = {}
    for (stage, use_case, metric), values in sums.items():
        cell = out.setdefault(stage, {}).setdefault(use_case, {})
        cell[metric] = sum(values) / len(values)
        cell["answers"] = max(cell.get("answers", 0), len(values))  # the most answers behind any one metric
    return out


def _row_metrics(row: dict) -> dict[str, float]:
    kind = row.get("kind")
    if kind == "rules" and "score" in row:
        return {"rule_pass_rate": float(row["score"]), "all_rules_pass_rate": float(all((row.get("passed") or {}).values()))}
    if kind == "format" and "format_ok" in row:
        return {"format_adherence": float(row["format_ok"])}
    if kind == "winrate" and row.get("similarity") is not None:
        return {"reference_similarity": float(row["similarity"])}
    if kind == "comparison" and "outcome" in row:
        return {"win_rate_vs_previous": float(row["outcome"])}
    return {}
