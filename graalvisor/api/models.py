"""The upload body of ``PUT /functions/{name}``: a function's settings plus its code."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from graalvisor.domain import FunctionConfig


class FunctionUpload(FunctionConfig):
    language: Literal["js", "python", "java"]
    code: str = Field(min_length=1)
    binary: bool = False
