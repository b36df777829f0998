"""Chat messages as steep passes them around: OpenAI-style `{"role": ..., "content": ...}` dicts.

    message_text({"role": "user", "content": [{"type": "text", "text": "Hi"}]})   # 'Hi'

One helper turns a message's content into text, whatever shape a client sent (a string, OpenAI content parts,
or None), so the judge, the user simulator and the server's guard all read a message the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Message = dict[str, Any]


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message: its string content, or its text parts joined with newlines, or '' for None.

    Parts are joined with a newline, not glued: "Project" + "Falcon" in two parts must not read as one word,
    and a term split across parts must still read as two words to a rule or a guard. Non-text parts (images,
    audio) carry no text to check."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    return str(content)
