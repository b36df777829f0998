"""The teacher behind synth, behind an on-disk cache: a rerun never pays for the same reply twice.

    teacher = build_teacher(cfg.teacher, cache_dir=run_dir / "cache" / "synth", seed=0)
    replies = teacher.reply(requests)     # one text per request, in order
    teacher.calls, teacher.cached         # requests the backend answered now / answers read from the cache

Backends: `template` (`steep.synth.template_teacher`, offline), `hf_local` (a local causal LM through
`steep.generate.hf.HFChatGenerator`, loaded on first use) and `openai` (any OpenAI-compatible endpoint through
`steep.generate.openai_engine`, with `steep.http_retry`'s retries). The cache is `steep.judge.verdict_cache`'s
JSONL store (model teachers only: the template teacher costs nothing), keyed by the teacher's identity (backend, model, sampling settings), the prompt template id, the
request's variant and the rendered prompt; replies are appended as each batch returns, so a teacher that dies
mid-run keeps what it already wrote.
"""

from __future__ import annotations

import logging
from pathlib import Path

from steep.judge.verdict_cache import VerdictCache, cache_key
from steep.synth.config import HFTeacherConfig, OpenAITeacherConfig, TemplateTeacherConfig
from steep.synth.requests import TeacherRequest
from steep.synth.template_teacher import IDENTITY as TEMPLATE_IDENTITY
from steep.synth.template_teacher import template_reply


class TemplateBackend:
    identity = TEMPLATE_IDENTITY
    batch_size = 256
    # free and deterministic: caching it would only serve replies of an older version of the templates
    cacheable = False

    def answer(self, requests: list[TeacherRequest]) -> list[str]:
        return [template_reply(r) for r in requests]


class HFBackend:
    """A local model; loaded on the first request, so a fully cached rerun never loads it."""

    cacheable = True

    def __init__(self, config: HFTeacherConfig, seed: int) -> None:
        self.config = config
        self.seed = seed
        from steep.artifacts import hash_path

        # the weights' hash, not the path: a model replaced in place must not be answered from the old one's cache
        self.identity = f"hf_local:{hash_path(Path(config.path))[:16]}:{config.generation.model_dump_json()}"
        self.batch_size = config.generation.batch_size
        self._engine = None

    def answer(self, requests: list[TeacherRequest]) -> list[str]:
        if self._engine is None:
            from steep.generate.hf import HFChatGenerator
            from steep.model.load import load_model, load_tokenizer, resolve_device

            device = resolve_device(self.config.device)
            model = load_model(str(self.config.path), device, self.config.dtype)
            self._engine = HFChatGenerator(model, load_tokenizer(str(self.config.path)), device)
        replies = self._engine.generate_chat([r.messages for r in requests], self.config.generation, seed=self.seed)
        return [reply.text for reply in replies]


class OpenAIBackend:
    cacheable = True

    def __init__(self, config: OpenAITeacherConfig, seed: int) -> None:
        from steep.generate.config import OpenAIEngineConfig
        from steep.generate.openai_engine import OpenAIChatGenerator

        self.config = config
        self.seed = seed
        self.identity = f"openai:{config.base_url.rstrip('/')}:{config.model}:{config.generation.model_dump_json()}"
        self.batch_size = max(config.concurrency * 4, 1)
        fields = ("base_url", "model", "api_key_env", "timeout_s", "max_retries", "backoff_base_s", "backoff_max_s", "concurrency")
        self._engine = OpenAIChatGenerator(OpenAIEngineConfig(**{name: getattr(config, name) for name in fields}))

    def answer(self, requests: list[TeacherRequest]) -> list[str]:
        return [reply.text for reply in self._engine.generate_chat([r.messages for r in requests], self.config.generation, seed=self.seed)]


class CachedTeacher:
    """Asks the backend only for what the cache does not hold; counts both."""

    def __init__(self, backend, cache_dir: Path, log: logging.Logger | None = None) -> None:
        self.backend = backend
        self.identity = backend.identity
        self.cache = VerdictCache(cache_dir) if backend.cacheable else None
        self.log = log or logging.getLogger(__name__)
        self.calls = 0
        self.cached = 0

    def key(self, request: TeacherRequest) -> str:
        return cache_key(self.identity, request.template_id, request.variant, request.messages)

    def reply(self, requests: list[TeacherRequest]) -> list[str]:
        if self.cache is None:
            self.calls += len(requests)
            return self.backend.answer(requests)
        keys = [self.key(r) for r in requests]
        missing = [i for i, key in enumerate(keys) if self.cache.get(key) is None]
        self.cached += len(requests) - len(missing)
        step = max(1, self.backend.batch_size)
        for begin in range(0, len(missing), step):
            batch = missing[begin : begin + step]
            texts = self.backend.answer([requests[i] for i in batch])
            self.calls += len(batch)
            for i, text in zip(batch, texts):
                self.cache.put(keys[i], {"text": text})
            self.log.info(f"teacher {self.identity.split(':', 1)[0]}: {begin + len(batch)}/{len(missing)} replies written")
        return [self.cache.get(key)["text"] for key in keys]


def build_teacher(config, *, cache_dir: Path, seed: int = 0, log: logging.Logger | None = None) -> CachedTeacher:
    if isinstance(config, TemplateTeacherConfig):
        backend = TemplateBackend()
    elif isinstance(config, HFTeacherConfig):
        backend = HFBackend(config, seed)
    elif isinstance(config, OpenAITeacherConfig):
        backend = OpenAIBackend(config, seed)
    else:  # pragma: no cover - the config union is closed
        raise ValueError(f"unknown teacher kind {getattr(config, 'kind', config)!r}")
    return CachedTeacher(backend, cache_dir, log)
