"""Namespaces: every function, invocation record and API key belongs to one. Below the api layer
a function is known by its qualified name, ``namespace/name``, so two namespaces may each have a
function ``hello`` and never see the other's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graalvisor.domain.errors import Invalid

# OpenWhisk's own default namespace: a daemon with no keys serves everyone as this one.
DEFAULT_NAMESPACE = "guest"
NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class Subject:
    """Who is calling: the namespace their key belongs to, and the key's uuid (``None`` when the
    daemon has no keys and serves without authentication)."""

    namespace: str
    key_uuid: str | None = None
    # The ``uuid:key`` the call came with: passed to a function as __OW_API_KEY where its version
    # asks for it (annotation provide-api-key), since only a hash of it is stored.
    credential: str | None = field(default=None, repr=False, compare=False)


ANONYMOUS = Subject(DEFAULT_NAMESPACE)


def check_namespace(namespace: str) -> None:
    if not NAMESPACE.match(namespace):
        raise Invalid(f"invalid namespace '{namespace}': use 1-64 letters, digits, '_', '.', '@', '-'")


def qualify(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def split(qualified: str) -> tuple[str, str]:
    """``namespace/name`` -> (namespace, name); a name from before namespaces is the default's."""
    namespace, sep, name = qualified.partition("/")
    return (namespace, name) if sep else (DEFAULT_NAMESPACE, qualified)


def bare(qualified: str) -> str:
    return split(qualified)[1]
