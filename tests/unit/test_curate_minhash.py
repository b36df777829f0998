"""Near-duplicate removal (`dedup.method: minhash`): recall on scattered edits, precision, clusters, config.

The corpus is built here from a seeded vocabulary, so the test knows every true pair:
- originals of 150-300 words, Zipf-distributed (common words give unrelated documents common bigrams, as
  function words do), many carrying the same boilerplate sentences;
- scattered copies: 5% of the words replaced at random positions (they keep ~0.63 of their word 5-grams:
  the case plain datasketch LSH at threshold 0.8 misses);
- contiguous copies: one span of ~10% of the words replaced, deleted, or boilerplate inserted;
- template siblings: unrelated documents, half to two thirds of each the same template (pairs up to Jaccard 0.5).
"""

from __future__ import annotations

import json
import random
import re
import sys
import unicodedata
from collections import defaultdict

import numpy as np
import pytest
from pydantic import ValidationError

from steep.curate import CurateConfig, run_curate
from steep.curate.config import DedupConfig
from steep.curate.dedup import ExactDedup, MinHashDedup, build_deduplicator, normalize_for_hash
from steep.curate.document import Document
from steep.curate.minhash import LshIndex, MinHasher, candidate_probability, estimated_jaccard, jaccard

# ------------------------------------------------------------------------------------------------ corpus


def _vocabulary(rng: random.Random, n: int = 3000) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))))
    return sorted(words)


class _Corpus:
    def __init__(self, seed: int = 0) -> None:
        rng = self.rng = random.Random(seed)
        self.vocab = _vocabulary(rng)
        self.weights = [1.0 / (rank + 1) for rank in range(len(self.vocab))]
        self.boilerplate = [self.words(rng.randint(12, 20)) for _ in range(6)]
        self.docs: list[Document] = []
        self.family: dict[str, str] = {}  # doc id -> id of the original it was copied from (itself if none)
        self.kind: dict[str, str] = {}

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocab, weights=self.weights, k=n)

    def original(self) -> list[str]:
        rng = self.rng
        words = self.words(rng.randint(150, 300))
        for sentence in rng.sample(self.boilerplate, rng.randint(0, 3)):
            at = rng.randint(0, len(words))
            words[at:at] = sentence
        return words

    def scattered(self, words: list[str], share: float = 0.05) -> list[str]:
        out = list(words)
        for i in self.rng.sample(range(len(out)), round(share * len(out))):
            out[i] = self.rng.choice([w for w in self.rng.sample(self.vocab, 3) if w != out[i]])
        return out

    def contiguous(self, words: list[str]) -> list[str]:
        rng, out = self.rng, list(words)
        span = round(0.1 * len(out))
        at = rng.randint(0, len(out) - span)
        edit = rng.choice(("replace", "delete", "insert"))
        if edit == "replace":
            out[at : at + span] = self.words(span)
        elif edit == "delete":
            del out[at : at + span]
        else:
            out[at:at] = [w for s in rng.sample(self.boilerplate, 2) for w in s]
        return out

    def add(self, doc_id: str, words: list[str], family: str, kind: str) -> None:
        # Sentences and capitals, so normalisation has something to undo.
        text = " ".join(w.capitalize() + "." if i % 12 == 11 else w for i, w in enumerate(words))
        self.docs.append(Document(doc_id, text))
        self.family[doc_id], self.kind[doc_id] = family, kind


