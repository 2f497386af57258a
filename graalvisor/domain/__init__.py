"""The domain: function settings, version keys, artifacts and the errors use cases raise.
Imported by the daemon and the api; imports only the registry's records."""

from graalvisor.domain.errors import DomainError, Invalid, NotFound, TooLarge, Unavailable
from graalvisor.domain.functions import LANGUAGES, NAME, FunctionConfig, Language, check_name, key_of, worker_key

__all__ = ["LANGUAGES", "NAME", "DomainError", "FunctionConfig", "Invalid", "Language", "NotFound", "TooLarge",
           "Unavailable", "check_name", "key_of", "worker_key"]
