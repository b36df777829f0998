"""Deduplication: exact (normalised hash) and, with `method: minhash`, near duplicates. The first seen wins.

    block = build_deduplicator(DedupConfig(method="minhash"), on_drop=excluded.append)
    kept = list(block.run(docs))
    block.stats.counters   # near_clusters, near_cluster_docs, near_cluster_largest, lsh_candidates, ...

Normalisation before hashing: Unicode NFKC, casefold, punctuation removed, whitespace collapsed. So
"Hello,  World!" and "hello world" are the same document, while any change of a word is not (that is the
near-duplicate job).

Near duplicates (`MinHashDedup`): exact dedup runs first (reason `duplicate:exact`). A document that is not an
exact copy is shingled into word n-grams of the same normalised text (for a document PII redaction changed, of
its text as written with each PII value an opaque token: `dedup.near_text`, `steep.curate.dedup_view`), its MinHash signature queries an LSH index
of the documents seen so far, and each candidate is checked on the exact Jaccard of the two shingle sets. A
match at or above `threshold` makes it a near duplicate: reason `duplicate:near`, detail = the id of the kept
document of the match's cluster. Otherwise it is kept. Numbers behind the defaults: `steep.curate.minhash`.

Clusters: a near duplicate joins the cluster of its most similar indexed document, and is indexed itself, so
drafts B and C of an original A (each 5% from A, ~10% from each other) form one cluster whichever comes first.
This is union-find without merges: a streaming block cannot take back a kept document, so every cluster keeps
its first document as root, and a document that matches two clusters (a bridge, counted) joins the more similar
one. Every link was checked on exact Jaccard, and no two kept documents are near duplicates of each other (up to
LSH misses: a pair at the default threshold 0.7 is proposed with probability 0.9998 at 32 bands x 4 rows).

Memory: exact, ~100 B per kept document (16-byte digest + kept id, with dict overhead): 10 M documents ~ 1 GB.
minhash adds per indexed document (kept, or near duplicate) its shingle set (4 B per distinct shingle, ~0.5-5 KB
for 1-8 KB of text) and one LSH entry per band (~3 KB at 32 bands): ~5 KB, so 1 M documents ~ 5 GB. Sharded runs
dedup per shard first, then merge (a later executor).
"""

from __future__ import annotations

import hashlib

import numpy as np

from steep.curate.block import Block, DropSink
from steep.curate.config import DedupConfig
from steep.curate.document import Document, Drop
from steep.curate.minhash import LshIndex, MinHasher, jaccard
from steep.curate.words import hash_words


def normalize_for_hash(text: str) -> str:
    """NFKC, casefold, punctuation dropped, whitespace collapsed to single spaces (`steep.curate.words`)."""
    return " ".join(hash_words(text))


def text_digest(text: str) -> bytes:
    """128-bit blake2b of the normalised text: collisions are negligible (~n²/2¹²⁹) and it is fast."""
    return _digest(normalize_for_hash(text))


def _digest(normalized: str) -> bytes:
    return hashlib.blake2b(normalized.encode("utf-8", "surrogatepass"), digest_size=16).digest()


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


_MAX_CHECKED = 64  # candidates checked per document, most shared LSH bands first (see `_matches`)


