"""How to sample (`GenerationConfig`, read by every engine) and where (`EngineConfig`: in process or an
OpenAI-compatible server). Torch-free, so stage schemas can hold them."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from steep.schema import StrictModel


class GenerationConfig(StrictModel):
    max_new_tokens: int = Field(64, ge=1)
    temperature: float = Field(1.0, ge=0, description="0 = greedy")
    top_p: float = Field(1.0, gt=0, le=1)
    batch_size: int = Field(16, ge=1)


class HFEngineConfig(StrictModel):
    """Sample in this process with transformers (`steep.generate.hf`): the model being trained, as it is now."""

    kind: Literal["hf"] = "hf"
    cache: Literal["auto", "dynamic", "static"] = Field(
        "auto", description="KV cache: static = preallocated, written in place (needed by compile); auto = static where the model's layers allow it"
    )
    compile: Literal["auto", "off", "on"] = Field(
        "auto", description="torch.compile the decode step (static cache); auto = on CUDA only (on a CPU it compiles for tens of seconds, not measured to pay off)"
    )

    @model_validator(mode="after")
    def _compile_needs_a_static_cache(self) -> HFEngineConfig:
        if self.compile == "on" and self.cache == "dynamic":
            raise ValueError("compile: on needs cache: static or auto (a dynamic cache changes shape every step)")
        return self


class OpenAIEngineConfig(StrictModel):
    """Sample from an OpenAI-compatible server (vLLM, SGLang, ...; `steep.generate.openai_engine`).

    The server must serve the stage's *input* model under `model`. For a later round's policy the engine loads the
    round's LoRA adapter through vLLM's dynamic LoRA endpoint (`POST {base_url}/load_lora_adapter`; start vLLM
    with `--enable-lora` and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True) and samples from it by name. The adapter
    directory must be readable by the server at the same path. vLLM loads plain LoRA only (no DoRA, no
    `modules_to_save`)."""

    kind: Literal["openai"] = "openai"
    base_url: str = Field(min_length=1, description="e.g. http://127.0.0.1:8000/v1")
    model: str = Field(min_length=1, description="the served name of the stage's input model")
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_s: float = Field(300.0, gt=0)
    max_retries: int = Field(5, ge=0)
    backoff_base_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    concurrency: int = Field(16, ge=1, description="requests in flight")


EngineConfig = Annotated[Union[HFEngineConfig, OpenAIEngineConfig], Field(discriminator="kind")]
