"""The unit of curation: a `Document`, and the `Dropped` record a block emits when it removes one.

Documents travel through the curate chain as plain dataclasses (no pydantic: millions of them are built
and validation is the reader's job). On disk a document is one JSONL row `{id, text, meta}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Document:
    """One document. `meta["source"]` is always `"path:line"` of the row it was read from."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    # The text near-dup compares when it is not `text`: the text before PII redaction with each PII value as an
    # opaque keyed token (`steep.curate.dedup_view`). Not part of the row: it never reaches the outputs.
    dedup_view: str | None = None

    def to_row(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "meta": self.meta}


@dataclass(frozen=True)
class Drop:
    """What a block's `apply` returns instead of a document: why it was dropped.

    `reason` is a stable, countable string (`empty`, `compliance:<term>`, `duplicate:exact`); `detail` is
    free text for a human (the kept id of a duplicate, the matched text, the bad line's location).
    """

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Dropped:
    """A dropped document as the exclusion writer receives it."""

    doc: Document
    reason: str
    block: str
    detail: str = ""

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.doc.id,
            "reason": self.reason,
            "block": self.block,
            "detail": self.detail,
            "source": self.doc.meta.get("source", ""),
            "text": self.doc.text,
            "meta": self.doc.meta,
        }


def reason_family(reason: str) -> str:
    """The key a drop is counted under in the stage metrics.

    Reasons with a free-text tail collapse to their prefix (`compliance:acme-x` -> `compliance`,
    `time:term:gpt-9` -> `time`); dedup reasons name a method, not a value, so they stay whole
    (`duplicate:exact`, later `duplicate:near`).
    """
    if reason.startswith("duplicate:"):
        return reason
    return reason.split(":", 1)[0]
