"""OpenWhisk's JSON, to and from graalvisor's: action documents from versions, activation
documents from invocation records, an action upload into a deploy. Pure functions: no I/O."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

from graalvisor.domain import FunctionConfig, Invalid, Language, split
from graalvisor.registry import FunctionVersion, InvocationRecord

# exec.kind families -> our languages, and the kind a version deployed natively reports.
KIND_LANGUAGES: dict[str, Language] = {"nodejs": "js", "python": "python", "java": "java"}
DEFAULT_KINDS: dict[str, str] = {"js": "nodejs:20", "python": "python:3", "java": "java:8"}
# Activation statuses, as OpenWhisk numbers them.
SUCCESS, APPLICATION_ERROR, DEVELOPER_ERROR, INTERNAL_ERROR = 0, 1, 2, 3
STATUS_TEXT = {SUCCESS: "success", APPLICATION_ERROR: "application error", DEVELOPER_ERROR: "action developer error",
               INTERNAL_ERROR: "whisk internal error"}
LOG_LIMIT_MB = 10


@dataclass(frozen=True)
class ActionUpload:
    """What a PUT of an action asks for, in graalvisor's terms (code None: keep the current code)."""

    language: Language | None
    kind: str | None
    code: bytes | None
    config: FunctionConfig


def as_map(entries: Any, what: str) -> dict[str, Any]:
    """OpenWhisk's ``[{"key": k, "value": v}, ...]`` as a dict."""
    if entries is None:
        return {}
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("key"), str)
                                                for e in entries):
        raise Invalid(f'{what} must be a list of {{"key": ..., "value": ...}}')
    return {e["key"]: e.get("value") for e in entries}


def as_entries(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in values.items()]


def language_of(kind: Any) -> Language:
    if not isinstance(kind, str) or not kind:
        raise Invalid("exec.kind is missing: use nodejs:20, python:3 or java:8 (or nodejs:default, ...)")
    family = kind.split(":", 1)[0]
    if family in ("sequence", "blackbox"):
        raise Invalid(f"exec.kind '{kind}' is not supported by graalvisor: it runs nodejs, python and java actions")
    if family not in KIND_LANGUAGES:
        raise Invalid(f"unknown exec.kind '{kind}': use nodejs:*, python:* or java:*")
    return KIND_LANGUAGES[family]


def _code(exec_: dict[str, Any], language: Language) -> bytes:
    code = exec_.get("code")
    if not isinstance(code, str) or not code:
        raise Invalid("exec.code is missing: the action's source, or base64 of its zip or jar")
    binary = exec_.get("binary")
    if binary is None:  # OpenWhisk tells a zip or jar by its base64 (the client does not say)
        binary = language == "java" or _is_base64_zip(code)
    if not binary:
        return code.encode()
    try:
        return base64.b64decode(code, validate=True)
    except (binascii.Error, ValueError) as e:
        raise Invalid(f"exec.code is not valid base64 (binary: true): {e}") from None


def _is_base64_zip(code: str) -> bool:
    try:
        return base64.b64decode(code[:8], validate=True).startswith(b"PK\x03\x04")
    except (binascii.Error, ValueError):
        return False


def upload_of(body: dict[str, Any], current: FunctionVersion | None) -> ActionUpload:
    """The body of ``PUT actions/{name}``; settings left out keep the current version's."""
    base = FunctionConfig.model_validate(
        {"entrypoint": current.entrypoint, **current.config(), "parameters": current.parameters,
         "annotations": current.annotations} if current is not None else {})
    settings = base.model_dump()
    exec_ = body.get("exec")
    language: Language | None = None
    code = None
    kind = None
    if exec_ is not None:
        if not isinstance(exec_, dict):
            raise Invalid("exec must be an object: {kind, code, main, binary}")
        kind = exec_.get("kind")
        language = language_of(kind)
        code = _code(exec_, language)
        main = exec_.get("main")
        if language == "java" and not isinstance(main, str):
            raise Invalid("a java action needs exec.main: its class, 'pkg.Class' or 'pkg.Class#method'")
        settings["entrypoint"] = main if isinstance(main, str) and main else "main"
    elif current is None:
        raise Invalid("a new action needs exec: {kind, code} (an update may leave it out)")
    if "parameters" in body:
        settings["parameters"] = as_map(body["parameters"], "parameters")
    if "annotations" in body:
        settings["annotations"] = as_map(body["annotations"], "annotations")
    limits = body.get("limits") or {}
    if not isinstance(limits, dict):
        raise Invalid("limits must be an object: {timeout, memory, concurrency}")
    for ours, theirs in (("timeout_ms", "timeout"), ("memory_mb", "memory"), ("concurrency", "concurrency")):
        if limits.get(theirs) is not None:
            settings[ours] = limits[theirs]
    if kind is not None:
        settings["annotations"] = {**settings["annotations"], "exec": kind}
    try:
        config = FunctionConfig.model_validate(settings)
    except ValueError as e:
        raise Invalid(f"invalid action: {e}") from None
    return ActionUpload(language, kind, code, config)


