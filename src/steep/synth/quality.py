"""The gates every synthesized row passes, curate's own blocks reused: PII, compliance, decontamination against
the held-out files, exact and near dedup, and an optional judge.

    gates = RowGates(cfg.quality, cfg.answer_format)
    reason = gates.check(kind, row, request)     # None (kept) or Rejected("pii:account", ...)
    gates.stats()                                # per gate: seen, kept, dropped by reason

Order and why:
0. grounding (sft pairs): the share of the answer's content words (4+ letters) that occur in the source
   document must reach `min_grounding`; a model teacher that answers from its own knowledge is caught here (the
   template teacher quotes the document, so it always passes).
1. PII (curate's detectors, `quality.pii`): a teacher can copy a value out of a document (a document curate did
   not redact, a model that invents a realistic card number). Any PII span drops the row; nothing is redacted,
   because a row whose facts were blanked out teaches placeholders.
2. compliance (curate's gate, `quality.compliance`, by default curate's own terms): a restricted project named
   anywhere drops the row, except the one term a tempting prompt was asked to name (that prompt exists so the
   model learns to decline it; any other restricted term in it still drops it).
2b. post-cutoff terms (curate's `time.terms`, as `synth.temptations.post_cutoff_terms`): a model teacher knows
   what happened after the cutoff and may say so; such a row is dropped (`time:term`), except the post-cutoff
   tempting prompt's own term.
3. decontamination (`steep.curate.decontam`): a row that shares one word 13-gram (`quality.ngram`) with a held-out
   file is dropped, so no eval item leaks into training through the teacher. Nothing is ignored as common here:
   these rows are few and every shared n-gram is a real overlap.
4. held-out duplicates (curate's MinHash and LSH): a message that is an exact or near copy (`near_duplicate_threshold`)
   of a held-out item is dropped (`heldout_duplicate`). A dpo prompt is often shorter than 13 words, so no
   n-gram can catch a held-out prompt copied word for word; this does.
5. dedup (curate's MinHash block, per kind): exact, then near duplicates at `near_duplicate_threshold`; last, so
   a row dropped for another reason never blocks a clean one.
The text a gate reads is the row's non-system text (user and assistant turns; a scenario's user turns, persona and
goal): the system prompt is configuration, shared by every row and by the held-out files.
"""

from __future__ import annotations

import re
from pathlib import Path

from steep.artifacts import iter_jsonl
from steep.curate.block import BlockStats
from steep.curate.config import EVAL_TEXT_FIELDS, ComplianceConfig, DecontamConfig, DedupConfig
from steep.curate.decontam import Decontaminator, eval_texts
from steep.curate.dedup import MinHashDedup, text_digest
from steep.curate.document import Document, Drop
from steep.curate.gates import ComplianceGate
from steep.curate.minhash import LshIndex, MinHasher, jaccard
from steep.curate.pii.redact import build_engine
from steep.curate.words import hash_words
from steep.synth.config import SynthQualityConfig
from steep.synth.requests import TeacherRequest
from steep.synth.rows import RECALL_TURN, Rejected


def _content_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]{4,}", text.lower())


def grounding(answer: str, document: str) -> float:
    """Share of `answer`'s content words that occur in `document` (1.0 for an answer without any)."""
    words = _content_words(answer)
    if not words:
        return 1.0
    known = set(_content_words(document))
    return sum(word in known for word in words) / len(words)


class HeldoutCopies:
    """Exact and near copies of held-out texts (each user turn, answer, prompt of the held-out files on its own),
    with curate's MinHash shingles and LSH; a candidate is confirmed on exact shingle Jaccard, as curate's dedup does."""

    name = "heldout_duplicate"

    def __init__(self, files: list[Path], threshold: float, config: DedupConfig | None = None) -> None:
        config = config or DedupConfig(method="minhash")
        self.threshold = threshold
        self.hasher = MinHasher(config.shingle_size, config.num_perm)
        self.index = LshIndex(config.num_perm, config.bands)
        self.digests: dict[bytes, str] = {}
        self.shingles: list = []
        self.where: list[str] = []
        self.stats = BlockStats(self.name)
        for file in files:
            for line, row in iter_jsonl(Path(file)):
                for text in eval_texts(row, EVAL_TEXT_FIELDS) if isinstance(row, dict) else []:
                    self._add(text, f"{file}:{line}")

    def _add(self, text: str, where: str) -> None:
        self.digests.setdefault(text_digest(text), where)
        shingles = self.hasher.shingles(hash_words(text))
        if shingles.size:
            self.index.add(self.index.band_keys(self.hasher.signature(shingles)), len(self.shingles))
            self.shingles.append(shingles)
            self.where.append(where)

    def match(self, text: str) -> Drop | None:
        if (where := self.digests.get(text_digest(text))) is not None:
            return Drop("heldout_duplicate:exact", where)
        shingles = self.hasher.shingles(hash_words(text))
        if not shingles.size:
            return None
        for item in self.index.query(self.index.band_keys(self.hasher.signature(shingles))):
            if (similarity := jaccard(shingles, self.shingles[item])) >= self.threshold:
                return Drop("heldout_duplicate:near", f"{self.where[item]} (Jaccard {similarity:.2f})")
        return None

    def apply(self, doc: Document) -> Document | Drop:
        """`doc.text` holds the row's messages one per line: each is compared on its own. Synth's own fixed recall
        turn and texts under four words ("Thanks.") are not the teacher's and say nothing an eval item owns."""
        for text in doc.text.split("\n\x1e"):
            if text == RECALL_TURN or len(text.split()) < 4:
                continue
            if (drop := self.match(text)) is not None:
                return drop
        return doc


