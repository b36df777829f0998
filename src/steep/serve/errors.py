"""OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}`, for every error the server sends.

    raise OpenAIError(400, "max_tokens=9000 exceeds this server's limit of 512", param="max_tokens")

Validation errors are 400 (as OpenAI sends), not FastAPI's 422; `param` is the field's path (`messages[0].role`).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class OpenAIError(Exception):
    """An error to send in OpenAI's shape. Raised anywhere in a request; turned into JSON by a handler."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status_code, headers=self.headers)


def _param_path(loc: tuple[Any, ...]) -> str | None:
    """("messages", 0, "role") -> "messages[0].role"; pydantic's "body" prefix (FastAPI) dropped."""
    path = ""
    for part in loc:
        if part == "body" and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


def _validation_error(errors: list[dict[str, Any]]) -> OpenAIError:
    messages = []
    for err in errors:
        param = _param_path(tuple(err.get("loc", ())))
        text = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        messages.append(f"{param}: {text}" if param else text)
    first_param = _param_path(tuple(errors[0].get("loc", ()))) if errors else None
    return OpenAIError(400, "; ".join(messages) or "invalid request", param=first_param)
