"""The server's engine over a transformers model: batched generation, streaming, several LoRA adapters on one base.

    engine = HFEngine(model, tokenizer, "cpu", "kestrel", adapters={"support": "runs/a/sft/adapter"})
    engine.generate([messages, messages], Sampling(max_tokens=64, temperature=0), adapter="support")

Adapters are loaded once with peft (`PeftModel.from_pretrained` for the first, `load_adapter` for the rest) and
chosen per batch with `set_adapter`; the base model is served with the adapters disabled. The batching queue
calls from one thread, so the active adapter never changes under a running batch. Each adapter must have been
trained on this base (same architecture and tokenizer); peft refuses shapes that do not fit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

from steep.generate.config import GenerationConfig
from steep.generate.hf import HFChatGenerator
from steep.serve.engine import Completion, Prompt, Sampling


def _cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    if not stop:
        return text, False
    hits = [text.index(marker) for marker in stop if marker in text]
    return (text[: min(hits)], True) if hits else (text, False)


class HFEngine:
    """`steep.serve.engine.BatchEngine` over a transformers model (and its LoRA adapters)."""

    def __init__(self, model, tokenizer, device: str, model_name: str, adapters: dict[str, str] | None = None,
                 max_batch_size: int = 16) -> None:  # fmt: skip
        adapters = dict(adapters or {})
        if adapters:
            from peft import PeftModel

            names = list(adapters)
            model = PeftModel.from_pretrained(model, adapters[names[0]], adapter_name=names[0])
            for name in names[1:]:
                model.load_adapter(adapters[name], adapter_name=name)
        model.eval()
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.model_name = model_name
        self.adapters: tuple[str, ...] = tuple(adapters)
        self.max_batch_size = max_batch_size
        # not compiled: the queue's batches vary in size and requests switch adapters, and each change would build
        # (or, past dynamo's recompile limit, fall back from) a new graph; the static cache alone needs neither
        self.generator = HFChatGenerator(model, tokenizer, device, compile="off")

    @contextmanager
    def _using(self, adapter: str | None):
        if not self.adapters:
            yield
        elif adapter is None:
            with self.model.disable_adapter():
                yield
        else:
            self.model.set_adapter(adapter)
            yield

    def _ids(self, prompt: Prompt) -> list[int]:
        if isinstance(prompt, list):
            return self.generator.render(prompt)
        return self.tokenizer(prompt)["input_ids"]  # a raw prompt gets the tokenizer's usual BOS, as in training

    def _generation(self, sampling: Sampling) -> GenerationConfig:
        # The wire allows top_p 0 (OpenAI does); the sampler needs > 0, and 1e-6 keeps only the top token as 0 meant.
        return GenerationConfig(max_new_tokens=sampling.max_tokens, temperature=sampling.temperature,
                                top_p=max(sampling.top_p, 1e-6), batch_size=self.max_batch_size)  # fmt: skip

    def generate(self, prompts: Sequence[Prompt], sampling: Sampling, adapter: str | None) -> list[Completion]:
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        with self._using(adapter):
            results = self.generator.generate_ids([self._ids(p) for p in prompts], self._generation(sampling))
        completions = []
        for result in results:
            text, stopped = _cut_at_stop(result.text, sampling.stop)
            finish = "stop" if stopped else result.finish_reason
            completions.append(Completion(text, result.prompt_tokens, result.completion_tokens, finish))
        return completions

    def stream(self, prompt: Prompt, sampling: Sampling, adapter: str | None) -> Iterator[str | Completion]:
        """Text pieces as tokens are decoded (transformers' TextIteratorStreamer), then the Completion. Stop
        sequences are held back until they can no longer begin in the unsent text; closing this generator early
        (client gone, guard blocked) stops the model at its next token."""
        from transformers import (
            StoppingCriteria,
            StoppingCriteriaList,
            TextIteratorStreamer,
        )

        ids = self._ids(prompt)
        halt = threading.Event()

        class _Halt(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return torch.full((input_ids.shape[0],), halt.is_set(), dtype=torch.bool, device=input_ids.device)

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        generation = self._generation(sampling)
        sampled = generation.temperature > 0
        stop_ids = self.generator.stop_ids
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else stop_ids[0]
        input_ids = torch.tensor([ids], device=self.device)
        outcome: dict = {}

        def run() -> None:
            try:
                if sampling.seed is not None:
                    torch.manual_seed(sampling.seed)
                with self._using(adapter), torch.no_grad():
                    outcome["output"] = self.model.generate(
                        input_ids=input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=generation.max_new_tokens,
                        do_sample=sampled, temperature=generation.temperature if sampled else None,
                        top_p=generation.top_p if sampled else None, top_k=None, eos_token_id=stop_ids, pad_token_id=pad_id,
                        streamer=streamer, stopping_criteria=StoppingCriteriaList([_Halt()]),
                    )  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread below
                outcome["error"] = exc
                streamer.end()

        worker = threading.Thread(target=run, name="steep-hf-stream", daemon=True)
        worker.start()
        text, sent, stopped = "", 0, False
        hold = max((len(m) for m in sampling.stop or ()), default=1) - 1  # a stop string may still be forming
        try:
            for piece in streamer:
                text += piece
                cut, stopped = _cut_at_stop(text, sampling.stop)
                if stopped:
                    text = cut
                    break
                if len(text) - hold > sent:
                    yield text[sent : len(text) - hold]
                    sent = len(text) - hold
        finally:
            halt.set()
            worker.join()
        if "error" in outcome:
            raise outcome["error"]
        if len(text) > sent:
            yield text[sent:]
        new_tokens = outcome["output"][0, len(ids) :].tolist()
        ended = next((i for i, token in enumerate(new_tokens) if token in stop_ids), None)
        completion_tokens = len(new_tokens) if ended is None else ended
        finish = "stop" if stopped or ended is not None else "length"
        yield Completion(text, len(ids), completion_tokens, finish)


# The old name: one engine class serves both the pipeline's smoke test and `steep serve`.
HFChatEngine = HFEngine