def kind_of(version: FunctionVersion) -> str:
    kind = version.annotations.get("exec")
    return kind if isinstance(kind, str) else DEFAULT_KINDS[version.language]


def limits_of(version: FunctionVersion) -> dict[str, Any]:
    return {"timeout": version.timeout_ms, "memory": version.memory_mb, "logs": LOG_LIMIT_MB,
            "concurrency": version.concurrency}


def action(version: FunctionVersion, code: bytes | None = None) -> dict[str, Any]:
    """The action document; with ``code`` (the artifact) its exec carries it, as GET shows it."""
    namespace, name = split(version.name)
    exec_: dict[str, Any] = {"kind": kind_of(version), "binary": version.binary}
    if version.entrypoint != "main" or version.language == "java":
        exec_["main"] = version.entrypoint
    if code is not None:
        exec_["code"] = base64.b64encode(code).decode() if version.binary else code.decode(errors="replace")
    return {"namespace": namespace, "name": name, "version": semver(version.version), "publish": False,
            "exec": exec_, "parameters": as_entries(version.parameters),
            "annotations": as_entries({**version.annotations, "exec": kind_of(version).split(":")[0]}),
            "limits": limits_of(version), "updated": int(version.created_at * 1000)}


def semver(version: int) -> str:
    return f"0.0.{version}"


def outcome(record: InvocationRecord, timeout_ms: int | None) -> tuple[int, Any]:
    """The activation's status code and result, as OpenWhisk would report this record."""
    error = record.error or {}
    if record.status == "success":
        result = orjson.loads(record.result) if record.result else {}
        if isinstance(result, dict) and "error" in result:  # OpenWhisk: an action's own error
            return APPLICATION_ERROR, result
        return SUCCESS, result
    message = error.get("error", record.status)
    if record.status == "timeout":
        limit = f"{timeout_ms} milliseconds" if timeout_ms is not None else "its time limit"
        return DEVELOPER_ERROR, {"error": f"The action exceeded its time limits of {limit}."}
    if record.status in ("load_error", "worker_lost") or error.get("kind") == "exit":
        return DEVELOPER_ERROR, {"error": message}
    if record.status == "unavailable":
        return INTERNAL_ERROR, {"error": message}
    return APPLICATION_ERROR, {"error": error["value"] if "value" in error else message}


def activation(record: InvocationRecord, version: FunctionVersion | None, docs: bool = True) -> dict[str, Any]:
    namespace, name = split(record.function)
    start = record.created_at * 1000 + (record.wait_ms or 0)
    end = (record.ended_at or record.created_at) * 1000
    code, result = outcome(record, version.timeout_ms if version else None)
    annotations: list[dict[str, Any]] = [
        {"key": "path", "value": f"{namespace}/{name}"},
        {"key": "waitTime", "value": round(record.wait_ms or 0)},
        {"key": "timeout", "value": record.status == "timeout"},
    ]
    if version is not None:
        annotations += [{"key": "kind", "value": kind_of(version)}, {"key": "limits", "value": limits_of(version)}]
    if record.start in ("isolate", "snapshot", "boot"):
        annotations.append({"key": "initTime", "value": round(record.init_ms or 0)})
    doc: dict[str, Any] = {
        "namespace": namespace, "name": name, "version": semver(record.version), "subject": namespace,
        "activationId": record.id, "start": int(start), "end": int(end), "duration": max(0, int(end - start)),
        "statusCode": code, "annotations": annotations, "publish": False,
    }
    if docs:
        doc["response"] = response(code, result)
        doc["logs"] = record.logs
    return doc


def response(code: int, result: Any) -> dict[str, Any]:
    return {"status": STATUS_TEXT[code], "statusCode": code, "success": code == SUCCESS, "result": result,
            "size": len(orjson.dumps(result))}
