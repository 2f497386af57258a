"""The wire between the gateway and a worker: :mod:`.frames` says how bytes are cut into
frames, :mod:`.messages` what a frame means (ops, their fields, the hello, replies)."""

from graalvisor.protocol.frames import (
    HEADER,
    MAX_FRAME,
    META,
    FrameSplitter,
    Kind,
    ProtocolError,
    RequestReader,
    encode_reply,
    encode_request,
    reply_parts,
    split_body,
)
from graalvisor.protocol.messages import (
    FIELDS,
    Deploy,
    Hello,
    Invoke,
    NoFields,
    Op,
    Reply,
    Request,
    Settle,
    TrimIsolates,
    Undeploy,
    request_frame,
)

__all__ = [
    "FIELDS", "HEADER", "MAX_FRAME", "META", "Deploy", "FrameSplitter", "Hello", "Invoke", "Kind", "NoFields", "Op",
    "ProtocolError", "Reply", "Request", "RequestReader", "Settle", "TrimIsolates", "Undeploy", "encode_reply",
    "encode_request", "reply_parts", "request_frame", "split_body",
]