class MinHashDedup(Block):
    """Exact dedup, then near-dup: MinHash LSH candidates checked on exact shingle Jaccard (module docstring).

    Drops: `duplicate:exact` or `duplicate:near`, detail = the kept id. Counters (ints, in stats.json):
    near_clusters (kept documents with at least one near duplicate), near_cluster_docs (documents in them, kept
    ones included), near_cluster_largest, near_cluster_size_<2|3|4|5-9|10-99|100+> (clusters by size),
    near_bridges (near duplicates that matched members of two or more clusters), lsh_candidates (pairs checked),
    lsh_rejected (checked and below threshold), near_too_short (fewer words than one shingle: exact dedup only).
    """

    name = "dedup"

    def __init__(self, cfg: DedupConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or DedupConfig(method="minhash")
        self._digests: dict[bytes, str] = {}  # exact: digest of each kept document -> its id
        self._hasher = MinHasher(self.cfg.shingle_size, self.cfg.num_perm)
        self._index = LshIndex(self.cfg.num_perm, self.cfg.bands)
        # Indexed documents (kept ones and their near duplicates), by position = item id in the LSH index.
        self._ids: list[str] = []
        self._shingles: list[np.ndarray] = []
        self._root: list[int] = []  # position of the kept document of each one's cluster
        self._members: dict[int, list[str]] = {}  # root -> ids of its near duplicates, in stream order

    def apply(self, doc: Document) -> Document | Drop:
        words = hash_words(doc.text)
        digest = _digest(" ".join(words))
        kept_id = self._digests.get(digest)
        if kept_id is not None:
            return Drop("duplicate:exact", kept_id)
        if doc.dedup_view is not None and self.cfg.near_text == "original":
            words = hash_words(doc.dedup_view)  # the text as written, PII values as tokens (steep.curate.dedup_view)
        shingles = self._hasher.shingles(words)
        if shingles.size == 0:
            self.stats.counters["near_too_short"] += 1
            self._digests[digest] = doc.id
            return doc
        keys = self._index.band_keys(self._hasher.signature(shingles))
        matches = self._matches(shingles, self._index.query(keys))
        if not matches:
            self._digests[digest] = doc.id
            self._add(doc.id, shingles, keys, root=len(self._ids))
            return doc
        similarity, best = max(matches, key=lambda m: (m[0], -m[1]))  # most similar; ties: the earliest
        root = self._root[best]
        if len({self._root[item] for _, item in matches}) > 1:
            self.stats.counters["near_bridges"] += 1
        if similarity < 1.0:  # a set already indexed verbatim would only repeat its matches
            self._add(doc.id, shingles, keys, root)
        self._join(root, doc.id)
        return Drop("duplicate:near", self._ids[root])

    def clusters(self) -> dict[str, list[str]]:
        """{kept id: [kept id, near duplicate ids...]} for every kept document that has near duplicates."""
        return {self._ids[root]: [self._ids[root], *ids] for root, ids in self._members.items()}

    def _add(self, doc_id: str, shingles: np.ndarray, keys: list[int], root: int) -> None:
        self._index.add(keys, len(self._ids))
        self._ids.append(doc_id)
        self._shingles.append(shingles)
        self._root.append(root)

    def _matches(self, shingles: np.ndarray, hits: dict[int, int]) -> list[tuple[float, int]]:
        """(exact Jaccard, item) of the candidates at or above the threshold.

        Candidates are checked most shared bands first, at most `_MAX_CHECKED`: a true near duplicate shares
        ~bands * J^rows = 32 * 0.7^4 = 8 bands or more, while a bucket crowded by boilerplate can hold thousands of
        one-band look-alikes; checking all of them would make a pathological corpus quadratic.
        """
        found = []
        for item in sorted(hits, key=lambda i: (-hits[i], i))[:_MAX_CHECKED]:
            self.stats.counters["lsh_candidates"] += 1
            similarity = jaccard(shingles, self._shingles[item])
            if similarity >= self.cfg.threshold:
                found.append((similarity, item))
            else:
                self.stats.counters["lsh_rejected"] += 1
        return found

    def _join(self, root: int, doc_id: str) -> None:
        """Count `doc_id` into the cluster of the kept document at `root` (counters by cluster size)."""
        members = self._members.setdefault(root, [])
        members.append(doc_id)
        size, counters = len(members) + 1, self.stats.counters
        if size == 2:
            counters["near_clusters"] += 1
            counters["near_cluster_docs"] += 2
        else:
            counters["near_cluster_docs"] += 1
            before = _size_bucket(size - 1)
            counters[before] -= 1
            if not counters[before]:
                del counters[before]
        counters[_size_bucket(size)] += 1
        counters["near_cluster_largest"] = max(counters["near_cluster_largest"], size)


def _size_bucket(size: int) -> str:
    label = str(size) if size < 5 else "5-9" if size < 10 else "10-99" if size < 100 else "100+"
    return f"near_cluster_size_{label}"


def build_deduplicator(cfg: DedupConfig, on_drop: DropSink | None = None) -> Block:
    """The dedup block for `cfg.method`: "exact", or "minhash" (exact first, then near duplicates)."""
    if cfg.method == "exact":
        return ExactDedup(cfg, on_drop)
    if cfg.method == "minhash":
        return MinHashDedup(cfg, on_drop)
    raise ValueError(f"unknown dedup method {cfg.method!r}")  # unreachable: the config is a closed Literal