def row_pieces(kind: str, row: dict) -> list[str]:
    """The row's texts one by one: its non-system messages (a scenario: persona, goal and user turns)."""
    if kind == "rs":
        return [text for text in (row.get("persona", ""), row.get("goal", ""), *row["user_turns"]) if text]
    return [m["content"] for m in row["messages"] if m["role"] != "system"]


def row_text(kind: str, row: dict) -> str:
    return "\n".join(row_pieces(kind, row))


class RowGates:
    def __init__(self, cfg: SynthQualityConfig, answer_format: str = "{answer}", post_cutoff_terms: list[str] = ()) -> None:
        self.cfg = cfg
        self.post_cutoff = {term: re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE) for term in post_cutoff_terms}
        self.time_stats = BlockStats("time")
        self.answer_format = answer_format
        self.pii = build_engine(cfg.pii) if cfg.pii.enabled else None
        self.pii_stats = BlockStats("pii")
        self.grounding_stats = BlockStats("grounding")
        self.compliance = ComplianceGate(cfg.compliance or ComplianceConfig())
        self.decontam = (
            Decontaminator(DecontamConfig(eval_files=[str(p) for p in cfg.heldout], ngram=cfg.ngram, ignore_common=None))
            if cfg.heldout else None
        )  # fmt: skip
        self.heldout_copies = HeldoutCopies(cfg.heldout, cfg.near_duplicate_threshold) if cfg.heldout else None
        dedup = DedupConfig(method="minhash", threshold=cfg.near_duplicate_threshold)
        self.dedup = {kind: MinHashDedup(dedup) for kind in ("sft", "dpo", "rs")}

    def check(self, kind: str, row: dict, request: TeacherRequest) -> Rejected | None:
        if kind == "sft" and self.cfg.min_grounding > 0:
            self.grounding_stats.seen += 1
            # the format's own words (a disclaimer, "Source: POL-1234") are not the teacher's claims: count them as known
            frame = self.answer_format.format(answer="", source=request.source)
            share = grounding(row["messages"][-1]["content"], f"{request.doc.text}\n{frame}")
            if share < self.cfg.min_grounding:
                self.grounding_stats.dropped["ungrounded"] += 1
                return Rejected("ungrounded", f"{share:.2f} of the answer's content words are in {request.doc.id}")
            self.grounding_stats.kept += 1
        text = row_text(kind, row)
        doc = Document(id=row.get("id") or row["meta"]["synth_id"], text=text)
        if self.pii is not None:
            spans = self.pii.find(text)
            self.pii_stats.seen += 1
            if spans:
                reason = f"pii:{spans[0].type}"
                self.pii_stats.dropped[reason] += 1
                return Rejected(reason, f"{len(spans)} span(s): {', '.join(sorted({s.type for s in spans}))}")  # never the value
            self.pii_stats.kept += 1
        if self.post_cutoff:
            self.time_stats.seen += 1
            own = request.tempt_term if request.tempts == "post_cutoff" else None
            if found := next((t for t, pattern in self.post_cutoff.items() if t != own and pattern.search(text)), None):
                self.time_stats.dropped["time:term"] += 1
                return Rejected("time:term", found)
            self.time_stats.kept += 1
        gated = doc
        if request.tempts == "restricted_project" and request.tempt_term:
            gated = Document(doc.id, re.sub(re.escape(request.tempt_term), " ", text, flags=re.IGNORECASE))
        pieces = Document(doc.id, "\n\x1e".join(row_pieces(kind, row)))
        checks = ((self.compliance, gated), (self.decontam, doc), (self.heldout_copies, pieces), (self.dedup[kind], doc))
        for block, candidate in checks:
            if block is None:
                continue
            out = block.apply(candidate)
            block.stats.seen += 1
            if isinstance(out, Drop):
                block.stats.dropped[out.reason] += 1
                return Rejected(out.reason, out.detail)
            block.stats.kept += 1
        return None

    def stats(self) -> dict:
        blocks = [self.grounding_stats, self.pii_stats, self.compliance.stats, self.time_stats] + ([self.decontam.stats] if self.decontam else [])
        blocks += ([self.heldout_copies.stats] if self.heldout_copies else []) + [block.stats for block in self.dedup.values()]
        merged: dict[str, dict] = {}
        for stats in blocks:
            entry = merged.setdefault(stats.name, {"seen": 0, "kept": 0, "dropped": {}})
            entry["seen"] += stats.seen
            entry["kept"] += stats.kept
            for reason, n in stats.dropped.items():
                entry["dropped"][reason] = entry["dropped"].get(reason, 0) + n
        return merged


def judge_filter(judge, rows: list[dict], min_score: float) -> list[tuple[dict, float, Rejected | None]]:
    """Each sft row with its judge score and a rejection when the score is below `min_score`. The judge reads the
    prompt (every message but the answer) and the answer, as it would in dpo."""
    verdicts = judge.judge_batch([r["messages"][:-1] for r in rows], [r["messages"][-1]["content"] for r in rows])
    return [
        (row, verdict.score, Rejected("judge", f"score {verdict.score:.3f} < {min_score}") if verdict.score < min_score else None)
        for row, verdict in zip(rows, verdicts)
    ]
