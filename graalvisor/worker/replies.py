"""The reply to an invocation, made from the bytes Java returned (its Outcome) without parsing
them: the request id and the worker's own times are spliced into the front of Java's meta, and
the result goes on as the same buffer."""

from __future__ import annotations

from graalvisor.protocol import META, reply_parts


def outcome_parts(outcome: memoryview, request_id: int, call_ns: int, worker_ns: int) -> list[bytes | memoryview]:
    """The frame for ``outcome`` (a reply body: meta length, meta, result), in parts to send in
    order. Java's meta is a JSON object, so it starts with ``{`` and the new keys go after it."""
    (meta_length,) = META.unpack_from(outcome)
    end = META.size + meta_length
    java_meta = bytes(outcome[META.size:end])
    if not java_meta.startswith(b"{") or meta_length < 2:
        raise ValueError(f"an outcome's meta is not a JSON object: {java_meta[:80]!r}")
    head = b'{"id":%d,"call_ns":%d,"worker_ns":%d' % (request_id, call_ns, worker_ns)
    meta = head + (b"," if meta_length > 2 else b"") + java_meta[1:]
    result = outcome[end:]
    return [*reply_parts(meta, len(result)), result]
