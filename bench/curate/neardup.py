"""Part 2: MinHash near-dup, steep vs datasketch vs datatrove, on one corpus of (id, text) with known clusters.

    corpus = NearDupCorpus(docs=[(id, text), ...], root={id: root id})
    for result in compare_near_dup(corpus, work_dir): print(result.name, result.precision, result.recall)

Every method returns predicted clusters ({id: cluster key}); scoring is pairwise and order-free: a pair of
documents is positive when they share a cluster. precision = true pairs predicted / pairs predicted, recall = true
pairs predicted / true pairs. (Clusters here are 2-3 documents, so pair counts stay small; a method that chains
unrelated documents into one big cluster pays for every wrong pair it creates.)

Methods, one process, one worker each:
- steep: the shipping block, `run_curate` with only `dedup: {method: minhash}` on (2-grams, threshold 0.7,
  128 perm, 32 bands x 4 rows, exact Jaccard check). Signatures/s from `steep.curate.minhash.MinHasher` alone.
- datasketch `MinHashLSH(threshold=0.8, num_perm=128)` streaming (query, then insert), on word 5-grams (the
  usual web setting) and on word 2-grams (steep's shingles: separates the shingle choice from the index).
- datatrove's MinHash stages 1-4 in-process at their defaults (5-grams, 14 buckets x 8 hashes, no Jaccard
  check), clusters from stage 3's `save_cluster_id`.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from chains import Timer
from lake import NearDupCorpus


@dataclass
class NearDupResult:
    name: str
    cpu_s: float  # the whole method: shingling, signatures, index, clustering
    wall_s: float
    signature_cpu_s: float | None  # shingles + signatures only (None: not separable)
    docs: int
    precision: float
    recall: float
    predicted_pairs: int
    true_pairs: int
    wrong_pairs: int
    # Wrong pairs whose documents come from different parts of a stitched lake (scale > 5): the generator keeps
    # unrelated documents apart only within one part, so these may be real look-alikes the labels do not know.
    wrong_pairs_across_parts: int
    # Word 2-gram Jaccard of the least similar wrong pair (None: no wrong pair): a wrong pair at >= 0.7 is a real
    # look-alike the labels do not know of, one far below it a false merge.
    wrong_pair_min_jaccard: float | None = None

    @property
    def precision_within_parts(self) -> float:
        """Precision over pairs inside one part of the lake, where the labels know every near copy."""
        hits = self.predicted_pairs - self.wrong_pairs
        judged = self.predicted_pairs - self.wrong_pairs_across_parts
        return hits / judged if judged else 1.0

    @property
    def signatures_per_cpu_s(self) -> float | None:
        return self.docs / self.signature_cpu_s if self.signature_cpu_s else None


def pairs_of(clusters: dict[str, str]) -> set[tuple[str, str]]:
    members: dict[str, list[str]] = defaultdict(list)
    for doc_id, key in clusters.items():
        members[key].append(doc_id)
    return {tuple(sorted(p)) for group in members.values() if len(group) > 1 for p in combinations(group, 2)}


def score(
    name: str,
    corpus: NearDupCorpus,
    clusters: dict[str, str],
    cpu_s: float,
    wall_s: float,
    signature_cpu_s: float | None,
) -> NearDupResult:
    truth, predicted = pairs_of(corpus.root), pairs_of(clusters)
    hits = len(truth & predicted)
    wrong = predicted - truth

    def part(doc_id: str) -> str:  # "s1-km-00042" -> "s1"; a synthetic copy belongs to its original's part
        return corpus.root.get(doc_id, doc_id).split("-", 1)[0]

    across = sum(part(a) != part(b) for a, b in wrong)
    texts = dict(corpus.docs)
    min_jaccard = min((_jaccard2(texts[a], texts[b]) for a, b in wrong), default=None)
    return NearDupResult(
        name,
        cpu_s,
        wall_s,
        signature_cpu_s,
        len(corpus.docs),
        hits / len(predicted) if predicted else 1.0,
        hits / len(truth) if truth else 1.0,
        len(predicted),
        len(truth),
        len(wrong),
        across,
        min_jaccard,
    )


def _jaccard2(a: str, b: str) -> float:
    x, y = _word_ngrams(a, 2), _word_ngrams(b, 2)
    return len(x & y) / len(x | y) if x | y else 1.0


# ---------------------------------------------------------------------------------------------------- steep


def steep_block(corpus: NearDupCorpus, work_dir: Path) -> NearDupResult:
    from steep.curate import CurateConfig, run_curate

    folder = work_dir / "neardup-steep"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    src = folder / "corpus.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n" for i, text in corpus.docs)
    cfg = CurateConfig(
        inputs=[str(src)],
        clean={"enabled": False},
        quality={"enabled": False},
        pii={"enabled": False},
        dedup={"method": "minhash"},
    )
    with Timer() as t:
        run_curate(cfg, folder / "out")
    clusters = {doc_id: doc_id for doc_id, _ in corpus.docs}
    with open(folder / "out" / "excluded.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["reason"].startswith("duplicate:"):
                clusters[row["id"]] = row["detail"]  # the kept root of the cluster it joined
    return score(
        "steep MinHashDedup (2-gram, J>=0.7 checked)",
        corpus,
        clusters,
        t.cpu_s,
        t.wall_s,
        steep_signature_seconds(corpus),
    )


def steep_signature_seconds(corpus: NearDupCorpus) -> float:
    from steep.curate.minhash import MinHasher

    try:  # the dedup block's own normalisation; a plain split if it moves
        from steep.curate.dedup import normalized_words
    except ImportError:  # pragma: no cover

        def normalized_words(text: str) -> list[str]:
            return text.lower().split()

    hasher = MinHasher(shingle_size=2, num_perm=128)
    with Timer() as t:
        for _, text in corpus.docs:
            shingles = hasher.shingles(normalized_words(text))
            if shingles.size:
                hasher.signature(shingles)
    return t.cpu_s


# ----------------------------------------------------------------------------------------------- datasketch


def _word_ngrams(text: str, n: int) -> set[bytes]:
    # The same normalisation for both datasketch runs: lower case, punctuation split off by `split` on words.
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    return {" ".join(words[i : i + n]).encode("utf-8") for i in range(max(1, len(words) - n + 1))}


def datasketch_lsh(corpus: NearDupCorpus, shingle_size: int) -> NearDupResult:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    signature_cpu = 0.0
    with Timer() as t:
        for doc_id, text in corpus.docs:
            with Timer() as s:
                m = MinHash(num_perm=128)
                m.update_batch(list(_word_ngrams(text, shingle_size)))
            signature_cpu += s.cpu_s
            parent[doc_id] = doc_id
            for match in lsh.query(m):  # streaming: link to every earlier document it collides with
                parent[find(doc_id)] = find(match)
            lsh.insert(doc_id, m)
    clusters = {doc_id: find(doc_id) for doc_id in parent}
    return score(
        f"datasketch MinHashLSH t=0.8 ({shingle_size}-gram)", corpus, clusters, t.cpu_s, t.wall_s, signature_cpu
    )


# ------------------------------------------------------------------------------------------------ datatrove


def datatrove_minhash(corpus: NearDupCorpus, work_dir: Path) -> NearDupResult:
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )

    root = work_dir / "neardup-datatrove"
    shutil.rmtree(root, ignore_errors=True)
    cfg = MinhashConfig()  # datatrove's defaults: 5-grams, 14 buckets x 8 hashes
    sigs, buckets, remove = str(root / "sigs"), str(root / "buckets"), str(root / "remove")

    def documents():
        return (Document(text=text, id=doc_id) for doc_id, text in corpus.docs)

    with Timer() as t:
        with Timer() as s:
            _exhaust(MinhashDedupSignature(sigs, config=cfg)(documents(), rank=0, world_size=1))
        for bucket in range(cfg.num_buckets):  # one task per bucket, run one after the other
            _exhaust(MinhashDedupBuckets(sigs, buckets, config=cfg)(None, rank=bucket, world_size=cfg.num_buckets))
        _exhaust(MinhashDedupCluster(buckets, remove, config=cfg, save_cluster_id=True)(None, 0, 1))
        _exhaust(MinhashDedupFilter(remove)(documents(), rank=0, world_size=1))  # the removal pass, timed too
    # Stage 3 wrote (document index, cluster id) for every document in a cluster of two or more.
    clusters = _datatrove_clusters(Path(remove), corpus)
    return score("datatrove MinHash stages 1-4 (5-gram, 14x8)", corpus, clusters, t.cpu_s, t.wall_s, s.cpu_s)


def _datatrove_clusters(remove_dir: Path, corpus: NearDupCorpus) -> dict[str, str]:
    import struct

    ids = [doc_id for doc_id, _ in corpus.docs]
    clusters = {doc_id: doc_id for doc_id in ids}
    path = remove_dir / "000000.clusters"
    if path.exists():
        raw = path.read_bytes()
        for doc_index, cluster in struct.iter_unpack("<2I", raw):
            clusters[ids[doc_index]] = f"cluster-{cluster}"
    return clusters


def _exhaust(result) -> None:  # a datatrove step returns a generator or None
    if result is not None:
        for _ in result:
            pass


def compare_near_dup(corpus: NearDupCorpus, work_dir: Path, with_datatrove: bool = True) -> list[NearDupResult]:
    results = [steep_block(corpus, work_dir), datasketch_lsh(corpus, 5), datasketch_lsh(corpus, 2)]
    if with_datatrove:
        results.append(datatrove_minhash(corpus, work_dir))
    return results
