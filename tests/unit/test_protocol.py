from __future__ import annotations

import asyncio
import socket
import threading

import orjson
import pytest

from graalvisor import protocol
from graalvisor.protocol import Hello, Invoke, Op, Reply, Request
from graalvisor.worker.replies import outcome_parts


def _read_reply(data: bytes, eof: bool = False) -> tuple[dict[str, object], bytes | None]:
    async def run() -> tuple[dict[str, object], bytes | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        return await protocol.read_reply(reader)

    return asyncio.run(run())


def test_ops_are_their_wire_names() -> None:
    assert Op.INVOKE == "invoke" and Op("rehearse_wake") is Op.REHEARSE_WAKE
    assert {op.value for op in Op} == {"hello", "deploy", "undeploy", "invoke", "park", "settle", "rehearse_wake",
                                       "hold_blanks", "fill_blanks", "describe", "trim_isolates"}
    assert set(protocol.FIELDS) == set(Op) - {Op.HELLO}  # every request has its fields; the hello is no request


def test_requests_round_trip_over_a_socket_pair() -> None:
    a, b = socket.socketpair()
    with a, b:
        params = '{"x": "é"}'.encode()
        a.sendall(protocol.request_frame(Op.INVOKE, 1, key="k", params=params, timeout_ms=5))
        a.sendall(protocol.request_frame(Op.DESCRIBE, 2))
        a.sendall(protocol.request_frame(Op.UNDEPLOY, None, key="k"))
        a.sendall(protocol.request_frame(Op.SETTLE, 3))

        def parse() -> Request:
            message = protocol.recv_request(b)
            assert message is not None
            return Request.parse(*message)

        meta, payload = protocol.recv_request(b) or ({}, None)
        assert "params" not in meta and payload == params  # the params travel as the payload, unescaped
        assert Request.parse(meta, payload) == Request(Op.INVOKE, 1, Invoke("k", params, 5))
        assert parse().op is Op.DESCRIBE
        undeploy = parse()
        assert undeploy.id is None and undeploy.args.key == "k"  # fire and forget: nothing answers
        assert parse().args.limit_s == 30.0  # the default travels implicitly
        a.close()
        assert protocol.recv_request(b) is None


def test_a_big_payload_arrives_whole_across_many_reads() -> None:
    a, b = socket.socketpair()
    with a, b:
        params = b'{"s": "' + b"x" * 3_000_000 + b'"}'
        frame = protocol.request_frame(Op.INVOKE, 9, key="k", params=params, timeout_ms=5)
        sender = threading.Thread(target=a.sendall, args=(frame,))
        sender.start()
        message = protocol.recv_request(b)
        sender.join()
        assert message is not None and message[1] == params


def test_request_fields_are_checked_on_both_sides() -> None:
    with pytest.raises(TypeError):
        protocol.request_frame(Op.INVOKE, 1, key="k", params=b"{}")  # no timeout_ms
    with pytest.raises(TypeError):
        protocol.request_frame(Op.UNDEPLOY, 1, key="k", spec={})  # a field undeploy does not have
    with pytest.raises(TypeError):
        protocol.request_frame(Op.HELLO, 1)  # the worker's, not the gateway's
    with pytest.raises(protocol.ProtocolError, match="unknown op 'reboot'"):
        Request.parse({"op": "reboot", "id": 4})
    with pytest.raises(protocol.ProtocolError, match="bad fields"):
        Request.parse({"op": "invoke", "id": 4, "key": "k"})
    with pytest.raises(protocol.ProtocolError, match="no payload"):
        Request.parse({"op": "undeploy", "id": 4, "key": "k"}, b"{}")


def test_reply_meta_round_trip_keeps_every_field() -> None:
    failure = Reply(False, kind="error", message="boom\nat line 3", type="ValueError", line=3, start="warm",
                    init_ns=10, run_ns=20, logs=("a", "b"), data={"extra": [1, 2]})
    meta, result = _read_reply(failure.frame(7))
    assert meta["id"] == 7 and result is None
    assert Reply.parse(meta, result) == failure
    settled = Reply.success(settled_s=0.25)
    assert settled.meta() == {"ok": True, "settled_s": 0.25}  # defaults stay off the wire
    assert Reply.parse(*_read_reply(settled.frame(1))).data == {"settled_s": 0.25}
    with pytest.raises(ValueError):
        Reply.success(ok=False)  # data may not shadow the meta's own keys


def test_the_result_crosses_as_bytes_untouched() -> None:
    result = '{"text": "two\\nlines and a raw\nnewline, é, 漢字, 🎉"}'.encode()
    meta, body = _read_reply(Reply(True, start="isolate", run_ns=5, result=result).frame(9))
    assert body == result and meta == {"id": 9, "ok": True, "start": "isolate", "run_ns": 5}
    big = orjson.dumps({"blob": "x" * (5 * 1024 * 1024), "note": "é\n"})
    meta, body = _read_reply(Reply.success(big).frame(10))
    assert body == big and Reply.parse(meta, body).result == big


def _outcome(meta: bytes, result: bytes = b"") -> bytes:
    """What Java's Outcome returns: a reply body (meta length, meta, result)."""
    return protocol.META.pack(len(meta)) + meta + result


def test_java_outcome_is_a_reply_body() -> None:
    reply = Reply.from_outcome(_outcome(b'{"ok":true,"start":"warm","init_ns":1,"run_ns":2,"logs":["hi"]}',
                                        '{"a": "é"}\n{"not": "split"}'.encode()))
    assert reply.ok and reply.start == "warm" and reply.logs == ("hi",) and reply.run_ns == 2
    assert reply.result == '{"a": "é"}\n{"not": "split"}'.encode()
    failure = Reply.from_outcome(_outcome(b'{"ok":false,"kind":"not_deployed","message":"m","logs":[]}'))
    assert not failure.ok and failure.kind == "not_deployed" and failure.result is None
    with pytest.raises(protocol.ProtocolError):
        Reply.from_outcome(_outcome(b"not json", b"{}"))


def test_the_worker_splices_its_id_and_times_into_an_outcome_without_parsing_it() -> None:
    result = b'{"big": "' + b"y" * 100_000 + b'"}'
    outcome = _outcome(b'{"ok":true,"start":"warm","init_ns":1,"run_ns":2,"logs":[]}', result)
    parts = outcome_parts(memoryview(outcome), 7, call_ns=30, worker_ns=40)
    assert parts[-1] == result and isinstance(parts[-1], memoryview)  # the result is the same buffer
    meta, got = protocol.split_body(b"".join(parts)[protocol.HEADER.size:])
    assert meta["id"] == 7 and got == result
    reply = Reply.parse(meta, got)
    assert reply.ok and reply.call_ns == 30 and reply.worker_ns == 40 and reply.run_ns == 2
    bare = outcome_parts(memoryview(_outcome(b"{}")), 8, call_ns=1, worker_ns=2)
    assert protocol.split_body(b"".join(bare)[protocol.HEADER.size:])[0] == {"id": 8, "call_ns": 1, "worker_ns": 2}
    with pytest.raises(ValueError, match="not a JSON object"):
        outcome_parts(memoryview(_outcome(b"[1]")), 9, call_ns=1, worker_ns=1)
    with pytest.raises(protocol.ProtocolError):
        Reply.parse({"kind": "error"})  # no ok
    with pytest.raises(protocol.ProtocolError):
        Reply.parse({"ok": True, "line": "3"})
    with pytest.raises(protocol.ProtocolError):
        Reply.parse({"ok": True, "logs": [1]})


def test_hello_is_a_reply_frame_without_an_id() -> None:
    hello = Hello("tok", 42, {"java_version": "25"}, restored=True)

    async def run() -> Hello:
        reader = asyncio.StreamReader()
        reader.feed_data(hello.frame())
        return await protocol.read_hello(reader)

    assert asyncio.run(run()) == hello
    with pytest.raises(protocol.ProtocolError):
        Hello.parse(Reply.success().meta(1))  # a reply is no hello


def test_a_request_and_a_reply_cannot_be_taken_for_each_other() -> None:
    with pytest.raises(protocol.ProtocolError, match="expected a reply"):
        _read_reply(protocol.request_frame(Op.DESCRIBE, 1))
    a, b = socket.socketpair()
    with a, b:
        a.sendall(Reply.success().frame(1))
        with pytest.raises(protocol.ProtocolError, match="expected a request"):
            protocol.recv_request(b)
    with pytest.raises(protocol.ProtocolError):  # a bare length, as frames were once written
        _read_reply(protocol.HEADER.pack(2) + b"{}")


def test_malformed_reply_frames() -> None:
    def reply_header(length: int) -> bytes:
        return protocol.HEADER.pack(protocol.Kind.REPLY << 30 | length)

    with pytest.raises(protocol.ProtocolError, match="over the"):
        _read_reply(reply_header(protocol.MAX_FRAME + 1))
    with pytest.raises(protocol.ProtocolError, match="shorter"):
        _read_reply(reply_header(2) + b"\0\0")
    with pytest.raises(protocol.ProtocolError, match="runs past"):
        _read_reply(reply_header(6) + protocol.META.pack(9) + b"{}")
    with pytest.raises(protocol.ProtocolError, match="JSON object"):
        _read_reply(protocol.encode_reply(b"[]"))
    with pytest.raises(protocol.ProtocolError, match="no valid JSON"):
        _read_reply(protocol.encode_reply(b"{oops"))
    with pytest.raises(asyncio.IncompleteReadError):
        _read_reply(reply_header(10) + protocol.META.pack(2) + b"{}", eof=True)
    with pytest.raises(protocol.ProtocolError, match="over the"):
        protocol.frames.header(protocol.Kind.REPLY, protocol.MAX_FRAME + 1)  # a worker's too-big result
    meta, result = protocol.split_body(protocol.encode_reply(b'{"ok":true}', b"[1]")[protocol.HEADER.size:])
    assert meta == {"ok": True} and result == b"[1]"


def test_an_invokes_env_travels_only_when_given() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(protocol.request_frame(Op.INVOKE, 1, key="k", params=b"{}", timeout_ms=5))
        a.sendall(protocol.request_frame(Op.INVOKE, 2, key="k", params=b"{}", timeout_ms=5,
                                         env={"__OW_ACTIVATION_ID": "a1"}))
        plain, with_env = protocol.recv_request(b), protocol.recv_request(b)
        assert plain is not None and with_env is not None
        assert "env" not in plain[0]  # a plain call's frame is as it was before env existed
        assert Request.parse(*plain).args.env is None
        assert Request.parse(*with_env).args == Invoke("k", b"{}", 5, {"__OW_ACTIVATION_ID": "a1"})


def test_a_thrown_value_survives_the_reply_even_when_falsy() -> None:
    for value in ({"msg": "x"}, "text", 0, False, ""):
        reply = Reply(False, kind="error", message="m", value=value)
        meta = reply.meta(7)
        assert meta["value"] == value
        assert Reply.parse(orjson.loads(orjson.dumps(meta))).value == value
    assert "value" not in Reply.failure("error", "m").meta()
