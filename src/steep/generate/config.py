"""How to sample: the generation config every engine reads. Torch-free, so stage schemas can hold it."""

from __future__ import annotations

from pydantic import Field

from steep.schema import StrictModel


class GenerationConfig(StrictModel):
    max_new_tokens: int = Field(64, ge=1)
    temperature: float = Field(1.0, ge=0, description="0 = greedy")
    top_p: float = Field(1.0, gt=0, le=1)
    batch_size: int = Field(16, ge=1)
