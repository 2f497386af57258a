"""Use cases (deploy, invoke, delete, images) over the catalog of served versions."""

from graalvisor.daemon.daemon import Daemon

__all__ = ["Daemon"]
