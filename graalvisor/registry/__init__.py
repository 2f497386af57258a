"""Functions, versions, the code store and invocation records: everything that must survive a restart."""

from graalvisor.registry.codestore import CodeStore
from graalvisor.registry.db import FunctionVersion, InvocationRecord, Registry, new_invocation_id
from graalvisor.registry.keys import ApiKey, KeyStore

__all__ = ["ApiKey", "CodeStore", "FunctionVersion", "InvocationRecord", "KeyStore", "Registry", "new_invocation_id"]
