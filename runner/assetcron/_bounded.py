"""Run a function in a forked child process bounded in wall time, CPU time and memory.

Used to render run-config templates (:func:`assetcron.render_run_config`): a template can
loop, recurse or build strings far beyond what any run config needs, and Python cannot
interrupt or cap a computation inside its own process. A child can be: the parent waits
with a wall-clock deadline and kills the child with SIGKILL when it passes; the child
lowers its own ``RLIMIT_AS`` (address space: its size at the fork plus the budget, so a
``MemoryError`` comes long before the pod's memory limit) and ``RLIMIT_CPU`` (a backstop
should the parent die before the deadline).

Why ``os.fork`` and why it is safe here: the child inherits the function and its
arguments with no pickling and no interpreter start-up (a few milliseconds), and it ends
with ``os._exit``, so it never runs the parent's ``atexit`` handlers, ``finally`` blocks
or buffered-output flushes. Fork is unsafe in a process with other threads (a lock held
by another thread stays locked in the child); the callers fork while single-threaded:
the runner before it runs any asset (after importing the code location: a module that
starts threads at import is the one exception, and then the child still only runs
Jinja2, imported before the fork, and writes to its pipe), and the
``assetcron schedule preview`` CLI.
The operator (threads and an event loop) never renders; it only checks templates
(:func:`assetcron.check_template`, which evaluates nothing). On a platform without
``os.fork`` the function runs in-process, unbounded.

The result travels back as JSON lines on a pipe: ``{"at": label}`` lines report
progress (so a limit names what was running) and the last line is ``{"ok": value}``.

This module imports nothing from the rest of the package except :mod:`assetcron._errors`.
"""

from __future__ import annotations

import json
import math
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = ["LimitExceeded", "Limits", "run_bounded"]

#: Exit status of a child whose function raised MemoryError (nothing else is sent).
_EXIT_MEMORY = 3
_MiB = 2**20


@dataclass(frozen=True)
class Limits:
    """Bounds on one :func:`run_bounded` call.

    ``seconds``: wall-clock time the parent waits (float, > 0); the child's CPU time is
    capped at ``ceil(seconds) + 1`` s as a backstop. ``memory_bytes``: address space the
    child may add to what it had at the fork (int, > 0); ignored where
    ``/proc/self/status`` cannot be read (no Linux ``VmSize``).
    """

    seconds: float = 5.0
    memory_bytes: int = 256 * _MiB

    def memory_text(self) -> str:
        """``memory_bytes`` for a message: ``256 MiB``."""
        return f"{self.memory_bytes / _MiB:g} MiB"


class LimitExceeded(Exception):  # noqa: N818 - it is what happened, not a failure class
    """The child ran out of time or memory, or died.

    ``reason`` is a phrase (``took longer than 5 s (limit)``); ``at`` is the last
    progress label the child reported (``None`` before the first).
    """

    def __init__(self, reason: str, at: str | None) -> None:
        self.reason = reason
        self.at = at
        super().__init__(f"{at}: {reason}" if at else reason)


def _vm_size() -> int | None:
    """This process's virtual memory size in bytes (Linux ``VmSize``), or ``None``."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:  # noqa: PTH123 - a proc file
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024  # the kernel writes kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _lower_limit(which: int, soft: int) -> None:
    current, hard = resource.getrlimit(which)
    for ceiling in (current, hard):
        if ceiling != resource.RLIM_INFINITY:
            soft = min(soft, ceiling)
    resource.setrlimit(which, (soft, hard))


def _send(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _child(fd: int, fn: Callable[[Callable[[str], None]], Any], limits: Limits) -> NoReturn:
    """Run ``fn`` in the forked child and end the process; never returns."""
    code = 1
    try:
        # The parent's handlers (the runner's SIGTERM summary) are not the child's business.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        size = _vm_size()
        if size is not None:
            _lower_limit(resource.RLIMIT_AS, size + limits.memory_bytes)
        _lower_limit(resource.RLIMIT_CPU, math.ceil(limits.seconds) + 1)
        value = fn(lambda label: _send(fd, {"at": label}))
        _send(fd, {"ok": value})
        code = 0
    except MemoryError:
        code = _EXIT_MEMORY
    except BaseException:  # the parent reports the exit status
        code = 1
    finally:
        os._exit(code)


def _outcome(status: int, limits: Limits, at: str | None) -> LimitExceeded:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return LimitExceeded(f"rendering took longer than {limits.seconds:g} s (limit)", at)
        if sig == signal.SIGKILL:  # the kernel's OOM killer: the pod's limit is lower
            return LimitExceeded(
                "rendering was killed (SIGKILL), most likely for using more memory than the "
                f"pod allows (rendering may use {limits.memory_text()})",
                at,
            )
        return LimitExceeded(f"rendering died of signal {signal.Signals(sig).name}", at)
    code = os.WEXITSTATUS(status)
    if code == _EXIT_MEMORY:
        return LimitExceeded(f"rendering needs more than {limits.memory_text()} (limit)", at)
    return LimitExceeded(f"rendering failed (exit status {code})", at)


def run_bounded(fn: Callable[[Callable[[str], None]], Any], limits: Limits) -> Any:
    """``fn(progress)`` run in a forked child within ``limits``; its JSON-shaped result.

    ``fn`` gets a ``progress(label: str)`` callable to report what it is doing; its
    return value must be JSON-serialisable (it crosses a pipe as JSON, so tuples come
    back as lists). Exceptions ``fn`` raises are not transported: return errors as
    values. Must only be called while the process is single-threaded (module docstring).

    Raises:
        LimitExceeded: the child ran longer than ``limits.seconds`` (then it is killed),
            exceeded its memory budget (``MemoryError`` in the child), or died without a
            result (a signal, an exception in ``fn``, a result that is not JSON).
    """
    deadline = time.monotonic() + limits.seconds
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing buffered twice, whatever the child does
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage would not see it anyway
        os.close(read_fd)
        _child(write_fd, fn, limits)
    os.close(write_fd)
    reaped = False
    try:
        at: str | None = None
        result: dict[str, Any] | None = None
        poller = select.poll()
        poller.register(read_fd, select.POLLIN)
        buffer = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(math.ceil(remaining * 1000)):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                reaped = True
                raise LimitExceeded(f"rendering took longer than {limits.seconds:g} s (limit)", at)
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            buffer += chunk
            if len(buffer) > limits.memory_bytes:  # the child cannot hold more; be as strict
                raise LimitExceeded(f"rendering produced more than {limits.memory_text()}", at)
            while (end := buffer.find(b"\n")) >= 0:
                message = json.loads(buffer[:end])
                del buffer[: end + 1]
                if "at" in message:
                    at = str(message["at"])
                else:
                    result = message
        _, status = os.waitpid(pid, 0)
        reaped = True
        if result is None or status != 0:
            raise _outcome(status, limits, at)
        return result["ok"]
    finally:
        os.close(read_fd)
        if not reaped:  # the parent was interrupted (SIGTERM, Ctrl-C): leave no child
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
