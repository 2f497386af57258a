from __future__ import annotations

import time
import uuid
from pathlib import Path

from graalvisor.domain import worker_key
from graalvisor.registry import CodeStore, InvocationRecord, Registry, new_invocation_id
from graalvisor.registry.db import INSERT_ROWS

CONFIG = {"timeout_ms": 1000, "memory_mb": 256, "concurrency": 4, "isolation": "instance", "env": {"A": "b"}}


def test_versions_are_immutable_and_survive_reopening(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "g.db", retention=100)
    v1 = reg.add_version("guest/f", "js", "main", "a" * 64, 10, False, CONFIG)
    v2 = reg.add_version("guest/f", "python", "main", "b" * 64, 20, False, {**CONFIG, "timeout_ms": 5})
    assert (v1.version, v2.version) == (1, 2)
    reg.close()
    reg = Registry(tmp_path / "g.db", retention=100)
    assert reg.latest_versions()["guest/f"] == v2
    assert [v.language for v in reg.versions("guest/f")] == ["js", "python"]
    assert reg.delete_function("guest/f") and not reg.delete_function("guest/f")
    assert reg.latest_versions() == {}


def test_functions_from_before_namespaces_join_the_default_namespace(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "g.db", retention=100)
    reg.add_version("old", "js", "main", "a" * 64, 10, False, CONFIG)  # as a data dir written before namespaces
    reg.record_invocations([InvocationRecord(id="i0", function="old", version=1, status="success")])
    reg.close()
    reg = Registry(tmp_path / "g.db", retention=100)
    assert list(reg.latest_versions()) == ["guest/old"]
    record = reg.invocation("i0")
    assert record is not None and record.function == "guest/old"
    assert record.to_dict()["function"] == "old" and record.to_dict()["namespace"] == "guest"


def test_invocations_stay_in_their_namespace(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "g.db", retention=100)
    reg.record_invocations([
        InvocationRecord(id="a1", function="alice/f", version=1, status="success", created_at=10.0),
        InvocationRecord(id="a2", function="alice/g", version=1, status="success", created_at=20.0),
        InvocationRecord(id="b1", function="alice.b/f", version=1, status="success", created_at=30.0),
        InvocationRecord(id="b2", function="alice0/f", version=1, status="success", created_at=40.0),
    ])
    assert [r.id for r in reg.invocations_in("alice", None, None, None, 10, 0)] == ["a2", "a1"]
    assert [r.id for r in reg.invocations_in("alice", "f", None, None, 10, 0)] == ["a1"]
    assert [r.id for r in reg.invocations_in("alice", None, 15.0, None, 10, 0)] == ["a2"]
    assert [r.id for r in reg.invocations_in("alice", None, None, 15.0, 10, 0)] == ["a1"]
    assert [r.id for r in reg.invocations_in("alice", None, None, None, 1, 1)] == ["a1"]


def test_invocation_retention_keeps_the_newest(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "g.db", retention=3)
    reg.record_invocations([InvocationRecord(id=f"i{n}", function="f", version=1, status="success",
                                             result=b"{}", logs=[str(n)]) for n in range(5)])
    assert reg.invocation("i0") is None and reg.invocation("i1") is None
    rec = reg.invocation("i4")
    assert rec is not None and rec.logs == ["4"] and rec.to_dict()["result"] == {}
    assert [r.id for r in reg.recent_invocations("f", 10)] == ["i4", "i3", "i2"]


def test_a_batch_larger_than_one_insert_is_written_whole(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "g.db", retention=10_000)
    n = 2 * INSERT_ROWS + 7  # two full statements and a short one
    records = [InvocationRecord(id=f"i{k}", function="guest/f", version=1, status="success", start="warm",
                                run_ms=k / 10, result=f'{{"k":{k}}}'.encode(), logs=[f"line {k}"], ended_at=float(k))
               for k in range(n)]
    # the same call written twice in one batch (running, then finished): the later row wins
    records.append(InvocationRecord(id="i3", function="guest/f", version=1, status="error", error={"error": "late"}))
    reg.record_invocations(records)
    assert len(reg.recent_invocations("guest/f", 10 * n)) == n
    for k in (0, INSERT_ROWS - 1, INSERT_ROWS, n - 1):
        got = reg.invocation(f"i{k}")
        assert got is not None and got.result == f'{{"k":{k}}}'.encode() and got.logs == [f"line {k}"]
        assert got.run_ms == k / 10 and got.ended_at == float(k) and got.start == "warm"
    late = reg.invocation("i3")
    assert late is not None and late.status == "error" and late.error == {"error": "late"} and late.result is None


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


def test_invocation_ids_are_uuid7_in_time_order() -> None:
    before_ms = time.time_ns() // 1_000_000
    first = new_invocation_id()
    time.sleep(0.002)
    ids = [new_invocation_id() for _ in range(10_000)]
    after_ms = time.time_ns() // 1_000_000
    assert len({*ids, first}) == 10_001
    for i in (first, *ids[:50]):
        assert len(i) == 32 and i == i.lower()
        u = uuid.UUID(i)
        assert u.version == 7 and u.variant == uuid.RFC_4122
        assert before_ms <= u.int >> 80 <= after_ms
    # Ids of a later millisecond sort after every id of an earlier one: records land at the
    # right edge of the unique index.
    assert all(first < i for i in ids)
    stamps = [i[:12] for i in ids]
    assert stamps == sorted(stamps)
