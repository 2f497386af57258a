from __future__ import annotations

import dataclasses
import inspect
import socket
import threading

import orjson
import pytest

from graalvisor import protocol
from graalvisor.protocol import Hello, Invoke, Op, Reply, Request, messages
from graalvisor.worker.replies import outcome_parts


def _read_reply(data: bytes) -> tuple[dict[str, object], bytes | None]:
    """The one reply frame ``data`` holds, as the gateway's connection cuts it."""
    splitter = protocol.FrameSplitter(protocol.Kind.REPLY)
    (frame,) = splitter.feed(data)
    assert splitter.buffered == 0
    return frame


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
        reader = protocol.RequestReader(b)

        def parse() -> Request:
            message = reader.next()
            assert message is not None
            return Request.parse(*message)

        meta, payload = reader.next() or ({}, None)
        assert "params" not in meta and payload == params  # the params travel as the payload, unescaped
        assert Request.parse(meta, payload) == Request(Op.INVOKE, 1, Invoke("k", params, 5))
        assert parse().op is Op.DESCRIBE
        undeploy = parse()
        assert undeploy.id is None and undeploy.args.key == "k"  # fire and forget: nothing answers
        assert parse().args.limit_s == 30.0  # the default travels implicitly
        a.close()
        assert reader.next() is None


def test_a_big_payload_arrives_whole_across_many_reads() -> None:
    a, b = socket.socketpair()
    with a, b:
        params = b'{"s": "' + b"x" * 3_000_000 + b'"}'
        frame = protocol.request_frame(Op.INVOKE, 9, key="k", params=params, timeout_ms=5)
        sender = threading.Thread(target=a.sendall, args=(frame,))
        sender.start()
        message = protocol.RequestReader(b).next()
        sender.join()
        assert message is not None and message[1] == params


def test_request_fields_are_checked_on_both_sides() -> None:
    with pytest.raises(TypeError):
        protocol.request_frame(Op.INVOKE, 1, key="k", params=b"{}")  # no timeout_ms
    with pytest.raises(TypeError):
        protocol.request_frame(Op.INVOKE, 1, key="k", params=b"{}", timeout_ms=5, spec={})
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


def test_the_invoke_frames_builder_takes_exactly_invokes_fields() -> None:
    """Invocations have their own frame builder (the warm path's): it must not drift from Invoke."""
    builder = inspect.signature(messages._invoke_frame).parameters
    assert [(p.name, p.default) for p in builder.values()][1:] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(Invoke)]


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

    meta, result = _read_reply(hello.frame())
    assert Hello.parse(meta) == hello and result is None
    with pytest.raises(protocol.ProtocolError):
        Hello.parse(Reply.success().meta(1))  # a reply is no hello


def test_a_request_and_a_reply_cannot_be_taken_for_each_other() -> None:
    with pytest.raises(protocol.ProtocolError, match="expected a reply"):
        _read_reply(protocol.request_frame(Op.DESCRIBE, 1))
    a, b = socket.socketpair()
    with a, b:
        a.sendall(Reply.success().frame(1))
        with pytest.raises(protocol.ProtocolError, match="expected a request"):
            protocol.RequestReader(b).next()
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
    cut = protocol.FrameSplitter(protocol.Kind.REPLY)
    assert cut.feed(reply_header(10) + protocol.META.pack(2) + b"{}") == [] and cut.buffered == 10  # cut short
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
        reader = protocol.RequestReader(b)
        plain, with_env = reader.next(), reader.next()
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


def test_a_stream_is_cut_into_frames_however_its_bytes_arrive() -> None:
    replies = [Reply(True, start="warm", run_ns=n, result=b'{"n":%d}' % n).frame(n) for n in range(1, 4)]
    big = Reply.success(b'{"s":"' + b"z" * 1_000_000 + b'"}').frame(4)
    stream = b"".join(replies) + big
    expected = [_read_reply(frame) for frame in (*replies, big)]
    for size in (1, 3, 4, 5, 7, 64, 4096, 65536, len(stream)):  # a header, a meta, a result split anywhere
        splitter = protocol.FrameSplitter(protocol.Kind.REPLY)
        got = [frame for i in range(0, len(stream), size) for frame in splitter.feed(stream[i:i + size])]
        assert got == expected and splitter.buffered == 0, size
    two_and_a_half = protocol.FrameSplitter(protocol.Kind.REPLY)
    assert two_and_a_half.feed(replies[0] + replies[1] + replies[2][:9]) == expected[:2]
    assert two_and_a_half.buffered == 9 and two_and_a_half.feed(replies[2][9:]) == expected[2:3]
    with pytest.raises(protocol.ProtocolError, match="expected a reply"):
        protocol.FrameSplitter(protocol.Kind.REPLY).feed(replies[0] + protocol.request_frame(Op.DESCRIBE, 1))


def test_a_worker_reads_requests_that_arrive_together_with_one_read_and_a_cut_one_whole() -> None:
    a, b = socket.socketpair()
    with a, b:
        frames = [protocol.request_frame(Op.INVOKE, n, key="k", params=b'{"n":%d}' % n, timeout_ms=5) for n in (1, 2)]
        a.sendall(frames[0] + frames[1] + frames[0][:7])  # two whole requests and the start of a third
        reader = protocol.RequestReader(b)
        first = reader.next()
        a.close()  # the two whole ones are read already; the third is cut short
        second = reader.next()
        assert first is not None and second is not None
        assert [Request.parse(*m).args.params for m in (first, second)] == [b'{"n":1}', b'{"n":2}']
        with pytest.raises(protocol.ProtocolError, match="inside a frame"):
            reader.next()
