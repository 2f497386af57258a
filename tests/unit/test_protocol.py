from __future__ import annotations

import asyncio
import socket

import pytest

from graalvisor import protocol


def test_frames_round_trip_over_a_socket_pair() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(protocol.encode({"id": 1, "op": "invoke", "params": "{\"x\": \"é\"}"}))
        a.sendall(protocol.encode({"id": 2, "op": "describe"}))
        assert protocol.recv_frame(b) == {"id": 1, "op": "invoke", "params": "{\"x\": \"é\"}"}
        assert protocol.recv_frame(b) == {"id": 2, "op": "describe"}
        a.close()
        assert protocol.recv_frame(b) is None


def test_async_reader_rejects_oversized_and_non_object_frames() -> None:
    async def run() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(protocol.HEADER.pack(protocol.MAX_FRAME + 1))
        with pytest.raises(protocol.ProtocolError):
            await protocol.read_frame(reader)
        reader = asyncio.StreamReader()
        reader.feed_data(protocol.HEADER.pack(2) + b"[]")
        with pytest.raises(protocol.ProtocolError):
            await protocol.read_frame(reader)
        reader = asyncio.StreamReader()
        reader.feed_data(protocol.HEADER.pack(10) + b"{}")
        reader.feed_eof()
        with pytest.raises(asyncio.IncompleteReadError):
            await protocol.read_frame(reader)

    asyncio.run(run())
