"""Functions, versions, the code store and invocation records: everything that must survive a restart."""

from graalvisor.registry.codestore import CodeStore
from graalvisor.registry.db import FunctionVersion, InvocationRecord, Registry

__all__ = ["CodeStore", "FunctionVersion", "InvocationRecord", "Registry"]
