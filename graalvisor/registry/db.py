"""SQLite (WAL) metadata: functions and their immutable versions, and invocation records."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    language TEXT NOT NULL,
    entrypoint TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    binary INTEGER NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    latest INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS invocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    function TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    start TEXT,
    wait_ms REAL,
    init_ms REAL,
    run_ms REAL,
    result TEXT,
    error TEXT,
    logs TEXT,
    created_at REAL NOT NULL
);
"""
# Data dirs from before namespaces: their functions and records are the default namespace's.
MIGRATIONS = (
    "UPDATE versions SET name = 'guest/' || name WHERE instr(name, '/') = 0",
    "UPDATE functions SET name = 'guest/' || name WHERE instr(name, '/') = 0",
    "UPDATE invocations SET function = 'guest/' || function WHERE instr(function, '/') = 0",
)


@dataclass(frozen=True)
class FunctionVersion:
    name: str  # qualified: namespace/name
    version: int
    language: str
    entrypoint: str
    sha256: str
    size: int
    binary: bool
    timeout_ms: int
    memory_mb: int
    concurrency: int
    isolation: str
    env: dict[str, str]
    created_at: float
    parameters: dict[str, Any] = field(default_factory=dict)  # defaults merged under a call's params
    annotations: dict[str, Any] = field(default_factory=dict)  # e.g. web-export, as OpenWhisk's

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def config(self) -> dict[str, Any]:
        return {
            "timeout_ms": self.timeout_ms,
            "memory_mb": self.memory_mb,
            "concurrency": self.concurrency,
            "isolation": self.isolation,
            "env": self.env,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "language": self.language,
            "entrypoint": self.entrypoint,
            "sha256": self.sha256,
            "size": self.size,
            "binary": self.binary,
            "created_at": self.created_at,
            **self.config(),
            "parameters": self.parameters,
            "annotations": self.annotations,
        }


# The columns a record is written and read with, in the order of the rows record_invocations builds.
INVOCATION_COLUMNS = ("id, function, version, status, start, wait_ms, init_ms, run_ms, result, error, logs, "
                      "created_at, ended_at")
INSERT_ROWS = 128  # rows to an INSERT (a parameter per column each; SQLite allows 32,766)
_INSERT_INVOCATIONS = f"INSERT OR REPLACE INTO invocations ({INVOCATION_COLUMNS}) VALUES "
_ROW = "(" + ", ".join("?" * len(INVOCATION_COLUMNS.split(","))) + ")"


