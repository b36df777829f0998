"""Judges score assistant answers: `Verdict` and the `Judge` protocol in `base`, the one door in `factory`
(`JudgeConfig`, `build_judge`, `build_training_judge`), and five kinds behind it, each pointwise (`judge`,
`judge_batch`, `judge_conversation`) and pairwise (`compare`, `compare_batch`):

- `rules` (`rules`): business rules as code, `no_pii` among them (curate's PII/secret detectors);
- `openai` (`http_judge`): any OpenAI-compatible endpoint (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs),
  with retries, pairwise questions asked in both orders, and an on-disk verdict cache (`verdict_cache`);
- `hf_local` (`local_model`): a local causal LM, scored by the probabilities of its answer labels, batched;
- `reward_model` (`reward_model`): a local sequence-classification reward model, Bradley-Terry pairwise;
- `ensemble` (`ensemble`): rules as a hard gate, then weighted members of any kind.

Model judges need `terms` before a stage trains on their verdicts (`terms`). The `openai` judge's YAML (the other
kinds' modules show theirs):

    judge:
      kind: openai                         # without `kind`, a judge config is a rules judge
      base_url: http://127.0.0.1:8000/v1   # POST {base_url}/chat/completions
      model: Qwen2.5-72B-Instruct
      api_key_env: JUDGE_API_KEY           # name of the env var with the key; the key never goes in YAML
      criteria: "Cites a policy id; under 60 words."
      rubric: rubric.yaml                  # or inline {pointwise: "...", pairwise: "..."}; defaults ship
                                           # placeholders: {conversation} {answer} {answer_a} {answer_b} {criteria}
      max_tokens: 64                       # temperature: 0 by default
      timeout_s: 60
      max_retries: 5                       # 429 / 5xx / timeout / connection error; then JudgeUnavailable
      backoff_base_s: 0.5
      backoff_max_s: 30
      concurrency: 8                       # requests in flight
      price: {prompt_per_1k: 0.0, completion_per_1k: 0.0}   # USD per 1k tokens -> usage.cost_usd
      cache_dir: null                      # a directory: a rerun pays for nothing twice
      terms: {allows_training_on_outputs: true, source: "the model's license, section ..."}

Pure Python: importing this package never imports torch.
"""

from steep.judge.base import (
    Comparison,
    Judge,
    JudgeUsage,
    PointwiseJudge,
    PreferencePair,
    Verdict,
    compare_by_scores,
    pair_from_verdicts,
    rank_verdicts,
)
from steep.judge.ensemble import EnsembleJudge, EnsembleJudgeConfig
from steep.judge.factory import JUDGE_KINDS, JudgeConfig, build_judge, build_training_judge, needs_training_terms
from steep.judge.http_judge import JudgeRequestError, JudgeUnavailable, OpenAIJudge, OpenAIJudgeConfig
from steep.judge.local_model import LocalModelJudge, LocalModelJudgeConfig
from steep.judge.reward_model import RewardModelJudge, RewardModelJudgeConfig
from steep.judge.rules import RULE_KINDS, Rule, RulesJudge, RulesJudgeConfig
from steep.judge.terms import JudgeTerms, TermsRefused

__all__ = [
    "Comparison",
    "EnsembleJudge",
    "EnsembleJudgeConfig",
    "JUDGE_KINDS",
    "Judge",
    "JudgeRequestError",
    "JudgeTerms",
    "JudgeUnavailable",
    "JudgeUsage",
    "LocalModelJudge",
    "LocalModelJudgeConfig",
    "OpenAIJudge",
    "OpenAIJudgeConfig",
    "PointwiseJudge",
    "JudgeConfig",
    "PreferencePair",
    "RULE_KINDS",
    "RewardModelJudge",
    "RewardModelJudgeConfig",
    "Rule",
    "RulesJudge",
    "RulesJudgeConfig",
    "TermsRefused",
    "Verdict",
    "build_judge",
    "build_training_judge",
    "compare_by_scores",
    "needs_training_terms",
    "pair_from_verdicts",
    "rank_verdicts",
]
