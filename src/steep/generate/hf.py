"""Batched chat generation with transformers: the engine behind sampling in dpo/rs, held-out tasks, and the server.

Prompts are rendered with the model's own chat template (`add_generation_prompt=True`), left-padded so every row
ends at the same position, and generation stops at the end-of-turn token. vLLM and a static-cache/compiled path
plug in behind the same `generate_chat` signature in a later issue.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from steep.generate.config import GenerationConfig
from steep.model.template import end_of_turn_ids


@dataclass
class GeneratedText:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" | "length"


class HFChatGenerator:
    def __init__(self, model, tokenizer, device: str):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.stop_ids = end_of_turn_ids(tokenizer, model)

    def render(self, messages: list[dict]) -> list[int]:
        rendered = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.tokenizer(rendered, add_special_tokens=False)["input_ids"]

    @torch.no_grad()
    def generate_chat(self, conversations: list[list[dict]], generation: GenerationConfig, seed: int | None = None) -> list[GeneratedText]:
        """One assistant reply per conversation, batched `generation.batch_size` at a time."""
        was_training = self.model.training
        self.model.eval()
        if seed is not None:
            torch.manual_seed(seed)
        results: list[GeneratedText] = []
        for begin in range(0, len(conversations), generation.batch_size):
            results.extend(self._generate_batch(conversations[begin : begin + generation.batch_size], generation))
        if was_training:
            self.model.train()
        return results

    def sample(self, conversations: list[list[dict]], k: int, generation: GenerationConfig, seed: int | None = None) -> list[list[GeneratedText]]:
        """`k` replies per conversation, grouped: result[i] holds conversation i's k replies."""
        flat = self.generate_chat([c for c in conversations for _ in range(k)], generation, seed=seed)
        return [flat[i * k : (i + 1) * k] for i in range(len(conversations))]

    def _generate_batch(self, conversations: list[list[dict]], generation: GenerationConfig) -> list[GeneratedText]:
        prompts = [self.render(messages) for messages in conversations]
        width = max(len(p) for p in prompts)
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.stop_ids[0]
        input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            input_ids[row, width - len(prompt) :] = torch.tensor(prompt)
            attention_mask[row, width - len(prompt) :] = 1
        sampling = generation.temperature > 0
        output = self.model.generate(
            input_ids=input_ids.to(self.device),
            attention_mask=attention_mask.to(self.device),
            max_new_tokens=generation.max_new_tokens,
            do_sample=sampling,
            temperature=generation.temperature if sampling else None,
            top_p=generation.top_p if sampling else None,
            top_k=None,
            eos_token_id=self.stop_ids,
            pad_token_id=pad_id,
        )
        results = []
        for row, prompt in enumerate(prompts):
            new_tokens = output[row, width:].tolist()
            finish = "length"
            for index, token in enumerate(new_tokens):
                if token in self.stop_ids:
                    new_tokens = new_tokens[:index]
                    finish = "stop"
                    break
            text = self.tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
            results.append(GeneratedText(text=text, prompt_tokens=len(prompt), completion_tokens=len(new_tokens), finish_reason=finish))
        return results
