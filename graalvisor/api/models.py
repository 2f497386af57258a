"""The upload body of ``PUT /functions/{name}``: a function's settings plus its code."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, Field

from graalvisor.domain import FunctionConfig

Params = dict[str, Any]
# Sample inputs a warm-up takes in turn: enough to cover a function's paths, few enough to store.
MAX_WARMUP_SAMPLES = 16


class Warmup(BaseModel):
    """Params to compile a JS or Python version with, before its first call (sandboxed guest
    code has no I/O, so the template's calls touch nothing outside it): one object, or a list
    of sample inputs taken in turn. Code is compiled for the paths the warm-up ran; an input
    that takes another runs that part interpreted and compiles it again in every worker."""

    params: Params | Annotated[list[Params], Field(min_length=1, max_length=MAX_WARMUP_SAMPLES)] = Field(
        default_factory=dict)

    def samples(self) -> tuple[bytes, ...]:
        """The sample params as JSON, as a template's calls take them."""
        return tuple(map(orjson.dumps, self.params if isinstance(self.params, list) else [self.params]))


class FunctionUpload(FunctionConfig):
    language: Literal["js", "python", "java"]
    code: str = Field(min_length=1)
    binary: bool = False
    warmup: Warmup | None = None
