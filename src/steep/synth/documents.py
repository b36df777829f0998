"""The documents synth asks the teacher about: curate's output (or any JSONL of `{id, text, meta}`), split into
sentences a question can be grounded in, each document matched to the use cases it serves.

    docs = read_documents(Path("runs/demo/curate/documents"), limit=200)
    usable_sentences(docs[0].text)          # sentences of 6-60 words without a redaction placeholder
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from steep.artifacts import read_jsonl
from steep.synth.config import UseCase

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# curate writes `<ACCOUNT>`, `<EMAIL>`, ... where it redacted PII: a question about a placeholder teaches nothing,
# and an answer that quotes one teaches the model to write placeholders
_PLACEHOLDER = re.compile(r"<[A-Z_]{2,}>")
_HEADING = re.compile(r"^[#\-*\d.\s]*")
# a speaker or field label at the start of a line ("Agent: ...", "Customer: ..."): what follows can be a statement
_LINE_LABEL = re.compile(r"^[A-Z][A-Za-z]{1,15}(?: [A-Za-z]{1,15})?:\s+")


@dataclass(frozen=True)
class SourceDocument:
    id: str
    text: str
    title: str = ""
    meta: dict = field(default_factory=dict, hash=False, compare=False)


def read_documents(path: Path, limit: int) -> list[SourceDocument]:
    """The first `limit` non-empty documents of a JSONL file, or of every `*.jsonl` in a directory, in file order."""
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    docs: list[SourceDocument] = []
    for file in files:
        for row in read_jsonl(file):
            text = str(row.get("text") or "")
            if not text.strip():
                continue
            meta = row.get("meta") or {}
            docs.append(SourceDocument(str(row.get("id", f"{file.name}:{len(docs)}")), text, str(meta.get("title") or ""), meta))
            if len(docs) >= limit:
                return docs
    return docs


def usable_sentences(text: str, min_words: int = 6, max_words: int = 60) -> list[str]:
    """Statements of `text` that can carry a question and its answer on their own (no questions, labels or placeholders)."""
    found = []
    for block in re.split(r"\n\s*\n|\n", text):
        for sentence in _SENTENCE_END.split(_LINE_LABEL.sub("", block.strip())):
            sentence = _HEADING.sub("", sentence).strip()
            words = sentence.split()
            labelled = any(word.endswith(":") for word in words[:3])  # "Customer: ...", "Applies to: ...": a field or a speaker
            if min_words <= len(words) <= max_words and not labelled and not _PLACEHOLDER.search(sentence) and sentence[-1:] in ".!":
                found.append(sentence)
    return found


def use_cases_for(doc: SourceDocument, use_cases: list[UseCase]) -> list[UseCase]:
    """The use cases whose `documents` regex matches the document's title or text (all of them when none has one)."""
    matched = [u for u in use_cases if u.documents is None or re.search(u.documents, f"{doc.title}\n{doc.text}")]
    return matched


def source_id(doc: SourceDocument, pattern: str | None) -> str:
    """What an answer grounded in `doc` cites: the first match of `pattern` in it (e.g. its policy id), else its id."""
    if pattern:
        match = re.search(pattern, f"{doc.title}\n{doc.text}")
        if match:
            return match.group(0)
    return doc.id
