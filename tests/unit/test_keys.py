from __future__ import annotations

import base64
from pathlib import Path

import pytest

from graalvisor.api.auth import Authenticator, namespace_of
from graalvisor.domain import ANONYMOUS, Forbidden, Subject, Unauthorized
from graalvisor.registry import KeyStore


def basic(credential: str) -> str:
    return "Basic " + base64.b64encode(credential.encode()).decode()


def test_keys_are_stored_hashed_and_verified(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "g.db")
    key, secret = store.create("alice")
    assert len(secret) == 64
    assert secret not in (tmp_path / "g.db").read_bytes().decode(errors="replace")
    assert store.verify(key.uuid, secret) == "alice"
    assert store.verify(key.uuid, secret[:-1] + "!") is None
    assert store.verify("nope", secret) is None
    assert [k.namespace for k in store.list()] == ["alice"] and store.list("bob") == []
    assert store.revoke("bob", key.uuid) == 0 and store.revoke("alice", key.uuid) == 1
    assert store.verify(key.uuid, secret) is None and store.count() == 0


def test_without_keys_only_loopback_serves_anonymously(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "g.db")
    assert Authenticator(store, loopback=True).subject(None) == ANONYMOUS
    with pytest.raises(Unauthorized, match="no API keys"):
        Authenticator(store, loopback=False).subject(None)


def test_with_a_key_every_call_needs_one(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "g.db")
    key, secret = store.create("alice")
    auth = Authenticator(store, loopback=True)
    with pytest.raises(Unauthorized, match="needed"):
        auth.subject(None)
    for bad in (basic(f"{key.uuid}:wrong"), "Basic %%%", f"Bearer {key.uuid}", "Digest x", basic("no-colon")):
        with pytest.raises(Unauthorized, match="not valid"):
            auth.subject(bad)
    subject = auth.subject(basic(f"{key.uuid}:{secret}"))
    assert subject == Subject("alice", key.uuid) and subject.credential == f"{key.uuid}:{secret}"
    assert auth.subject(f"Bearer {key.uuid}:{secret}").namespace == "alice"


def test_a_path_names_the_callers_namespace_or_is_refused() -> None:
    alice = Subject("alice", "u1")
    assert namespace_of(alice, "_") == "alice" and namespace_of(alice, "alice") == "alice"
    with pytest.raises(Forbidden, match="alice"):
        namespace_of(alice, "bob")
    assert namespace_of(ANONYMOUS, "bob") == "bob"  # no keys: one tenant, any namespace
