from __future__ import annotations

from pathlib import Path

from graalvisor.domain import worker_key
from graalvisor.registry import CodeStore, InvocationRecord, Registry

CONFIG = {"timeout_ms": 1000, "memory_mb": 256, "concurrency": 4, "isolation": "instance", "env": {"A": "b"}}


def test_versions_are_immutable_and_survive_reopening(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "g.db", retention=100)
    v1 = reg.add_version("f", "js", "main", "a" * 64, 10, False, CONFIG)
    v2 = reg.add_version("f", "python", "main", "b" * 64, 20, False, {**CONFIG, "timeout_ms": 5})
    assert (v1.version, v2.version) == (1, 2)
    reg.close()
    reg = Registry(tmp_path / "g.db", retention=100)
    assert reg.latest_versions()["f"] == v2
    assert [v.language for v in reg.versions("f")] == ["js", "python"]
    assert reg.delete_function("f") and not reg.delete_function("f")
    assert reg.latest_versions() == {}


def test_invocation_retention_keeps_the_newest(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "g.db", retention=3)
    reg.record_invocations([InvocationRecord(id=f"i{n}", function="f", version=1, status="success",
                                             result=b"{}", logs=[str(n)]) for n in range(5)])
    assert reg.invocation("i0") is None and reg.invocation("i1") is None
    rec = reg.invocation("i4")
    assert rec is not None and rec.logs == ["4"] and rec.to_dict()["result"] == {}
    assert [r.id for r in reg.recent_invocations("f", 10)] == ["i4", "i3", "i2"]


def test_code_store_is_content_addressed(tmp_path: Path) -> None:
    store = CodeStore(tmp_path / "code")
    digest = store.put(b"function main(){}")
    assert store.put(b"function main(){}") == digest
    assert store.get(digest) == b"function main(){}"
    other = store.put(b"x")
    assert store.remove_unreferenced({digest}) == 1
    assert not store.path(other).exists() and store.path(digest).exists()


def test_worker_key_changes_with_code_and_config() -> None:
    k = worker_key("f", "a" * 64, CONFIG, "main")
    assert k.startswith("f@")
    assert worker_key("f", "a" * 64, dict(CONFIG), "main") == k
    assert worker_key("f", "b" * 64, CONFIG, "main") != k
    assert worker_key("f", "a" * 64, {**CONFIG, "isolation": "invocation"}, "main") != k
    assert worker_key("f", "a" * 64, CONFIG, "handler") != k
