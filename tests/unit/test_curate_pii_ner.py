"""`pii.ner_model`: a local model's person entities become `name` spans; nothing but a local directory is taken.
The model is faked (a callable with the token-classification pipeline's output): no torch, no download."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from steep.curate.config import PiiConfig
from steep.curate.pii.ner import NerNames, _chunks
from steep.curate.pii.redact import SteepEngine, apply_spans, placeholder


def fake_loader(path):
    def pipe(piece):
        out = []
        for name in ("Jane Doe", "Acme Bank"):
            i = piece.find(name)
            if i >= 0:
                group = "PER" if name == "Jane Doe" else "ORG"
                out.append({"entity_group": group, "score": 0.99, "start": i, "end": i + len(name), "word": name})
        return out

    return pipe


def test_ner_person_entities_become_name_spans_with_pattern_hits():
    engine = SteepEngine(ner=NerNames("unused", loader=fake_loader))
    text = "Jane Doe of Acme Bank wrote from jane@corp.com."
    assert apply_spans(text, engine.find(text), placeholder) == "<NAME> of Acme Bank wrote from <EMAIL>."
    assert SteepEngine(types=["email"], ner=NerNames("unused", loader=fake_loader)).find(text)[0].type == "email"


def test_long_documents_are_chunked_and_offsets_mapped_back():
    text = ("filler line\n" * 300) + "Jane Doe signed."
    assert all(len(piece) <= 1500 for _, piece in _chunks(text))
    assert "".join(piece for _, piece in _chunks(text)) == text
    spans = NerNames("unused", loader=fake_loader)(text)
    assert [text[s:e] for s, e in spans] == ["Jane Doe"]


def test_ner_model_must_be_a_local_directory(tmp_path):
    with pytest.raises(ValidationError, match="not a local model directory"):
        PiiConfig(ner_model="dslim/bert-base-NER")  # a hub id: refused, never downloaded
    (tmp_path / "config.json").write_text("{}")
    assert PiiConfig(ner_model=str(tmp_path)).ner_model == str(tmp_path)
