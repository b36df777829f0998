"""Deduplication. Today: exact dedup on a normalised hash; the first document seen wins.

Normalisation before hashing: Unicode NFKC, casefold, punctuation removed, whitespace collapsed. So
"Hello,  World!" and "hello world" are the same document, while any change of a word is not (that is the
near-duplicate job).

Seam for near-dup: `build_deduplicator(cfg)` is the one place that picks the method. MinHash LSH
(datasketch) will be a second block with the same shape (`apply(doc) -> Document | Drop`, reason
`duplicate:near`, detail = the id of the kept look-alike), chosen by `DedupConfig.method = "minhash"`.

Memory: one 16-byte digest plus the kept id per kept document (~100 B with dict overhead): 10 M
documents ~ 1 GB. Sharded runs dedup per shard first, then merge digests (a later executor).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from steep.curate.block import Block, DropSink
from steep.curate.config import DedupConfig
from steep.curate.document import Document, Drop

_WHITESPACE = re.compile(r"\s+")


def normalize_for_hash(text: str) -> str:
    """NFKC, casefold, punctuation dropped, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    return _WHITESPACE.sub(" ", text).strip()


def text_digest(text: str) -> bytes:
    """128-bit blake2b of the normalised text: collisions are negligible (~n²/2¹²⁹) and it is fast."""
    return hashlib.blake2b(normalize_for_hash(text).encode("utf-8"), digest_size=16).digest()


class ExactDedup(Block):
    """Drops a document whose normalised text was already seen: reason `duplicate:exact`, detail = kept id."""

    name = "dedup"

    def __init__(self, cfg: DedupConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or DedupConfig()
        self._kept: dict[bytes, str] = {}

    def apply(self, doc: Document) -> Document | Drop:
        digest = text_digest(doc.text)
        kept_id = self._kept.get(digest)
        if kept_id is not None:
            return Drop("duplicate:exact", kept_id)
        self._kept[digest] = doc.id
        return doc


def build_deduplicator(cfg: DedupConfig, on_drop: DropSink | None = None) -> Block:
    """The dedup block for `cfg.method` (today only "exact")."""
    if cfg.method == "exact":
        return ExactDedup(cfg, on_drop)
    raise ValueError(f"unknown dedup method {cfg.method!r}")  # unreachable: the config is a closed Literal