def build_corpus(seed: int = 0) -> _Corpus:
    """300 documents: 150 originals, 60 scattered copies, 40 contiguous copies, 50 template siblings, shuffled."""
    corpus = _Corpus(seed)
    originals = {f"orig-{i:03d}": corpus.original() for i in range(150)}
    for doc_id, words in originals.items():
        corpus.add(doc_id, words, doc_id, "original")
    sources = corpus.rng.sample(sorted(originals), 100)
    for k, source in enumerate(sources):
        kind = "scattered" if k < 60 else "contiguous"
        edited = corpus.scattered(originals[source]) if kind == "scattered" else corpus.contiguous(originals[source])
        corpus.add(f"{kind}-{k:03d}", edited, source, kind)
    # Siblings: one shared template of 1-2x the length of their own text, so pairs reach Jaccard ~0.5: LSH
    # proposes most of them and only the exact check on the shingle sets tells them apart.
    template = corpus.words(400)
    for k in range(50):
        body = corpus.words(corpus.rng.randint(100, 200))
        words = template[: round(corpus.rng.uniform(1.0, 2.0) * len(body))] + body
        corpus.add(f"sibling-{k:03d}", words, f"sibling-{k:03d}", "sibling")
    corpus.rng.shuffle(corpus.docs)
    return corpus


def _run(block, docs):
    dropped = []
    block.on_drop = dropped.append
    kept = list(block.run(docs))
    return kept, dropped


# ------------------------------------------------------------------------------------------------ tests


def test_recall_on_scattered_edits_and_precision_on_synthetic_corpus():
    corpus = build_corpus(seed=0)
    block = MinHashDedup(DedupConfig(method="minhash"))
    kept, dropped = _run(block, corpus.docs)
    near = [d for d in dropped if d.reason == "duplicate:near"]
    assert {d.reason for d in dropped} == {"duplicate:near"}  # no exact copies in this corpus
    correct = [d for d in near if corpus.family[d.doc.id] == corpus.family[d.detail]]
    precision = len(correct) / len(near)

    # A copy is found when it and its original end in one cluster (either may come first in the stream).
    cluster = {d.doc.id: d.detail for d in near}
    cluster_of = lambda doc_id: cluster.get(doc_id, doc_id)  # noqa: E731
    recall = {}
    for kind in ("scattered", "contiguous"):
        copies = [i for i, k in corpus.kind.items() if k == kind]
        recall[kind] = sum(cluster_of(i) == cluster_of(corpus.family[i]) for i in copies) / len(copies)

    assert precision >= 0.99, (precision, [(d.doc.id, d.detail) for d in near if d not in correct])
    assert recall["scattered"] >= 0.9, recall
    assert recall["contiguous"] >= 0.9, recall
    assert len(kept) + len(dropped) == len(corpus.docs)
    assert block.stats.counters["near_clusters"] == len({d.detail for d in near}) == len(block.clusters())
    assert block.stats.counters["lsh_rejected"] > 0  # template siblings were proposed and turned down


def test_first_seen_is_kept_and_clusters_are_counted():
    corpus = _Corpus(seed=1)
    base = corpus.original()
    a, b, c = base, corpus.scattered(base), corpus.scattered(base)
    other = corpus.original()
    docs = [
        Document("b", " ".join(b)),  # a copy that happens to come first: it is the one kept
        Document("a", " ".join(a)),
        Document("other", " ".join(other)),
        Document("c", " ".join(c)),  # ~10% from b, below the threshold: it joins b's cluster through a
        Document("b-again", " ".join(b).upper() + "!"),  # exact copy of b after normalisation
    ]
    block = MinHashDedup(DedupConfig(method="minhash"))
    kept, dropped = _run(block, docs)
    assert [d.id for d in kept] == ["b", "other"]
    assert [(d.doc.id, d.reason, d.detail) for d in dropped] == [
        ("a", "duplicate:near", "b"),
        ("c", "duplicate:near", "b"),
        ("b-again", "duplicate:exact", "b"),
    ]
    assert block.clusters() == {"b": ["b", "a", "c"]}
    hasher = MinHasher()
    assert jaccard(hasher.shingles(b), hasher.shingles(c)) < DedupConfig().threshold
    stats = block.stats.as_dict()
    assert stats["dropped"] == {"duplicate:exact": 1, "duplicate:near": 2}
    counters = stats["counters"]
    assert counters["near_clusters"] == 1 and counters["near_cluster_docs"] == 3
    assert counters["near_cluster_largest"] == 3
    assert counters["near_cluster_size_3"] == 1 and "near_cluster_size_2" not in counters


