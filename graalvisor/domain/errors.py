"""What a use case can refuse, in the domain's words; the api layer alone turns them into HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal a caller can act on: the message says what to do, ``extra`` adds fields."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(DomainError):
    """No such function, invocation, snapshot or route."""


class Invalid(DomainError):
    """The request or the uploaded code cannot be accepted as it is."""


class TooLarge(DomainError):
    """The request body is over the configured limit."""


class Unavailable(DomainError):
    """Nothing is wrong with the request, but no worker or image could serve it now: retry later."""


class Unauthorized(DomainError):
    """No key, or a key that is not valid: the caller must authenticate."""


class Forbidden(DomainError):
    """A valid key that may not act on this namespace."""


class Conflict(DomainError):
    """The request would overwrite something that exists and was not asked to."""
