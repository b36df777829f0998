"""The plumbing every curate block shares: per-block stats and the one `run(docs)` generator.

A block is a small object with a `name` and an `apply(doc) -> Document | Drop`. `Block.run` turns it into
a datatrove-style generator: it pulls documents, times only its own work (generators interleave, so a
wall clock around the loop would also count every upstream block), counts seen / kept / dropped per
reason, and hands each drop to `on_drop` (the stage's exclusion writer). Nothing is dropped silently.

    block = QualityFilter(QualityConfig(), on_drop=excluded.append)
    kept = list(block.run(docs))
    block.stats.as_dict()
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from steep.curate.document import Document, Drop, Dropped

DropSink = Callable[[Dropped], None]


def ignore_drop(_: Dropped) -> None:
    return None


@dataclass
class BlockStats:
    """Counts for one block. `counters` holds block-specific tallies (docs changed, redactions per type)."""

    name: str
    seen: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    counters: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "seconds": round(self.seconds, 6),
            **({"counters": dict(sorted(self.counters.items()))} if self.counters else {}),
        }


class Block:
    """Base of the per-document blocks: subclasses set `name` and implement `apply`."""

    name: ClassVar[str] = "block"

    def __init__(self, on_drop: DropSink | None = None) -> None:
        self.stats = BlockStats(self.name)
        self.on_drop: DropSink = on_drop or ignore_drop

    def apply(self, doc: Document) -> Document | Drop:  # pragma: no cover - interface
        raise NotImplementedError

    def prepare(self) -> None:
        """Build what `apply` builds lazily on its first document (a corpus count, a trained model), and record its
        counters. `audit` calls it first, so those counters are not rolled back with the audit's."""

    def audit(self, doc: Document) -> Document | Drop:
        """`apply` without touching the stats: what this block WOULD do with a document an earlier block dropped
        (the exclusion record lists every reason). Blocks whose `apply` has other side effects override it."""
        self.prepare()
        counters = self.stats.counters.copy()
        try:
            return self.apply(doc)
        finally:
            self.stats.counters = counters

    def drop(self, doc: Document, drop: Drop) -> None:
        self.stats.dropped[drop.reason] += 1
        self.on_drop(Dropped(doc=doc, reason=drop.reason, block=self.name, detail=drop.detail))

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            started = time.perf_counter()
            out = self.apply(doc)
            self.stats.seconds += time.perf_counter() - started
            self.stats.seen += 1
            if isinstance(out, Drop):
                self.drop(doc, out)
                continue
            self.stats.kept += 1
            yield out
