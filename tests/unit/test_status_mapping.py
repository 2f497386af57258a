"""Domain errors and invocation outcomes map to the HTTP statuses the API promises."""

from __future__ import annotations

import pytest

from graalvisor.api.errors import domain_status, invocation_status
from graalvisor.domain import DomainError, Invalid, NotFound, TooLarge, Unavailable


@pytest.mark.parametrize(("error", "status"), [
    (Invalid("x"), 400), (NotFound("x"), 404), (TooLarge("x"), 413), (Unavailable("x"), 503), (DomainError("x"), 500),
])
def test_domain_errors(error: DomainError, status: int) -> None:
    assert domain_status(error) == status


def test_a_subclass_keeps_its_parents_status() -> None:
    class Gone(NotFound):
        pass

    assert domain_status(Gone("x")) == 404


@pytest.mark.parametrize(("outcome", "status"), [
    ("success", 200), ("error", 502), ("load_error", 502), ("worker_lost", 502), ("timeout", 504),
    ("unavailable", 503), ("something new", 502),
])
def test_invocation_outcomes(outcome: str, status: int) -> None:
    assert invocation_status(outcome) == status


def test_extra_fields_travel_with_the_error() -> None:
    e = Invalid("the code does not load", line=3, type="SyntaxError")
    assert e.message == "the code does not load"
    assert e.extra == {"line": 3, "type": "SyntaxError"}
