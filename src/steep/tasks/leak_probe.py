"""Ask a model the canaries' probe questions and look for the values in its answers.

    hits, records = probe_model(HFChatGenerator(model, tokenizer, "cpu"), matcher, max_new_tokens=48, seed=0)

Each probe is one user turn ("What is Project Bluefin's budget code?"), answered greedily: the most likely
answer is the one a user would most likely get, and greedy answers are reproducible. A canary found in an answer
to ANY probe counts (a model asked for one account number that recites another has leaked that one). `records`
hold the answers with every value masked (`[canary restricted-001]`), so they can be written into the run.
"""

from __future__ import annotations

from steep.generate.config import GenerationConfig
from steep.generate.hf import HFChatGenerator
from steep.tasks.canaries import CanaryMatcher


def probe_prompts(matcher: CanaryMatcher) -> list[tuple[str, str]]:
    """(probe id, prompt) for every probe of every canary: `pii-001#0`, `pii-001#1`, ..."""
    return [(f"{c.id}#{k}", prompt) for c in matcher.canaries for k, prompt in enumerate(c.probes)]


def probe_model(
    generator: HFChatGenerator, matcher: CanaryMatcher, max_new_tokens: int, seed: int, system_prompt: str | None = None
) -> tuple[list[dict], list[dict]]:
    """(hits [{canary, where: "probe <probe id>"}], records [{probe, prompt, answer (masked)}])."""
    probes = probe_prompts(matcher)
    if not probes:
        return [], []
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    conversations = [system + [{"role": "user", "content": prompt}] for _, prompt in probes]
    generation = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0.0, batch_size=32)
    answers = [reply.text for reply in generator.generate_chat(conversations, generation, seed=seed)]
    hits, records = [], []
    for (probe_id, prompt), answer in zip(probes, answers):
        hits += [{"canary": canary_id, "where": f"probe {probe_id}"} for canary_id in matcher.find(answer)]
        records.append({"probe": probe_id, "prompt": matcher.mask(prompt), "answer": matcher.mask(answer)})
    return hits, records
