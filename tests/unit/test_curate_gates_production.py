"""Gates at production grade: lexicon files, many-term matching, locally trained classifiers, user gates, and
recall / precision on the demo domain's labels."""

from __future__ import annotations

import json
import random
import re
import sys
import zlib
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from steep.curate.classifier import TextClassifier, load_examples
from steep.curate.config import ComplianceConfig, CurateConfig, TimeGateConfig
from steep.curate.document import Document, Drop
from steep.curate.gates import ComplianceGate, TimeGate
from steep.curate.lexicon import PatternMatcher, PhraseMatcher
from steep.curate.stage import build_blocks
from steep.curate.user_gates import UserGatesBlock

DEMO_PIPELINE = Path(__file__).resolve().parents[2] / "examples" / "demo" / "pipeline.yaml"


def _drop(block, text: str, meta: dict | None = None) -> Drop:
    out = block.apply(Document("d", text, meta or {}))
    assert isinstance(out, Drop), f"kept: {text!r}"
    return out


# ------------------------------------------------------------------------------------------ decisions and details


def test_details_name_matched_text_and_offset():
    gate = ComplianceGate(ComplianceConfig(terms=["Project Falcon"], patterns=[r"(?i)\binternal[- ]only\b"]))
    term = _drop(gate, "Roadmap: PROJECT\n  falcon ships.")
    assert (term.reason, term.detail) == ("compliance:Project Falcon", "matched 'PROJECT\\n  falcon' at char 9")
    pattern = _drop(gate, "Memo 7, Internal-Only.")
    assert pattern.reason == r"compliance:/(?i)\binternal[- ]only\b/"
    assert pattern.detail == "matched 'Internal-Only' at char 8"


def test_time_gate_details_and_patterns():
    gate = TimeGate(TimeGateConfig(cutoff=date(2024, 6, 30), terms=["Falcon 2"], patterns=[r"\bQ[34] 2024\b"]))
    late = _drop(gate, "x", {"date": "2024-07-01"})
    assert (late.reason, late.detail) == ("time:date>cutoff", "meta.date 2024-07-01 > cutoff 2024-06-30")
    assert _drop(gate, "launching falcon 2", {"date": "2024-01-01"}).reason == "time:term:Falcon 2"
    quarter = _drop(gate, "Results for Q3 2024.", {"date": "2024-01-01"})
    assert (quarter.reason, quarter.detail) == (r"time:/\bQ[34] 2024\b/", "matched 'Q3 2024' at char 12")


# ---------------------------------------------------------------------------------------------- lexicon files


def test_lexicon_files_add_to_inline_entries(tmp_path):
    terms = tmp_path / "terms.txt"
    terms.write_text("# codenames, one per line\nProject Heron\n\n  Project Osprey  \n#Project Commented\n")
    patterns = tmp_path / "patterns.txt"
    patterns.write_text("# ticket ids\nDEAL-\\d{4}\n")
    cfg = ComplianceConfig(terms=["Project Falcon"], terms_file=terms, patterns_file=patterns)
    gate = ComplianceGate(cfg)
    assert _drop(gate, "about project osprey").reason == "compliance:Project Osprey"
    assert _drop(gate, "about project falcon").reason == "compliance:Project Falcon"
    assert _drop(gate, "see DEAL-1234").reason == r"compliance:/DEAL-\d{4}/"
    assert isinstance(gate.apply(Document("k", "Project Commented and # codenames")), Document)


def test_lexicon_file_errors_name_yaml_path_and_line(tmp_path):
    with pytest.raises(ValidationError) as err:
        CurateConfig.model_validate({"inputs": ["a.jsonl"], "time": {"terms_file": str(tmp_path / "nope.txt")}})
    assert "time.terms_file" in str(err.value) and "file not found" in str(err.value)
    bad = tmp_path / "patterns.txt"
    bad.write_text("ok\n# fine\n(unclosed\n")
    with pytest.raises(ValidationError) as err:
        CurateConfig.model_validate({"inputs": ["a.jsonl"], "compliance": {"patterns_file": str(bad)}})
    assert "compliance.patterns_file" in str(err.value)
    assert f"{bad}:3: invalid regex '(unclosed'" in str(err.value)


# ------------------------------------------------------------------------------------------ matching many terms