def test_a_copy_of_a_dropped_near_duplicate_names_the_kept_document():
    corpus = _Corpus(seed=2)
    base = corpus.original()
    copy = corpus.scattered(base)
    docs = [Document("a", " ".join(base)), Document("b", " ".join(copy)), Document("b2", " ".join(copy))]
    kept, dropped = _run(MinHashDedup(DedupConfig(method="minhash")), docs)
    assert [d.id for d in kept] == ["a"]
    assert [(d.doc.id, d.reason, d.detail) for d in dropped] == [
        ("b", "duplicate:near", "a"),
        ("b2", "duplicate:near", "a"),  # an exact copy of a dropped document still names the kept one
    ]


def test_documents_shorter_than_a_shingle_are_left_to_exact_dedup():
    block = MinHashDedup(DedupConfig(method="minhash", shingle_size=3))
    docs = [Document("a", "thanks"), Document("b", "Thanks!"), Document("c", "ok"), Document("d", "")]
    kept, dropped = _run(block, docs)
    assert [d.id for d in kept] == ["a", "c", "d"]
    assert [(d.doc.id, d.reason, d.detail) for d in dropped] == [("b", "duplicate:exact", "a")]
    assert block.stats.counters["near_too_short"] == 3


def test_minhash_is_the_default_and_exact_is_unchanged():
    assert DedupConfig().method == "minhash"
    assert isinstance(build_deduplicator(DedupConfig()), MinHashDedup)
    assert isinstance(build_deduplicator(DedupConfig(method="exact")), ExactDedup)
    assert isinstance(build_deduplicator(DedupConfig(method="minhash")), MinHashDedup)
    corpus = build_corpus(seed=3)
    exact_kept, exact_dropped = _run(ExactDedup(), corpus.docs)
    assert exact_dropped == []  # near copies are not exact copies
    docs = corpus.docs[:50] + [Document(f"dup-{d.id}", d.text.lower()) for d in corpus.docs[:10]]
    for block in (ExactDedup(), MinHashDedup(DedupConfig(method="minhash"))):
        _, dropped = _run(block, docs)
        exact = [(d.doc.id, d.detail) for d in dropped if d.reason == "duplicate:exact"]
        assert exact == [(f"dup-{d.id}", d.id) for d in corpus.docs[:10]]


def test_config_validation_names_the_field():
    with pytest.raises(ValidationError) as err:
        DedupConfig(method="minhash", num_perm=128, bands=30)
    (problem,) = err.value.errors()
    assert problem["loc"] == ("bands",)
    assert "bands=30 must divide num_perm=128" in problem["msg"]

    with pytest.raises(ValidationError) as err:
        CurateConfig(inputs=["x.jsonl"], dedup={"method": "minhash", "bands": 4})  # 4 x 32 rows: misses at 0.7
    (problem,) = err.value.errors()
    assert problem["loc"] == ("dedup", "bands")
    assert "probability" in problem["msg"]

    for bad in ({"shingle_size": 0}, {"threshold": 0}, {"threshold": 1.5}, {"num_perm": 4}, {"method": "simhash"}):
        with pytest.raises(ValidationError) as err:
            DedupConfig(**bad)
        assert err.value.errors()[0]["loc"] == (next(iter(bad)),)
    assert DedupConfig(method="minhash", num_perm=256, bands=64).bands == 64


