"""Names found by a token-classification (NER) model the operator supplies as a LOCAL directory: `pii.ner_model`.

    pii: {ner_model: models/bert-base-NER}     # a Hugging Face directory: config.json, weights, tokenizer

    from steep.curate.pii.ner import NerNames
    NerNames("models/bert-base-NER")("Jane Doe called about her claim.")   # [(0, 8)]

Why only local: steep never downloads (the config check refuses anything but an existing directory, and the
model loads with `local_files_only=True`). Why names only: every other type has a checksum or a shape our
recognizers confirm; free-text names are what patterns cannot find. The model's PER/PERSON entities become
`name` spans, resolved with the pattern hits (a pattern hit of a higher-priority type wins an overlap).
transformers (and torch) load on the first document, not at import, so `--help` and the other engines stay light.
Long documents are cut at line ends into pieces of at most CHUNK_CHARS (the model's 512-token window).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK_CHARS = 1500  # ~350-450 word pieces of English: under BERT's 512-token window
PERSON_LABELS = frozenset({"PER", "PERSON", "B-PER", "I-PER", "NAME"})
MIN_SCORE = 0.5


def _chunks(text: str) -> list[tuple[int, str]]:
    """(offset, piece) cuts of `text` at line ends (or hard cuts for a longer line), each <= CHUNK_CHARS."""
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        out.append((start, text[start:end]))
        start = end
    return out


def load_pipeline(path: str) -> Callable[[str], list[dict[str, Any]]]:
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForTokenClassification.from_pretrained(path, local_files_only=True)
    return pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple", device=-1)


class NerNames:
    """`text -> [(start, end)]` of person names found by the model at `path`."""

    def __init__(self, path: str | Path, loader: Callable[[str], Any] = load_pipeline) -> None:
        self.path = str(path)
        self.loader = loader
        self._pipe: Any = None

    def __call__(self, text: str) -> list[tuple[int, int]]:
        if self._pipe is None:
            self._pipe = self.loader(self.path)
        spans = []
        for offset, piece in _chunks(text):
            for entity in self._pipe(piece):
                label = entity.get("entity_group") or entity.get("entity", "")
                if label in PERSON_LABELS and entity.get("score", 1.0) >= MIN_SCORE:
                    start, end = offset + entity["start"], offset + entity["end"]
                    if text[start:end].strip():
                        spans.append((start, end))
        return spans

    def __getstate__(self) -> dict[str, Any]:  # the pipeline is rebuilt in each worker process
        return {**self.__dict__, "_pipe": None}