def _reference_search(phrases: list[str], text: str) -> tuple[int, str] | None:
    """The old one-alternative-per-phrase regex, longest first: the trie must agree with it."""
    ordered = sorted(dict.fromkeys(phrases), key=len, reverse=True)
    regex = "|".join(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in p.split()) + r"(?!\w)" for p in ordered)
    m = re.search(regex, text, re.IGNORECASE)
    return (m.start(), m.group(0)) if m else None


def test_trie_matcher_agrees_with_plain_alternation():
    rng = random.Random(0)
    vocab = ["bank", "banking", "bank holiday", "c++", "q3", "2024", "falcon", "falcon 2", "hol", "day", "x-ray"]
    phrases = ["bank", "bank holiday", "Banking", "C++", "Q3 2024", "falcon 2", "falcon", "X-Ray", "day"]
    matcher = PhraseMatcher(phrases)
    for _ in range(300):
        text = " ".join(rng.choice(vocab + ["the", "of", "\n", "holidays", "falconry"]) for _ in range(6))
        expected = _reference_search(phrases, text)
        hit = matcher.search(text)
        assert ((hit.start, hit.text) if hit else None) == expected, text
        if hit:
            assert hit.entry.lower().split() == hit.text.lower().split()


def test_thousands_of_terms_find_the_one_at_the_end_of_a_long_text():
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(8000)]
    terms = [" ".join(rng.sample(words, rng.randint(1, 3))) + "zq" for _ in range(5_000)]  # never in the text
    text = " ".join(rng.choice(words) for _ in range(40_000)) + " " + terms[-1].upper()  # ~270 KB, hit at the end
    # Measured ~0.1 s on a shared 2-core box (building the matcher: ~1 s); a plain 5,000-way alternation
    # (one `(?<!\w)term(?!\w)` per term, the old matcher) needs ~1 minute for this text. Not asserted: a
    # wall-clock bound fails on a loaded machine; a regression shows as this test taking a minute.
    hit = PhraseMatcher(terms).search(text)
    assert hit is not None and hit.entry == terms[-1]
    assert hit.text == terms[-1].upper() and text.endswith(hit.text)


def test_pattern_matcher_combines_what_it_safely_can():
    matcher = PatternMatcher([r"(?i)\bsecret\b", r"(\w)\1{3}", r"(?a)\d{3}-\d{2}", "DEAL-[0-9]+"])
    assert [p for p, _ in matcher._alone] == [r"(\w)\1{3}", r"(?a)\d{3}-\d{2}"]  # backreference; unscopable flag
    hit = matcher.search("x DEAL-7 then SECRET")
    assert (hit.entry, hit.text, hit.start) == ("DEAL-[0-9]+", "DEAL-7", 2)  # leftmost of the combined patterns
    assert matcher.search("zzzz").entry == r"(\w)\1{3}"
    assert matcher.search("call 555-12").entry == r"(?a)\d{3}-\d{2}"
    assert matcher.search("nothing here") is None


# ----------------------------------------------------------------------------------------------- classifiers


