"""What the frames carry: the ops, each op's fields, the worker's hello and its replies.

Nothing outside this module writes an op's name or a reply's keys: a typo is a TypeError
where the request is made, not a worker answering "unknown op" at run time.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from graalvisor.protocol.frames import ProtocolError, encode_reply, encode_request, split_body


class Op(enum.StrEnum):
    HELLO = "hello"  # worker to gateway, unsolicited: the only message that is not a reply
    DEPLOY = "deploy"
    UNDEPLOY = "undeploy"
    INVOKE = "invoke"
    PARK = "park"
    SETTLE = "settle"
    REHEARSE_WAKE = "rehearse_wake"
    HOLD_BLANKS = "hold_blanks"
    FILL_BLANKS = "fill_blanks"
    DESCRIBE = "describe"
    TRIM_ISOLATES = "trim_isolates"


# -- requests: the fields of each op the gateway sends


@dataclass(frozen=True, slots=True)
class NoFields:
    pass


@dataclass(frozen=True, slots=True)
class Deploy:
    spec: dict[str, Any]  # built by domain.artifacts.load_spec; read by the Java side's Spec


@dataclass(frozen=True, slots=True)
class Undeploy:
    key: str
    shrink: bool = False  # then collect garbage and give the freed heap back (memory budget)


@dataclass(frozen=True, slots=True)
class Invoke:
    key: str
    params: bytes  # the caller's JSON: the frame's payload, passed to the guest untouched
    timeout_ms: int
    # Variables for this call only (JS process.env, Python os.environ), restored after it. Left out
    # of the frame when None (the gateway passes it only when given), so a plain call is unchanged.
    env: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class TrimIsolates:
    heap_percent: int  # of the old generation, in use after a full collection, at most


@dataclass(frozen=True, slots=True)
class Settle:
    limit_s: float = 30.0


# The one field of an op that travels as the frame's payload instead of in its meta.
PAYLOADS: dict[Op, str] = {Op.INVOKE: "params"}

FIELDS: dict[Op, type[Any]] = {
    Op.DEPLOY: Deploy,
    Op.UNDEPLOY: Undeploy,
    Op.INVOKE: Invoke,
    Op.PARK: NoFields,
    Op.SETTLE: Settle,
    Op.REHEARSE_WAKE: NoFields,
    Op.HOLD_BLANKS: NoFields,
    Op.FILL_BLANKS: NoFields,
    Op.TRIM_ISOLATES: TrimIsolates,
    Op.DESCRIBE: NoFields,
}


def request_frame(op: Op, request_id: int | None, **fields: Any) -> bytes:
    """A request frame; the fields are checked against the op's (a TypeError names a wrong one).
    No id: nothing answers (fire and forget)."""
    if op is Op.INVOKE:  # every call's: its own builder, whose signature checks the fields
        return _invoke_frame(request_id, **fields)
    kind = FIELDS.get(op)
    if kind is None:
        raise TypeError(f"{op!r} is not a request")
    kind(**fields)
    payload_field = PAYLOADS.get(op)
    payload = fields.pop(payload_field) if payload_field is not None else None
    message: dict[str, Any] = {"op": op.value, **fields}
    if request_id is not None:
        message["id"] = request_id
    return encode_request(message, payload)


def _invoke_frame(request_id: int | None, key: str, params: bytes, timeout_ms: int,
                  env: dict[str, str] | None = None) -> bytes:
    """request_frame(Op.INVOKE, ...) without building a frozen Invoke only to check the fields:
    its parameters are Invoke's (a test keeps them so), the frame is the same."""
    message: dict[str, Any] = {"op": "invoke", "key": key, "timeout_ms": timeout_ms}
    if env is not None:
        message["env"] = env
    if request_id is not None:
        message["id"] = request_id
    return encode_request(message, params)


@dataclass(frozen=True, slots=True)
class Request:
    op: Op
    id: int | None
    args: Any  # the op's fields: an instance of FIELDS[op]

    @classmethod
    def parse(cls, message: Mapping[str, Any], payload: bytes | None = None) -> Request:
        """The worker's side of :func:`request_frame`. Raises ProtocolError for an unknown op or
        fields that do not fit it; ``message["id"]`` stays readable to answer with."""
        fields = {k: v for k, v in message.items() if k not in ("op", "id")}
        try:
            op = Op(str(message.get("op")))
            payload_field = PAYLOADS.get(op)
            if payload_field is not None:
                fields[payload_field] = payload or b""
            elif payload:
                raise ProtocolError(f"a {op.value!r} request carries no payload")
            args = FIELDS[op](**fields)
        except (ValueError, KeyError):
            raise ProtocolError(f"unknown op {message.get('op')!r}") from None
        except TypeError as e:
            raise ProtocolError(f"bad fields for {message.get('op')!r}: {e}") from None
        request_id = message.get("id")
        return cls(op, request_id if isinstance(request_id, int) else None, args)


# -- worker to gateway


