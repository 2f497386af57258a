"""The rolling image's stop rule for a version's warm-up: how busy the template's compilers were."""
import pytest

from graalvisor.pool import rolling
from graalvisor.pool.rolling import COMPILE_WINDOW_S, COMPILERS_IDLE, _CompilerWindow


class Template:
    """A template whose process CPU time the test sets."""

    def __init__(self) -> None:
        self.cpu = 0.0

    def cpu_seconds(self) -> float:
        return self.cpu


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(rolling.time, "monotonic", lambda: now[0])
    return now


def test_no_figure_until_the_window_is_a_second_long(clock: list[float]) -> None:
    template = Template()
    window = _CompilerWindow(template)  # type: ignore[arg-type]
    clock[0] += COMPILE_WINDOW_S / 2
    template.cpu += 1.0
    assert window.compiling() is None


def test_cpu_beyond_the_calls_own_core_is_the_compilers(clock: list[float]) -> None:
    template = Template()
    window = _CompilerWindow(template)  # type: ignore[arg-type]
    clock[0] += 2.0
    template.cpu += 2.0 * 1.6  # the call's core and 0.6 of another
    assert window.compiling() == pytest.approx(0.6)
    # the next window starts where that one ended: only the calls' core now, so idle
    clock[0] += 1.0
    template.cpu += 1.0
    busy = window.compiling()
    assert busy == pytest.approx(0.0) and busy < COMPILERS_IDLE


def test_a_call_short_of_a_core_reads_as_idle_not_negative(clock: list[float]) -> None:
    template = Template()
    window = _CompilerWindow(template)  # type: ignore[arg-type]
    clock[0] += 1.0
    template.cpu += 0.5  # waiting for a lock, or descheduled
    assert window.compiling() == 0.0