def _write_examples(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    return path


def test_gate_classifier_drops_with_probability_and_is_deterministic(tmp_path):
    rng = random.Random(0)
    filler = ["the", "branch", "opened", "on", "monday", "with", "a", "new", "savings", "account", "offer", "for"]
    rows = []
    for i in range(60):
        words = rng.sample(filler, 8)
        if i % 3 == 0:
            words.insert(rng.randint(0, 8), "merger talks under nda")
        rows.append((" ".join(words), int(i % 3 == 0)))
    train = _write_examples(tmp_path / "train.jsonl", rows)
    cfg = ComplianceConfig(classifier={"train": str(train), "threshold": 0.8})
    gate = ComplianceGate(cfg)
    out = _drop(gate, "customers asked about the merger talks under nda at the branch")
    assert out.reason == "compliance:classifier"
    p = float(re.fullmatch(r"p=([0-9.]+) >= threshold 0.8", out.detail).group(1))
    assert p >= 0.8
    assert isinstance(gate.apply(Document("k", "the branch opened a savings account")), Document)
    # Deterministic: a second training gives the very same model. Trained once per process per config and file.
    again = TextClassifier.train(load_examples(train))
    assert np.array_equal(again.weights, gate.lexicons.classifier.weights)
    assert ComplianceGate(cfg).lexicons.classifier is gate.lexicons.classifier


def test_classifier_training_file_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a", "label": 0}\n{"text": "b", "label": 2}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: a row needs `text` \(string\) and `label` \(0 or 1\)"):
        load_examples(bad)
    bad.write_text('{"text": "a", "label": 0}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not JSON"):
        load_examples(bad)
    with pytest.raises(ValueError, match="both labels"):
        load_examples(_write_examples(tmp_path / "one.jsonl", [("a", 1), ("b", 1)]))
    with pytest.raises(ValidationError, match="compliance.classifier.train"):
        CurateConfig.model_validate({"inputs": ["a.jsonl"], "compliance": {"classifier": {"train": "missing.jsonl"}}})


@pytest.fixture(scope="module")
def demo_lake():
    from steep.demo.domain_lake import build_lake

    return build_lake(0, 1.0)  # the demo lake (400 documents) and its labels, in memory


def _root(labels: dict, doc_id: str) -> str:
    lab = labels[doc_id]
    while lab["exact_duplicate_of"] or lab["near_duplicate_of"]:
        doc_id = lab["exact_duplicate_of"] or lab["near_duplicate_of"]
        lab = labels[doc_id]
    return doc_id


@pytest.mark.parametrize(
    ("field", "min_recall", "min_precision"), [("restricted", 0.7, 0.85), ("post_cutoff", 0.2, 0.75)]
)
def test_classifier_on_demo_labels_half_split(demo_lake, field, min_recall, min_precision):
    """Train on one half of the demo lake, test on the other. Split by duplicate cluster, so no copy of a test
    document is in training. Measured (scale 1): restricted recall 0.75 precision 1.00; post_cutoff 0.27 / 1.00
    (most post-cutoff documents without a new term differ from older ones only in their date)."""
    lake, label_rows = demo_lake
    labels = {r["id"]: r for r in label_rows}
    halves: dict[int, list[tuple[str, int]]] = {0: [], 1: []}
    for row in lake:
        halves[zlib.crc32(_root(labels, row["id"]).encode()) % 2].append((row["text"], int(labels[row["id"]][field])))
    clf = TextClassifier.train(halves[0])
    predicted = [(clf.probability(text) >= 0.5, y) for text, y in halves[1]]
    tp = sum(p and y for p, y in predicted)
    fp = sum(p and not y for p, y in predicted)
    assert tp / sum(y for _, y in predicted) >= min_recall
    assert tp / max(tp + fp, 1) >= min_precision


# ------------------------------------------------------------------------------------------------ user gates


def test_yaml_rule_gates(tmp_path):
    cfg = CurateConfig.model_validate(
        {
            "inputs": ["a.jsonl"],
            "gates": [
                {
                    "name": "no_drafts",
                    "drop_if": {
                        "any": [
                            {"contains": "DRAFT"},
                            {"regex": r"do not (?:circulate|distribute)", "ignore_case": True},
                            {"meta": {"field": "status", "equals": "draft"}},
                        ]
                    },
                },
                {
                    "name": "old_tables",
                    "drop_if": {
                        "all": [
                            {"meta": {"field": "source.kind", "one_of": ["table", "csv"]}},
                            {"not": {"contains": "reviewed"}},
                        ]
                    },
                },
            ],
        }
    )
    block = UserGatesBlock(cfg.gates)
    out = _drop(block, "This DRAFT memo")
    assert (out.reason, out.detail) == ("gate:no_drafts", "contains 'DRAFT' at char 5")
    out = _drop(block, "Please Do Not Distribute.")
    assert out.detail == "regex 'do not (?:circulate|distribute)' matched 'Do Not Distribute' at char 7"
    assert _drop(block, "final", {"status": "draft"}).detail == "meta.status == 'draft'"
    out = _drop(block, "rates", {"source": {"kind": "csv"}})
    assert out.reason == "gate:old_tables" and out.detail.startswith(
        "meta.source.kind 'csv' in ['table', 'csv'] and not"
    )
    assert isinstance(block.apply(Document("k", "rates reviewed", {"source": {"kind": "csv"}})), Document)
    assert isinstance(block.apply(Document("k", "a final draft", {"status": "final"})), Document)  # case-sensitive


def test_python_gate_and_chain_order(tmp_path, monkeypatch):
    (tmp_path / "my_gates.py").write_text(
        "class Pipes:\n"
        "    def __init__(self, max_pipes=3):\n"
        "        self.max_pipes = max_pipes\n"
        "    def check(self, text, meta):\n"
        "        n = text.count('|')\n"
        "        return f'{n} pipes > {self.max_pipes}' if n > self.max_pipes else None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = CurateConfig.model_validate(
        {"inputs": ["a.jsonl"], "gates": [{"name": "tables", "python": "my_gates:Pipes", "options": {"max_pipes": 1}}]}
    )
    names = [b.name for b in build_blocks(cfg)]
    assert names.index("time") < names.index("gates") < names.index("pii")
    block = UserGatesBlock(cfg.gates)
    assert _drop(block, "a | b | c").detail == "2 pipes > 1"
    assert isinstance(block.apply(Document("k", "a | b")), Document)
    with pytest.raises(ValidationError, match=r"does not take options \['maxpipes'\]"):
        CurateConfig.model_validate(
            {"inputs": ["a.jsonl"], "gates": [{"name": "t", "python": "my_gates:Pipes", "options": {"maxpipes": 1}}]}
        )
    sys.modules.pop("my_gates", None)


@pytest.mark.parametrize(
    ("gate", "where", "message"),
    [
        (
            {"name": "x", "python": "no_such_module_xyz:Gate"},
            "curate.gates[0]",
            "cannot import 'no_such_module_xyz:Gate': No module named 'no_such_module_xyz'",
        ),
        ({"name": "x", "python": "json:JSONDecodeError"}, "curate.gates[0]", "is not a class with a check(text, meta)"),
        ({"name": "x", "python": "json"}, "curate.gates[0]", "must look like 'package.module:ClassName'"),
        (
            {"name": "x", "drop_if": {"any": [{"contains": "a"}, {"regex": "(bad"}]}},
            "curate.gates[0].drop_if.any[1].regex",
            "invalid regex '(bad'",
        ),
        (
            {"name": "x", "drop_if": {"contains": "a", "regex": "b"}},
            "curate.gates[0].drop_if",
            "a rule needs exactly one of contains, regex, meta, any, all, not (got contains, regex)",
        ),
        ({"name": "x", "drop_if": {"contians": "a"}}, "curate.gates[0].drop_if.contians", "unknown key"),
        ({"name": "x"}, "curate.gates[0]", "needs exactly one of drop_if (YAML rules) or python"),
    ],
)
def test_user_gate_errors_name_their_yaml_path(pipeline_dict, gate, where, message):
    from steep.pipeline.config import ConfigError, validate_pipeline_config

    pipeline_dict["curate"]["gates"] = [gate]
    with pytest.raises(ConfigError) as err:
        validate_pipeline_config(pipeline_dict)
    assert any(path == where and message in text for path, text in err.value.problems), err.value.problems


# ------------------------------------------------------------------------------------ the demo's labels, measured


def test_demo_config_blocks_every_labeled_document_precisely(demo_data):
    """With the demo's curate config, the built-in gates block every restricted and every post-cutoff document of
    the demo lake, and (almost) nothing else. Duplicates carry their original's labels (the generator does that)."""
    curate = yaml.safe_load(DEMO_PIPELINE.read_text())["curate"]
    cfg = CurateConfig.model_validate({**curate, "inputs": [str(demo_data / "lake.jsonl")]})
    gates = [ComplianceGate(cfg.compliance), TimeGate(cfg.time)]
    labels = {r["id"]: r for r in map(json.loads, (demo_data / "labels.jsonl").open())}
    tp = fp = fn = 0
    for line in (demo_data / "lake.jsonl").open():
        row = json.loads(line)
        doc = Document(row["id"], row["text"], row["meta"])
        blocked = any(isinstance(g.apply(doc), Drop) for g in gates)
        labeled = labels[row["id"]]["restricted"] or labels[row["id"]]["post_cutoff"]
        tp, fp, fn = tp + (blocked and labeled), fp + (blocked and not labeled), fn + (labeled and not blocked)
    assert tp >= 5  # the fixture's lake does hold such documents
    assert fn == 0, f"{fn} labeled documents passed the gates"
    assert tp / (tp + fp) >= 0.95
