"""The base of every config model: closed option sets, so a typo in a YAML key fails loudly.

Each component owns a small typed config built on `StrictModel`; `steep.config` composes them into the
pipeline schema. Nothing here imports torch, so validating a YAML stays fast.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A pydantic model that rejects unknown keys and is immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
