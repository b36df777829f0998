"""Batched chat generation with transformers: the engine behind sampling in dpo/rs, held-out tasks, and the server.

    engine = HFChatGenerator(model, tokenizer, device="cpu")
    replies = engine.generate_chat(conversations, GenerationConfig(...), seed=0)      # one reply each
    groups = engine.sample(conversations, k=4, generation=GenerationConfig(...), seed=0)  # k replies each

Prompts are rendered with the model's own chat template (`add_generation_prompt=True`), sorted by length so a
batch pads little, left-padded so every row ends at the same position, and generation stops at the model's
end-of-turn tokens. `sample` computes each prompt's prefill once and shares its KV cache among the prompt's k
samples: with 486-token prompts and 128 new tokens, plain `generate` on k copies of a prompt spends k prefills
of 486 tokens for 128 decode steps; here one. Decoding is `steep.generate.decode` (a static cache by default;
on CUDA a compiled decode step; rows leave the batch when they stop), sampling `steep.generate.nucleus`
(`bench/gen.py` measures it against plain `generate`). The OpenAI-compatible engine (`steep.generate.openai_engine`) has
the same two methods, so dpo and rs sample from a vLLM server the same way.
"""

from __future__ import annotations

import inspect
from dataclasses import replace

import torch

from steep.generate.config import GenerationConfig
from steep.generate.decode import DecodePlan, decode, static_supported
from steep.generate.reply import GeneratedText
from steep.model.template import end_of_turn_ids

__all__ = ["GeneratedText", "HFChatGenerator"]


class HFChatGenerator:
    """`cache` and `compile` as in `HFEngineConfig`: "auto" gives a static cache wherever the model's layers allow
    one (full attention), and a compiled decode step on CUDA only."""

    def __init__(self, model, tokenizer, device: str, cache: str = "auto", compile: str = "auto"):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.stop_ids = end_of_turn_ids(tokenizer, model)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        base = getattr(model, "get_base_model", lambda: model)()
        parameters = inspect.signature(base.forward).parameters
        on_cuda = str(device).startswith("cuda")
        if compile == "on" and cache == "dynamic":
            raise ValueError("compile: on needs a static cache")
        # static on a CPU too: no per-step copy of the cache (bench/gen_results.md: 2.55x plain vs 2.24x dynamic)
        static = cache == "static" or (cache == "auto" and static_supported(model))
        compiled = compile == "on" or (compile == "auto" and on_cuda and static)
        self._step = self._compiled_step(base, on_cuda) if compiled else None
        self._static_pool: dict = {}
        self.plan = DecodePlan(
            max_new_tokens=1, stop_ids=self.stop_ids, pad_id=self.pad_id, temperature=0.0, top_p=1.0,
            cache="static" if static or compiled else "dynamic",
            # transformers 5.x renames `past_key_values` to `cache` (the old name warns, and goes in 5.40/6.0)
            cache_keyword="cache" if "cache" in parameters else "past_key_values",
            last_logits_only="logits_to_keep" in parameters,
            # the exact top-p shortcut costs a host sync a step: worth it on a CPU (a full sort there costs ~40% of
            # a 135M model's step), not on a GPU, where the sort is cheap and a sync stalls the queue
            candidates=None if on_cuda else 64,
            # compiled graphs are specialised to the cache length: round it up so batches share a graph
            length_bucket=128 if compiled else 1,
            check_every=8 if on_cuda else 1,
            drop_finished=not compiled,
        )  # fmt: skip

    @staticmethod
    def _compiled_step(base, on_cuda: bool):
        """The model's call compiled the way `generate` compiles it (`get_compiled_call`): CUDA graphs on a GPU
        ("reduce-overhead"); on a CPU (tests) plain inductor."""
        from transformers import CompileConfig

        return base.get_compiled_call(CompileConfig(mode="reduce-overhead" if on_cuda else "default"))

    def render(self, messages: list[dict], prefix: str | None = None) -> list[int]:
        """Prompt token ids: the conversation in the model's template, ready for the assistant's reply; `prefix`,
        when given, is the start of that reply (the model continues it)."""
        rendered = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.tokenizer(rendered + (prefix or ""), add_special_tokens=False)["input_ids"]

    def generate_chat(
        self, conversations: list[list[dict]], generation: GenerationConfig, seed: int | None = None, prefixes: list[str | None] | None = None
    ) -> list[GeneratedText]:
        """One assistant reply per conversation, in input order. `prefixes[i]`, when set, starts reply i: the text
        returned is what the model wrote after it."""
        return [group[0] for group in self.sample(conversations, 1, generation, seed=seed, prefixes=prefixes)]

    @torch.no_grad()
    def generate_ids(self, prompts: list[list[int]], generation: GenerationConfig) -> list[GeneratedText]:
        """One reply per prompt given as token ids (already rendered), in input order, `batch_size` a batch:
        what the server's batching queue calls with the prompts it grouped."""
        was_training = self.model.training
        self.model.eval()
        results: list[GeneratedText] = []
        for begin in range(0, len(prompts), generation.batch_size):
            results += self._generate_batch(prompts[begin : begin + generation.batch_size], 1, generation)
        if was_training:
            self.model.train()
        return results

    @torch.no_grad()
    def sample(
        self, conversations: list[list[dict]], k: int, generation: GenerationConfig, seed: int | None = None, prefixes: list[str | None] | None = None
    ) -> list[list[GeneratedText]]:
        """`k` replies per conversation, grouped: result[i] holds conversation i's k replies.

        Prompts go shortest first, `generation.batch_size // k` prompts (so about `batch_size` rows) a batch."""
        was_training = self.model.training
        self.model.eval()
        if seed is not None:
            torch.manual_seed(seed)
        prefixes = prefixes or [None] * len(conversations)
        prompts = [self.render(messages, prefix) for messages, prefix in zip(conversations, prefixes)]
        order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), i))
        per_batch = max(1, generation.batch_size // k)
        results: list[list[GeneratedText]] = [[] for _ in prompts]
        for begin in range(0, len(order), per_batch):
            batch = order[begin : begin + per_batch]
            replies = self._generate_batch([prompts[i] for i in batch], k, generation)
            for slot, index in enumerate(batch):
                results[index] = replies[slot * k : (slot + 1) * k]
        if was_training:
            self.model.train()
        return results

    def _generate_batch(self, prompts: list[list[int]], k: int, generation: GenerationConfig) -> list[GeneratedText]:
        """k replies for each of `prompts` (token ids), flat: prompt 0's k replies, then prompt 1's, ..."""
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            input_ids[row, width - len(prompt) :] = torch.tensor(prompt)
            attention_mask[row, width - len(prompt) :] = 1
        input_ids, attention_mask = input_ids.to(self.device), attention_mask.to(self.device)
        plan = replace(self.plan, max_new_tokens=generation.max_new_tokens, temperature=generation.temperature, top_p=generation.top_p)
        pool = self._static_pool if self._step is not None else None
        output = decode(self.model, input_ids, attention_mask, k, plan, step=self._step, static_pool=pool).tolist()
        results = []
        for row, new_tokens in enumerate(output):
            prompt = prompts[row // k]
            finish = "length"
            for index, token in enumerate(new_tokens):
                if token in self.stop_ids:
                    new_tokens = new_tokens[:index]
                    finish = "stop"
                    break
            text = self.tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
            results.append(GeneratedText(text=text, prompt_tokens=len(prompt), completion_tokens=len(new_tokens), finish_reason=finish))
        return results
