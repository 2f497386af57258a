"""Apache OpenWhisk's REST API over graalvisor's daemon: actions, activations and web actions."""

from graalvisor.api.openwhisk.actions import router as actions_router
from graalvisor.api.openwhisk.web import router as web_router

__all__ = ["actions_router", "web_router"]
