"""A function's configuration and the key of what a worker loads for one of its versions."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

from graalvisor.domain.errors import Invalid
from graalvisor.registry import FunctionVersion

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
Language = Literal["js", "python", "java"]
LANGUAGES: tuple[Language, ...] = ("js", "python", "java")


class FunctionConfig(BaseModel):
    """Every setting of a version, with its default: the one place these defaults are written."""

    entrypoint: str = Field("main", min_length=1, max_length=256)
    timeout_ms: int = Field(60_000, ge=1, le=15 * 60_000)
    memory_mb: int = Field(256, ge=16, le=16_384)
    concurrency: int = Field(64, ge=1, le=10_000)
    isolation: Literal["instance", "invocation"] = "instance"
    env: dict[str, str] = Field(default_factory=dict)
    # Not part of what a worker loads (see LOAD_SETTINGS): changing them keeps the compiled code.
    parameters: dict[str, Any] = Field(default_factory=dict)
    annotations: dict[str, Any] = Field(default_factory=dict)

    def load_settings(self) -> dict[str, Any]:
        """The settings that fix what a worker loads, as FunctionVersion.config() gives them back."""
        return self.model_dump(include=LOAD_SETTINGS)


LOAD_SETTINGS = {"timeout_ms", "memory_mb", "concurrency", "isolation", "env"}


def default(field: str) -> Any:
    """The default of one setting, for the CLI's flags and the raw upload's query."""
    return FunctionConfig.model_fields[field].get_default(call_default_factory=True)


def worker_key(name: str, sha256: str, config: dict[str, Any], entrypoint: str) -> str:
    """What a worker loads is fixed by code and config, so the key is derived from them."""
    digest = hashlib.sha256(orjson.dumps({**config, "entrypoint": entrypoint}, option=orjson.OPT_SORT_KEYS))
    return f"{name}@{sha256[:12]}.{digest.hexdigest()[:8]}"


def key_of(version: FunctionVersion) -> str:
    return worker_key(version.name, version.sha256, version.config(), version.entrypoint)


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise Invalid(f"invalid function name '{name}': use 1-64 letters, digits, '_', '.', '-'")
