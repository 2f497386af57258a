"""The upload body of ``PUT /functions/{name}`` and its checks."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class FunctionConfig(BaseModel):
    entrypoint: str = Field("main", min_length=1, max_length=256)
    timeout_ms: int = Field(60_000, ge=1, le=15 * 60_000)
    memory_mb: int = Field(256, ge=16, le=16_384)
    concurrency: int = Field(64, ge=1, le=10_000)
    isolation: Literal["instance", "invocation"] = "instance"
    env: dict[str, str] = Field(default_factory=dict)


class FunctionUpload(FunctionConfig):
    language: Literal["js", "python", "java"]
    code: str = Field(min_length=1)
    binary: bool = False
