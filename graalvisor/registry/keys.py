"""API keys, OpenWhisk's way: ``uuid:key`` pairs, each belonging to one namespace. Only a hash of
the key is stored (SHA-256: the keys are 64 random characters, so a slow hash adds nothing), in
the daemon's SQLite file, so ``graalvisor keys`` works whether or not the daemon runs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import string
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    uuid TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    key_sha256 TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""
KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 64


@dataclass(frozen=True)
class ApiKey:
    uuid: str
    namespace: str
    created_at: float


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, namespace: str) -> tuple[ApiKey, str]:
        """A new key for the namespace; its secret half is returned once and never stored."""
        key = ApiKey(str(uuid.uuid4()), namespace, time.time())
        secret = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))
        with self._lock:
            self._db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?)",
                             (key.uuid, namespace, _digest(secret), key.created_at))
        return key, secret

    def list(self, namespace: str | None = None) -> list[ApiKey]:
        query = "SELECT uuid, namespace, created_at FROM api_keys"
        args: tuple[str, ...] = ()
        if namespace is not None:
            query, args = query + " WHERE namespace = ?", (namespace,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at", args).fetchall()
        return [ApiKey(*row) for row in rows]

    def revoke(self, namespace: str, key_uuid: str | None = None) -> int:
        """Revokes one key of the namespace, or all of them; returns how many went."""
        with self._lock:
            if key_uuid is None:
                cur = self._db.execute("DELETE FROM api_keys WHERE namespace = ?", (namespace,))
            else:
                cur = self._db.execute("DELETE FROM api_keys WHERE namespace = ? AND uuid = ?", (namespace, key_uuid))
        return cur.rowcount

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM api_keys").fetchone()[0])

    def verify(self, key_uuid: str, secret: str) -> str | None:
        """The namespace of a valid ``uuid:key``, else None."""
        with self._lock:
            row = self._db.execute("SELECT namespace, key_sha256 FROM api_keys WHERE uuid = ?", (key_uuid,)).fetchone()
        if row is None or not hmac.compare_digest(row[1], _digest(secret)):
            return None
        return str(row[0])
