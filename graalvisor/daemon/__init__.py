"""Use cases (deploy, invoke, delete, images) over the catalog of served versions."""

from graalvisor.daemon.daemon import Daemon
from graalvisor.scheduler import Invocation  # what Daemon.invoke answers with

__all__ = ["Daemon", "Invocation"]
