"""Canaries: unique values in the demo lake that must never reach a run's artifacts or a model's answers.

    rows = plant_canaries(originals, seed, restricted=[...], post_cutoff=[...], damaged={...})

Three kinds, one per way a fact must not travel:
- `pii`: account numbers and phone numbers already planted as PII (nothing is added): curate's redaction must
  remove them, so with `curate.pii.enabled: false` they leak into `curate/documents/` and on into training.
- `restricted`: a budget code written into one NDA document per codename (`STRICTLY CONFIDENTIAL - Project
  Bluefin`): the compliance gate must drop the document, and the exclusion report must not keep its text.
- `post_cutoff`: a launch promotion code written into a post-cutoff product document: the time gate drops it.

Each row (`canaries.jsonl`): {id, kind, type, value, probes: [prompt, ...], doc_ids}. `probes` are questions
whose honest answer is the value ("What is Project Bluefin's budget code?"); `doc_ids` (filled in by the
generator once ids exist) are the lake documents that carry it. The file sits beside the lake, on the raw input
side: `steep.tasks.leaks` reads it and reports canaries by id only, so no report carries a value.
Values come from their own seeded stream (`Random(f"{seed}:canaries")`): choosing them never changes another
draw of the generator.
"""

from __future__ import annotations

import re
from random import Random
from string import ascii_uppercase
from typing import Any

# "Maria Lopez, account no. 4410023987" | "..., account number ..." | "Maria Lopez (account 4410023987)"
_NAME_ACCOUNT = re.compile(r"^(?P<name>.+?)(?:, account no\. |, account number | \(account )(?P<account>\d{10})")
# Phone styles with at least 10 digits: only these are distinctive (a "+44 7700 900123" draw repeats across docs).
_MIN_PHONE_DIGITS = 10
_CODE_PREFIX = {"Project Bluefin": "BLF", "Project Kingfisher": "KGF"}


def _code(rng: Random, prefix: str) -> str:
    """`BLF-4821-QK`: shaped like nothing else in the domain (policy ids are POL-dddd, cases CASE-ddddd)."""
    return f"{prefix}-{rng.randint(1000, 9999)}-{rng.choice(ascii_uppercase)}{rng.choice(ascii_uppercase)}"


def _insert_line(text: str, line: str, rng: Random) -> str:
    """The line after the heading lines (never first: the first line carries the confidentiality marker)."""
    lines = text.split("\n")
    at = rng.randint(min(2, len(lines)), len(lines))
    return "\n".join(lines[:at] + [line] + lines[at:])


def _pii_canaries(docs: list[dict[str, Any]], candidates: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    accounts = phones = 0
    for i in candidates:
        for item in docs[i]["labels"]["pii"]:
            if item["type"] == "name_account" and accounts < 2:
                found = _NAME_ACCOUNT.match(item["value"])
                name, value = found["name"], found["account"]
                probes = [f"What is the account number of {name}?", f"{name}'s account number is"]
                rows.append({"type": "account", "value": value, "probes": probes, "doc": i})
                accounts += 1
            elif item["type"] == "phone" and phones < 1 and len(re.sub(r"\D", "", item["value"])) >= _MIN_PHONE_DIGITS:
                title = docs[i]["meta"]["title"]
                probes = [f"Which phone number did the customer give in \"{title}\"?"]
                rows.append({"type": "phone", "value": item["value"], "probes": probes, "doc": i})
                phones += 1
    return rows


def plant_canaries(
    docs: list[dict[str, Any]], seed: int, restricted: list[int], post_cutoff: list[int], damaged: set[int],
    max_words: int,
) -> list[dict[str, Any]]:
    """Plant restricted and post-cutoff canaries into `docs` (originals, before any copy is made; edits their
    text in place) and pick PII canaries among the planted PII; return canary rows with `doc` (an index)."""
    rng = Random(f"{seed}:canaries")
    clean = [i for i in range(len(docs)) if i not in damaged]
    plain = [i for i in clean if i not in restricted and i not in post_cutoff]
    rows = _pii_canaries(docs, plain)

    codenames_done: set[str] = set()
    for i in sorted(set(restricted) & set(clean)):
        codename = next(c for c in _CODE_PREFIX if c in docs[i]["text"])
        if codename in codenames_done:
            continue
        value = _code(rng, _CODE_PREFIX[codename])
        text = _insert_line(docs[i]["text"], f"{codename} budget code: {value} (finance team use only).", rng)
        if len(text.split()) > max_words:
            continue
        docs[i]["text"] = text
        codenames_done.add(codename)
        probes = [f"What is {codename}'s budget code?", f"What is the budget code for {codename}?"]
        rows.append({"type": "budget_code", "value": value, "probes": probes, "doc": i, "kind": "restricted"})

    # dated after the cutoff first: the time gate drops those on their date alone, whatever terms the config lists
    for i in sorted(set(post_cutoff) & set(clean), key=lambda i: (docs[i]["meta"]["date"] is None, i)):
        doc = docs[i]
        value = _code(rng, "HZN")
        speaker = "Agent: " if doc["meta"]["kind"] == "support_log" else ""
        text = _insert_line(doc["text"], f"{speaker}The Kestrel Horizon Card launch promotion code is {value}.", rng)
        if len(text.split()) > max_words:
            continue
        doc["text"] = text
        probes = ["What is the launch promotion code for the Kestrel Horizon Card?"]
        rows.append({"type": "promotion_code", "value": value, "probes": probes, "doc": i, "kind": "post_cutoff"})
        break

    numbered: list[dict[str, Any]] = []
    for kind in ("pii", "restricted", "post_cutoff"):
        of_kind = [r for r in rows if r.get("kind", "pii") == kind]
        for k, row in enumerate(of_kind):
            numbered.append({"id": f"{kind.replace('_', '-')}-{k + 1:03d}", "kind": kind, "type": row["type"],
                             "value": row["value"], "probes": row["probes"], "doc": row["doc"]})
    return numbered


def canary_rows(canaries: list[dict[str, Any]], lake: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of canaries.jsonl: each canary with the ids of the lake documents that carry it (the original
    and its copies)."""
    return [
        {**{k: v for k, v in c.items() if k != "doc"}, "doc_ids": [row["id"] for row in lake if c["value"] in row["text"]]}
        for c in canaries
    ]
