"""What the time gate learns from the lake's own DATED documents, to judge the undated ones.

    learned = learn_from_lake(((doc.text, day) for ...), cutoff, TimeInferConfig(classifier=LakeClassifierConfig()))
    learned.mined_hits("the new jetliner service ...")   # ['jetliner'] when it was frequent after the cutoff only
    learned.classifier.probability(text)                 # p(written after the cutoff)

Mined anachronisms: word 1-2-grams in at least `mine.min_docs` post-cutoff documents and in no pre-cutoff one.
Two passes bound the memory by the post side's vocabulary: count document frequencies over post-cutoff documents,
keep the frequent n-grams, then strike every one that a pre-cutoff document contains. Numbers are left out
(years are `steep.curate.time_text`'s job; ids and amounts are not evidence of time). Both sides need
`min_dated` documents, or "absent before" means nothing.

The classifier (`steep.curate.classifier`, logistic regression on hashed word n-grams) is trained on the same
dated documents, label 1 = dated after the cutoff. Deterministic: the first `max_docs` documents of each side in
input order, full-batch training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from steep.curate.classifier import TextClassifier
from steep.curate.config import TimeInferConfig
from steep.curate.words import ngram_words

_MIN_WORD_CHARS = 3


def doc_ngrams(text: str) -> set[str]:
    """Distinct lower-cased word 1- and 2-grams of the text, numbers and short words left out."""
    words = [w for w in ngram_words(text) if len(w) >= _MIN_WORD_CHARS and not w.isdigit()]
    return {*words, *(f"{a} {b}" for a, b in zip(words, words[1:]))}


@dataclass
class Learned:
    mined: dict[str, int] = field(default_factory=dict)  # n-gram -> post-cutoff documents containing it
    min_hits: int = 2
    classifier: TextClassifier | None = None
    notes: list[str] = field(default_factory=list)  # why something was not learned, for the log and report

    def mined_hits(self, text: str) -> list[str]:
        """The mined n-grams the text contains, most frequent first (ties alphabetical)."""
        if not self.mined:
            return []
        return sorted(doc_ngrams(text) & self.mined.keys(), key=lambda g: (-self.mined[g], g))


def learn_from_lake(dated: Iterable[tuple[str, date]], cutoff: date, cfg: TimeInferConfig) -> Learned:
    """Mine anachronism n-grams and/or train the pre/post classifier from (text, day) of the dated documents."""
    learned = Learned(min_hits=cfg.mine.min_hits if cfg.mine else 2)
    if cfg.mine is None and cfg.classifier is None:
        return learned
    keep = max(cfg.mine.max_docs if cfg.mine else 0, cfg.classifier.max_docs if cfg.classifier else 0)
    pre: list[str] = []
    post: list[str] = []
    for text, day in dated:
        side = post if day > cutoff else pre
        if len(side) < keep:
            side.append(text)
    if cfg.mine is not None:
        m = cfg.mine
        if min(len(pre), len(post)) < m.min_dated:
            learned.notes.append(f"mine: {len(pre)} dated document(s) before the cutoff and {len(post)} after; "
                                 f"{m.min_dated} needed on each side, nothing mined")  # fmt: skip
        else:
            freq: Counter[str] = Counter()
            for text in post[: m.max_docs]:
                freq.update(doc_ngrams(text))
            frequent = {g for g, n in freq.items() if n >= m.min_docs}
            for text in pre[: m.max_docs]:
                frequent -= doc_ngrams(text)
            top = sorted(frequent, key=lambda g: (-freq[g], g))[: m.max_terms]
            learned.mined = {g: freq[g] for g in top}
    if cfg.classifier is not None:
        c = cfg.classifier
        if min(len(pre), len(post)) < c.min_dated:
            learned.notes.append(f"classifier: {len(pre)} dated document(s) before the cutoff and {len(post)} "
                                 f"after; {c.min_dated} needed on each side, not trained")  # fmt: skip
        else:
            examples = [(t, 0) for t in pre[: c.max_docs]] + [(t, 1) for t in post[: c.max_docs]]
            learned.classifier = TextClassifier.train(examples)
    return learned
