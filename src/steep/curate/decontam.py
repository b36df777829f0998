"""Decontamination: drop (or flag) training documents that share long word n-grams with an eval split.

    cfg = DecontamConfig(eval_files=["data/sft_heldout.jsonl"], ngram=13, action="drop")
    block = Decontaminator(cfg, corpus=lambda: (d.text for d in training_docs))
    block.apply(doc)  # Drop('contaminated', 'data/sft_heldout.jsonl:7: "the card was ... today"') or the doc

Eval files are JSONL. From each row we take the strings under `fields` (default: `text`, `prompt`,
`question`, `answer`, `completion`, `response`, `chosen`, `rejected`, `messages`, `user_turns`): a string, a
list of strings (`user_turns`), or OpenAI-style messages (`[{role, content}]`, also as `chosen`/`rejected`).
System messages are skipped: a shared system prompt is configuration, not an eval item. A row with none of
the fields fails the run at start, naming `file:line`.

Text is normalised (lowercase, words = runs of letters/digits, punctuation dropped: `steep.curate.words`), cut
into word n-grams (13, as in GPT-3's decontamination), and each n-gram is hashed to 64 bits (blake2b): ~16 bytes
of index per eval n-gram, so a 100k-item eval set of ~100 words each fits in ~150 MB. A collision of two 64-bit
hashes is ~1 in 10^19 per pair: negligible.

Templated text is not contamination. On the demo lake every support log, policy and spec is built from
templates, and the eval splits reuse the same sentences (the SFT answers quote policy text). Measured with this
block (13-grams, `min_matches: 1`, after repair), lake documents hit, of 400:

| eval split | every n-gram (`ignore_common: null`) | `ignore_common: 3` (default) |
| --- | ---: | ---: |
| domain_heldout (same templates, by design) | 378 | 194 |
| sft_heldout | 211 | 5 |
| dpo_heldout | 15 | 1 |
| rs_heldout | 15 | 4 |
| general_heldout | 0 | 0 |

The 5 sft_heldout hits left hold an eval item's question or answer verbatim (the first shares 13 distinct
13-grams with `sft_heldout.jsonl:21`): the kind of leak decontamination is for. The 211 were every document
quoting a policy sentence.
So before matching, the block counts in how many TRAINING documents (the raw inputs, one extra read) each
eval n-gram occurs, and ignores those found in `ignore_common` or more documents: a sentence that dozens of
training documents share is boilerplate or a fact the domain states everywhere, and dropping every document
that holds it would drop the domain. The price: an eval item copied verbatim into `ignore_common` or more
training documents is no longer caught; lower `ignore_common` for stricter, `null` for none. A split built from
the same templates as the training data (domain_heldout here) cannot be decontaminated by n-grams at all: it
measures style, not memorised items; keep it out of `eval_files`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from steep.artifacts import iter_jsonl
from steep.chat import message_text
from steep.curate.block import Block, DropSink
from steep.curate.config import DecontamConfig
from steep.curate.document import Document, Drop
from steep.curate.words import ngram_words


def _hash(gram: tuple[str, ...]) -> int:
    return int.from_bytes(hashlib.blake2b(" ".join(gram).encode(), digest_size=8).digest(), "little")


def ngram_hashes(text: str, n: int) -> dict[int, tuple[str, ...]]:
    """{hash: n-gram} of the normalised word n-grams of `text` (empty for a text shorter than n words)."""
    words = ngram_words(text)
    return {_hash(gram): gram for gram in zip(*(words[i:] for i in range(n)))}


def eval_texts(row: dict[str, Any], fields: Iterable[str]) -> list[str]:
    """The eval strings of one row: see the module docstring for the shapes understood."""
    texts: list[str] = []
    for key in fields:
        value = row.get(key)
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    texts.append(item)
                elif isinstance(item, dict) and item.get("role") != "system" and message_text(item):
                    texts.append(message_text(item))
    return texts


@dataclass(frozen=True)
class EvalSource:
    file: str
    line: int


def build_eval_index(files: Iterable[str], n: int, fields: Iterable[str]) -> dict[int, EvalSource]:
    """{n-gram hash: where it first occurs} over every eval file. Raises naming `file:line` for a bad row."""
    fields = list(fields)
    index: dict[int, EvalSource] = {}
    for name in files:
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"decontam.eval_files: {name} not found")
        for lineno, row in iter_jsonl(path):
            texts = eval_texts(row, fields) if isinstance(row, dict) else []
            if not texts:
                raise ValueError(f"{name}:{lineno}: no eval text in any of the fields {fields}")
            source = EvalSource(name, lineno)
            for text in texts:
                for h in ngram_hashes(text, n):
                    index.setdefault(h, source)
    return index


# (config, corpus key) -> common n-grams; one count per process per corpus, however many shards it runs.
_COMMON_CACHE: dict[tuple[str, Hashable], set[int]] = {}


class Decontaminator(Block):
    """Drops (`contaminated`) or flags (`meta.contaminated`) documents sharing eval n-grams.

    `corpus` returns the training texts for the boilerplate count (`ignore_common`); it is called once, on the
    first document, so building the block is cheap. Without it nothing is ignored.
    """

    name = "decontam"

    def __init__(
        self,
        cfg: DecontamConfig,
        on_drop: DropSink | None = None,
        corpus: Callable[[], Iterable[str]] | None = None,
        corpus_key: Callable[[], Hashable] | None = None,
    ) -> None:
        super().__init__(on_drop)
        self.cfg = cfg
        self.index = build_eval_index(cfg.eval_files, cfg.ngram, cfg.fields)
        self.stats.counters["eval_ngrams"] = len(self.index)
        self._corpus = corpus
        # Identifies the corpus (e.g. its files' paths, sizes, mtimes): the sharded executor builds this block once per
        # shard, and counting the whole corpus again for each shard would read the inputs N extra times.
        self._corpus_key = corpus_key
        self._common: set[int] | None = None

    def prepare(self) -> None:
        self.common_ngrams()

    def common_ngrams(self) -> set[int]:
        """Eval n-grams found in at least `ignore_common` training documents (computed once per process)."""
        if self._common is None:
            self._common = set()
            if self._corpus is not None and self.cfg.ignore_common is not None:
                corpus_key = self._corpus_key() if self._corpus_key is not None else None
                key = (self.cfg.model_dump_json(), corpus_key)
                if key not in _COMMON_CACHE or corpus_key is None:
                    _COMMON_CACHE[key] = self._count_common()
                self._common = _COMMON_CACHE[key]
            self.stats.counters["eval_ngrams_ignored_as_common"] = len(self._common)
        return self._common

    def _count_common(self) -> set[int]:
        assert self._corpus is not None and self.cfg.ignore_common is not None
        doc_freq: Counter[int] = Counter()
        for text in self._corpus():
            doc_freq.update(h for h in ngram_hashes(text, self.cfg.ngram) if h in self.index)
        return {h for h, n in doc_freq.items() if n >= self.cfg.ignore_common}

    def matches(self, text: str) -> Iterator[tuple[EvalSource, tuple[str, ...]]]:
        """(eval source, n-gram) for each distinct eval n-gram in `text` that is not common."""
        common = self.common_ngrams()
        for h, gram in ngram_hashes(text, self.cfg.ngram).items():
            if h in self.index and h not in common:
                yield self.index[h], gram

    def apply(self, doc: Document) -> Document | Drop:
        found = list(self.matches(doc.text))
        if len(found) < self.cfg.min_matches:
            return doc
        source, gram = found[0]
        detail = f'{source.file}:{source.line}: "{" ".join(gram)}" ({len(found)} shared {self.cfg.ngram}-grams)'
        if self.cfg.action == "drop":
            return Drop("contaminated", detail)
        self.stats.counters["flagged"] += 1
        flag = {"eval_file": source.file, "eval_line": source.line, "ngram": " ".join(gram), "matches": len(found)}
        return replace(doc, meta={**doc.meta, "contaminated": True, "contamination": flag})
