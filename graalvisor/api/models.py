"""The upload body of ``PUT /functions/{name}``: a function's settings plus its code."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from graalvisor.domain import FunctionConfig


class Warmup(BaseModel):
    """Params to compile a JS or Python version with, before its first call (sandboxed guest
    code has no I/O, so the template's calls touch nothing outside it)."""

    params: dict[str, Any] = Field(default_factory=dict)


class FunctionUpload(FunctionConfig):
    language: Literal["js", "python", "java"]
    code: str = Field(min_length=1)
    binary: bool = False
    warmup: Warmup | None = None
