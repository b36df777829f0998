"""What every engine returns for one generated reply. Torch-free."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GeneratedText:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" | "length"
