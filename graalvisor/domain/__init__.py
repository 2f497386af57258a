"""The domain: function settings, version keys, artifacts and the errors use cases raise.
Imported by the daemon and the api; imports only the registry's records."""

from graalvisor.domain.errors import (
                                     Conflict,
                                     DomainError,
                                     Forbidden,
                                     Invalid,
                                     NotFound,
                                     TooLarge,
                                     Unauthorized,
                                     Unavailable,
)
from graalvisor.domain.functions import LANGUAGES, NAME, FunctionConfig, Language, check_name, key_of, worker_key
from graalvisor.domain.namespaces import ANONYMOUS, DEFAULT_NAMESPACE, Subject, bare, check_namespace, qualify, split

__all__ = ["ANONYMOUS", "DEFAULT_NAMESPACE", "LANGUAGES", "NAME", "Conflict", "DomainError", "Forbidden",
           "FunctionConfig", "Invalid", "Language", "NotFound", "Subject", "TooLarge", "Unauthorized", "Unavailable",
           "bare", "check_name", "check_namespace", "key_of", "qualify", "split", "worker_key"]
