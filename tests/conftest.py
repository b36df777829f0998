"""Shared fixtures: a minimal valid pipeline (tiny files that exist), the demo domain at test scale, and a tiny
model directory built offline once per session (`tests/tiny.py`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RULES = [
    {"kind": "regex_present", "name": "cites_policy", "pattern": r"POL-\d{4}"},
    {"kind": "max_words", "name": "word_limit", "max": 60},
]


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def minimal_pipeline(tmp_path: Path) -> dict:
    """A pipeline dict with every stage's section (all 8 run) whose every file exists; stage contents are
    placeholders (runner tests fake the stages)."""
    data = tmp_path / "data"
    text = write_jsonl(data / "text.jsonl", [{"id": "a", "text": "hello world", "meta": {}}])
    chats = write_jsonl(data / "chats.jsonl", [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}])
    scenarios = write_jsonl(data / "scenarios.jsonl", [{"id": "s1", "case_id": "CASE-00001", "persona": "", "topic": "", "user_turns": ["CASE-00001 hi", "more"]}])
    return {
        "run_dir": str(tmp_path / "run"),
        "seed": 0,
        "device": "cpu",
        "base": {"from_scratch": {"corpus": [str(text)]}},
        "curate": {"inputs": [str(text)]},
        "cpt": {"heldout": {"domain": [str(text)], "general": [str(text)]}},
        "sft": {"train": str(chats), "heldout": str(chats), "format_pattern": "Answer: .+"},
        "dpo": {"prompts": str(chats), "heldout": str(chats), "judge": {"rules": [dict(r) for r in RULES]}},
        "rs": {"scenarios": str(scenarios), "heldout": str(scenarios), "judge": {"rules": [dict(r) for r in RULES]}},
        "eval": {},
        "serve": {},
    }


def write_yaml(path: Path, obj: dict) -> Path:
    path.write_text(yaml.safe_dump(obj, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def pipeline_dict(tmp_path):
    return minimal_pipeline(tmp_path)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The demo domain at test scale, generated once per session."""
    from steep.demo.domain import generate_demo_domain

    out = tmp_path_factory.mktemp("demo_data")
    generate_demo_domain(out, seed=0, scale=0.25)
    return out


@pytest.fixture(scope="session")
def demo_data_full(tmp_path_factory) -> Path:
    """The demo domain at the demo's own scale (the 400-document lake `make demo` curates), about 1 s to build."""
    from steep.demo.domain import generate_demo_domain

    out = tmp_path_factory.mktemp("demo_data_full")
    generate_demo_domain(out, seed=0, scale=1.0)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny model and tokenizer (`tests.tiny.ARCH`, ChatML), saved once per session. Read it, never write into it."""
    from tests.tiny import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny_model"))