@dataclass(frozen=True, slots=True)
class Hello:
    token: str
    pid: int | None = None
    runtime: dict[str, Any] = field(default_factory=dict)  # Isolates.describe() as it was at start
    restored: bool = False
    # The worker's invoke lane (Java's InvokeLane writes this hello), not its Python connection:
    # it takes invocations only.
    lane: bool = False

    def frame(self) -> bytes:
        return encode_reply(orjson.dumps({"op": Op.HELLO.value, "token": self.token, "pid": self.pid,
                                          "runtime": self.runtime, "restored": self.restored, "lane": self.lane}))

    @classmethod
    def parse(cls, meta: Mapping[str, Any]) -> Hello:
        token, pid, runtime = meta.get("token"), meta.get("pid"), meta.get("runtime", {})
        if meta.get("op") != Op.HELLO or not isinstance(token, str):
            raise ProtocolError("the first frame from a worker must be its hello")
        if not (pid is None or isinstance(pid, int)) or not isinstance(runtime, dict):
            raise ProtocolError("a hello's pid or runtime has the wrong type")
        return cls(token, pid, runtime, bool(meta.get("restored", False)), meta.get("lane") is True)


# The meta's own keys; any other key is the op's data (describe's runtime, settle's settled_s).
# Each with the type its value must have, in the order of Reply's fields.
_KINDS: dict[str, type[Any]] = {"ok": bool, "kind": str, "message": str, "type": str, "line": int, "start": str,
                                "init_ns": int, "run_ns": int, "call_ns": int, "worker_ns": int, "logs": list}
_FIELDS = tuple(_KINDS)
_RESERVED = frozenset((*_FIELDS, "value", "id", "op"))


@dataclass(slots=True)
class Reply:
    """A worker's answer to one request. Java's Outcome writes the same meta keys. Not frozen:
    a frozen dataclass sets each field through object.__setattr__, and a reply is made on every
    call's path in the gateway (4.0 µs frozen, 1.2 not); nothing changes one once made."""

    ok: bool
    kind: str | None = None  # a failure's kind: error, timeout, load, not_deployed, internal, exit...
    message: str = ""
    type: str | None = None  # the guest's exception type
    line: int | None = None  # where in the function it was raised
    start: str | None = None  # warm | isolate
    init_ns: int = 0
    run_ns: int = 0
    call_ns: int = 0  # the whole call into Java, as the worker timed it
    worker_ns: int = 0  # from the request read to the reply sent, in the worker
    logs: tuple[str, ...] = ()
    result: bytes | None = None  # the function's JSON result, bytes as the guest wrote them
    data: dict[str, Any] = field(default_factory=dict)
    # A thrown or rejected JS value that is not an Error, as JSON (None: there was none, or it was null).
    value: Any = None

    def __post_init__(self) -> None:
        clash = _RESERVED.intersection(self.data)
        if clash:
            raise ValueError(f"reply data may not use the meta's own keys: {sorted(clash)}")

    @classmethod
    def success(cls, result: bytes | None = None, **data: Any) -> Reply:
        return cls(True, result=result, data=data)

    @classmethod
    def failure(cls, kind: str, message: str, **data: Any) -> Reply:
        return cls(False, kind=kind, message=message, data=data)

    def meta(self, request_id: int | None = None) -> dict[str, Any]:
        """The JSON object that goes before the result; default fields are left out."""
        meta: dict[str, Any] = {} if request_id is None else {"id": request_id}
        meta["ok"] = self.ok
        for name in _FIELDS[1:]:
            value = getattr(self, name)
            if value not in (None, "", 0, ()):
                meta[name] = value
        if self.value is not None:  # any JSON value: 0, "" and false are values too
            meta["value"] = self.value
        meta.update(self.data)
        return meta

    def frame(self, request_id: int | None) -> bytes:
        return encode_reply(orjson.dumps(self.meta(request_id)), self.result)

    @classmethod
    def parse(cls, meta: Mapping[str, Any], result: bytes | None = None) -> Reply:
        """A reply from its meta (a request id in it is dropped) and its result bytes. One pass
        over the keys the meta has, each checked against its field's type: on every call's path
        in the gateway, where a look-up per field cost 7 µs a reply."""
        fields: dict[str, Any] = {}
        data: dict[str, Any] = {}
        try:
            for key, value in meta.items():
                kind = _KINDS.get(key)
                if kind is None:
                    if key not in _RESERVED:
                        data[key] = value
                elif value is not None:
                    if type(value) is not kind:  # what orjson gives is exactly the kind
                        _check(key, value, kind)
                    fields[key] = value
            if "ok" not in fields:
                raise TypeError("a reply has no 'ok'")
            logs = fields.get("logs")
            if logs is not None:
                if not all(isinstance(line, str) for line in logs):
                    raise TypeError("a reply's logs must be strings")
                fields["logs"] = tuple(logs)
        except TypeError as e:
            raise ProtocolError(str(e)) from None
        return cls(**fields, result=result or None, data=data, value=meta.get("value"))

    @classmethod
    def from_outcome(cls, outcome: bytes) -> Reply:
        """What a Java call returned, laid out as a reply frame's body (Java's Outcome)."""
        meta, result = split_body(outcome)
        return cls.parse(meta, result)


def _check(key: str, value: Any, kind: type[Any]) -> None:
    # bool is an int in Python: a line or a time of True is a bug on the worker's side.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"a reply's {key!r} is {type(value).__name__}, not {kind.__name__}")