def new_invocation_id() -> str:
    """A UUIDv7 (RFC 9562) in 32 hex digits, as OpenWhisk writes activation ids: 48 bits of Unix
    milliseconds, then 74 random bits. Ids in time order land at the right edge of the records'
    unique index, as the retention cap's deletes leave from its left; uuid4's random ids dirtied a
    page of it for nearly every row a batch wrote (5.4 kB written a record, 0.8 kB in time order;
    DESIGN.md, the warm path)."""
    rand = int.from_bytes(os.urandom(10))
    value = (time.time_ns() // 1_000_000 << 80) | (0x7 << 76) | ((rand >> 64) & 0xFFF) << 64 \
        | 0x8000_0000_0000_0000 | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    return f"{value:032x}"


@dataclass
class InvocationRecord:
    id: str
    function: str  # qualified: namespace/name
    version: int
    status: str  # running | success | error | timeout | worker_lost | unavailable
    start: str | None = None
    wait_ms: float | None = None
    init_ms: float | None = None
    run_ms: float | None = None
    result: bytes | None = None  # the function's JSON as the worker sent it: kept, not copied
    error: dict[str, Any] | None = None
    logs: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    ended_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        namespace, _, name = self.function.partition("/")
        return {
            "id": self.id,
            "function": name,
            "namespace": namespace,
            "version": self.version,
            "status": self.status,
            "start": self.start,
            "wait_ms": self.wait_ms,
            "init_ms": self.init_ms,
            "run_ms": self.run_ms,
            "result": orjson.loads(self.result) if self.result else None,
            "error": self.error,
            "logs": self.logs,
            "created_at": self.created_at,
            "ended_at": self.ended_at,
        }


class Registry:
    """Two connections, each behind its own lock: writes are short transactions on one, reads are
    point look-ups on the other. In WAL mode a reader never waits for a writer, so a batch of
    invocation records being written never holds up a read."""

    def __init__(self, path: Path, retention: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.retention = retention
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._migrate()
        self._read_lock = threading.Lock()
        self._reader = sqlite3.connect(path, check_same_thread=False, isolation_level=None)

    def _migrate(self) -> None:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(invocations)")}
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            if "ended_at" not in columns:
                self._db.execute("ALTER TABLE invocations ADD COLUMN ended_at REAL")
            for statement in MIGRATIONS:
                self._db.execute(statement)
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._read_lock:
            self._reader.close()
        with self._lock:
            self._db.close()

    # -- functions and versions

    def add_version(self, name: str, language: str, entrypoint: str, sha256: str, size: int,
                    binary: bool, config: dict[str, Any]) -> FunctionVersion:
        now = time.time()
        config_text = orjson.dumps(config).decode()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT MAX(version) FROM versions WHERE name = ?", (name,)).fetchone()
                version = (row[0] or 0) + 1
                values = (name, version, language, entrypoint, sha256, size, int(binary), config_text, now)
                self._db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
                self._db.execute(
                    "INSERT INTO functions (name, latest, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET latest = excluded.latest",
                    (name, version, now),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return self._version_from_row(values)

    def latest_versions(self) -> dict[str, FunctionVersion]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT v.* FROM versions v JOIN functions f ON f.name = v.name AND f.latest = v.version"
            ).fetchall()
        return {row[0]: self._version_from_row(row) for row in rows}

    def versions(self, name: str) -> list[FunctionVersion]:
        with self._read_lock:
            rows = self._reader.execute("SELECT * FROM versions WHERE name = ? ORDER BY version", (name,)).fetchall()
        return [self._version_from_row(row) for row in rows]

    def delete_function(self, name: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute("DELETE FROM functions WHERE name = ?", (name,))
            self._db.execute("DELETE FROM versions WHERE name = ?", (name,))
            self._db.execute("COMMIT")
        return cur.rowcount > 0

    def referenced_artifacts(self) -> set[str]:
        with self._read_lock:
            return {row[0] for row in self._reader.execute("SELECT DISTINCT sha256 FROM versions")}

    @staticmethod
    def _version_from_row(row: tuple[Any, ...]) -> FunctionVersion:
        name, version, language, entrypoint, sha256, size, binary, config_text, created_at = row
        config = orjson.loads(config_text)
        return FunctionVersion(
            name=name, version=version, language=language, entrypoint=entrypoint, sha256=sha256,
            size=size, binary=bool(binary), timeout_ms=config["timeout_ms"], memory_mb=config["memory_mb"],
            concurrency=config["concurrency"], isolation=config["isolation"], env=config["env"],
            created_at=created_at, parameters=config.get("parameters", {}), annotations=config.get("annotations", {}),
        )

    # -- invocations

    def record_invocations(self, records: list[InvocationRecord]) -> None:
        rows = [
            (r.id, r.function, r.version, r.status, r.start, r.wait_ms, r.init_ms, r.run_ms,
             r.result.decode() if r.result is not None else None,
             orjson.dumps(r.error).decode() if r.error else None, orjson.dumps(r.logs).decode(), r.created_at,
             r.ended_at)
            for r in records
        ]
        with self._lock:
            self._db.execute("BEGIN")
            # Many rows to a statement, not executemany: sqlite3 lets go of the GIL at every step,
            # one per row there, and each time this thread waits to take it back from a busy event
            # loop (up to the 5 ms switch interval), then takes it from the loop. Beside a busy
            # thread a row cost 49 µs of CPU that way, against 13 (DESIGN.md, the warm path).
            for i in range(0, len(rows), INSERT_ROWS):
                chunk = rows[i:i + INSERT_ROWS]
                self._db.execute(_INSERT_INVOCATIONS + ", ".join([_ROW] * len(chunk)),
                                 [v for row in chunk for v in row])
            # Retention: keep the newest N records.
            self._db.execute(
                "DELETE FROM invocations WHERE seq <= (SELECT MAX(seq) FROM invocations) - ?", (self.retention,)
            )
            self._db.execute("COMMIT")

    def invocation(self, invocation_id: str) -> InvocationRecord | None:
        with self._read_lock:
            row = self._reader.execute(
                f"SELECT {INVOCATION_COLUMNS} FROM invocations WHERE id = ?", (invocation_id,)).fetchone()
        return None if row is None else self._invocation_from_row(row)

    def recent_invocations(self, function: str, limit: int) -> list[InvocationRecord]:
        with self._read_lock:
            rows = self._reader.execute(
                f"SELECT {INVOCATION_COLUMNS} FROM invocations WHERE function = ? ORDER BY seq DESC LIMIT ?",
                (function, limit)).fetchall()
        return [self._invocation_from_row(row) for row in rows]

    def invocations_in(self, namespace: str, function: str | None, since: float | None, upto: float | None,
                       limit: int, skip: int) -> list[InvocationRecord]:
        """A namespace's records, newest first: of one function if named, started within [since, upto]."""
        where: list[str] = ["function >= ? AND function < ?"]
        args: list[str | float] = [namespace + "/", namespace + "0"]  # "0" sorts right after "/"
        if function is not None:
            where, args = ["function = ?"], [f"{namespace}/{function}"]
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        if upto is not None:
            where.append("created_at <= ?")
            args.append(upto)
        query = (f"SELECT {INVOCATION_COLUMNS} FROM invocations WHERE {' AND '.join(where)} "
                 "ORDER BY seq DESC LIMIT ? OFFSET ?")
        with self._read_lock:
            rows = self._reader.execute(query, (*args, limit, skip)).fetchall()
        return [self._invocation_from_row(row) for row in rows]

    def version(self, name: str, version: int) -> FunctionVersion | None:
        with self._read_lock:
            row = self._reader.execute("SELECT * FROM versions WHERE name = ? AND version = ?",
                                       (name, version)).fetchone()
        return None if row is None else self._version_from_row(row)

    @staticmethod
    def _invocation_from_row(row: tuple[Any, ...]) -> InvocationRecord:
        return InvocationRecord(
            id=row[0], function=row[1], version=row[2], status=row[3], start=row[4], wait_ms=row[5],
            init_ms=row[6], run_ms=row[7], result=row[8].encode() if row[8] is not None else None,
            error=orjson.loads(row[9]) if row[9] else None,
            logs=orjson.loads(row[10]) if row[10] else [], created_at=row[11], ended_at=row[12],
        )
