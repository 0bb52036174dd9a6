"""``run_bounded``: a function in a forked child, bounded in time and memory.

Behaviour only (what is raised and what it says), never how long anything took.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assetcron._bounded import LimitExceeded, Limits, run_bounded

Progress = Callable[[str], None]


def test_the_result_comes_back_as_json() -> None:
    def fn(progress: Progress) -> object:
        progress("first")
        return {"a": [1, 2.5, None, True, "é"], "t": (1, 2)}

    assert run_bounded(fn, Limits()) == {"a": [1, 2.5, None, True, "é"], "t": [1, 2]}


def test_a_child_past_the_deadline_is_killed_and_named_by_its_last_progress() -> None:
    def fn(progress: Progress) -> None:
        progress("ops/a/config/x")
        time.sleep(60)

    with pytest.raises(LimitExceeded) as info:
        run_bounded(fn, Limits(seconds=0.2))
    assert info.value.reason == "rendering took longer than 0.2 s (limit)"
    assert info.value.at == "ops/a/config/x"
    assert str(info.value) == "ops/a/config/x: rendering took longer than 0.2 s (limit)"


def test_memory_beyond_the_budget_is_a_memory_error_in_the_child() -> None:
    def fn(progress: Progress) -> int:
        return len(bytearray(512 * 2**20))  # the parent never allocates this

    with pytest.raises(LimitExceeded, match=r"rendering needs more than 64 MiB \(limit\)"):
        run_bounded(fn, Limits(memory_bytes=64 * 2**20))


@pytest.mark.parametrize(
    ("sig", "message"),
    [
        (signal.SIGXCPU, "rendering took longer than 5 s (limit)"),  # the RLIMIT_CPU backstop
        (signal.SIGKILL, "most likely for using more memory than the pod allows"),  # OOM killer
        (signal.SIGUSR1, "rendering died of signal SIGUSR1"),
    ],
)
def test_a_child_killed_by_a_signal_says_which(sig: signal.Signals, message: str) -> None:
    def fn(progress: Progress) -> None:
        os.kill(os.getpid(), sig)

    with pytest.raises(LimitExceeded) as info:
        run_bounded(fn, Limits())
    assert message in info.value.reason


def test_an_exception_in_the_function_is_a_failed_child() -> None:
    def fn(progress: Progress) -> None:
        raise ValueError("not transported")

    with pytest.raises(LimitExceeded, match=r"rendering failed \(exit status 1\)"):
        run_bounded(fn, Limits())


def test_the_child_does_not_run_the_parents_sigterm_handler() -> None:
    calls: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda *_: calls.append(1))
    try:

        def fn(progress: Progress) -> None:
            os.kill(os.getpid(), signal.SIGTERM)

        with pytest.raises(LimitExceeded, match="signal SIGTERM"):
            run_bounded(fn, Limits())
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert calls == []


def test_an_interrupted_parent_leaves_no_child() -> None:
    # As when the runner's SIGTERM handler raises while a template renders.
    class SimulatedSigtermError(Exception):
        pass

    def interrupt(*_: object) -> None:
        raise SimulatedSigtermError

    def fn(progress: Progress) -> None:
        time.sleep(60)

    before = _children()
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(SimulatedSigtermError):
            run_bounded(fn, Limits(seconds=30))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # Killed and reaped: no child of ours is left, not even a zombie. (Other children of
    # the test process, such as a control plane started by a fixture, were there before.)
    assert _children() <= before


def _children() -> set[int]:
    """PIDs of this process's children, zombies included (Linux /proc)."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        pids.update(int(p) for p in (task / "children").read_text().split())
    return pids