def test_signature_estimate_is_unbiased_and_deterministic():
    corpus = _Corpus(seed=4)
    hasher = MinHasher(shingle_size=2, num_perm=256)
    errors = []
    for share in (0.05, 0.1, 0.2, 0.3, 0.5) * 8:
        words = corpus.original()
        a, b = hasher.shingles(words), hasher.shingles(corpus.scattered(words, share))
        errors.append(estimated_jaccard(hasher.signature(a), hasher.signature(b)) - jaccard(a, b))
    assert abs(np.mean(errors)) < 0.01 and np.std(errors) < 0.05, (np.mean(errors), np.std(errors))

    # Signatures depend on nothing but the text: fixed coefficients, no `hash()` (seeded per process).
    words = "refunds take five working days from the date of the request".split()
    fresh = MinHasher(shingle_size=2, num_perm=128)
    assert np.array_equal(fresh.signature(fresh.shingles(words)), hasher.signature(hasher.shingles(words))[:128])
    # Recorded once: a change here changes which documents every earlier run dropped.
    assert fresh.shingles(words)[:3].tolist() == [269818970, 720597537, 909760591]
    assert fresh.signature(fresh.shingles(words))[:2].tolist() == [145818660, 64108252]


def test_jaccard_and_lsh_index():
    a = np.array([1, 3, 5, 7], dtype=np.uint32)
    assert jaccard(a, np.array([3, 5, 9], dtype=np.uint32)) == 2 / 5
    assert jaccard(a, np.array([8, 9], dtype=np.uint32)) == 0.0
    assert jaccard(a, a) == 1.0 and jaccard(a, np.empty(0, dtype=np.uint32)) == 0.0
    index = LshIndex(num_perm=8, bands=4)
    sig = np.arange(8, dtype=np.uint64)
    index.add(index.band_keys(sig), 0)
    index.add(index.band_keys(sig), 1)
    other = sig.copy()
    other[0] = 99  # differs in band 0 only
    assert index.query(index.band_keys(other)) == {0: 3, 1: 3}
    with pytest.raises(ValueError, match="must divide"):
        LshIndex(num_perm=8, bands=3)
    # The S-curve numbers the docs quote for the default 32 bands x 4 rows.
    assert round(candidate_probability(0.7, 32, 4), 4) == 0.9998
    assert round(candidate_probability(0.5, 32, 4), 2) == 0.87 and round(candidate_probability(0.3, 32, 4), 2) == 0.23


def test_normalize_for_hash_equals_the_per_character_definition():
    whitespace = re.compile(r"\s+")

    def reference(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
        return whitespace.sub(" ", text).strip()

    bmp = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    texts = [bmp[i : i + 997] for i in range(0, len(bmp), 997)]
    texts += ["“Quoted” – dash… ‘single’ ¿qué? ¡sí!  ﬁle\u00a0x", "a_b $5 + 3 <email>", "", "  \t\n "]
    texts += ["lone \ud800, ok"]  # valid JSON can carry a lone surrogate
    punctuation = "".join(chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)).startswith("P"))
    texts += [f"a{p}b" for p in punctuation[::7]]
    assert [normalize_for_hash(t) for t in texts] == [reference(t) for t in texts]
    block = MinHashDedup(DedupConfig(method="minhash"))
    docs = [Document("s1", "lone \ud800 in a text"), Document("s2", "Lone \ud800 in a text!")]
    assert [d.id for d in block.run(docs)] == ["s1"]


def test_curate_stage_reports_near_duplicates(tmp_path):
    corpus = build_corpus(seed=5)
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in corpus.docs[:120]))
    cfg = CurateConfig(inputs=[str(src)], dedup={"method": "minhash"})
    metrics = run_curate(cfg, tmp_path / "out")
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    near = stats["blocks"]["dedup"]["dropped"].get("duplicate:near", 0)
    assert near > 0 and metrics["dropped"]["duplicate:near"] == near
    assert stats["blocks"]["dedup"]["counters"]["near_clusters"] > 0
    excluded = [json.loads(line) for line in (tmp_path / "out" / "excluded.jsonl").read_text().splitlines()]
    by_reason = defaultdict(list)
    for row in excluded:
        by_reason[row["reason"]].append(row)
    assert all(corpus.family[r["id"]] == corpus.family[r["detail"]] for r in by_reason["duplicate:near"])
