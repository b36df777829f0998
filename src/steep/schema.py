"""The base of every config model: closed option sets, so a typo in a YAML key fails loudly.

Each component owns a small typed config built on `StrictModel`; `steep.pipeline.config` composes them into the
pipeline schema. Nothing here imports torch, so validating a YAML stays fast.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A pydantic model that rejects unknown keys and is immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def check_regex(pattern: str) -> str:
    """A Python `re` pattern that compiles, or a ValueError that quotes it (pydantic adds the YAML path)."""
    try:
        re.compile(pattern)
    except re.error as err:
        # quoted as the user wrote it in YAML (repr would double every backslash)
        raise ValueError(f"invalid regex '{pattern}': {err}") from None
    return pattern


Regex = Annotated[str, AfterValidator(check_regex)]


def _must_exist(path: Path) -> Path:
    if not Path(path).exists():
        raise ValueError(f"file not found: {path}")
    return path


# A path the user names in a YAML that must be there before any work starts (reported with its YAML path).
ExistingPath = Annotated[Path, AfterValidator(_must_exist)]
