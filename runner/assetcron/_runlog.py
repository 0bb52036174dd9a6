"""The run pod's log format: text (the default) or JSON lines with the run's context.

``assetcron asset materialize --log-format json`` (or ``ASSETCRON_LOG_FORMAT=json``, e.g.
in an AssetJob's ``template.env``) makes every line the run writes to stdout and stderr
one JSON object, for log pipelines (Loki, Elasticsearch, Cloud Logging) to index::

    {"time": "2026-11-21T14:00:03.120Z", "level": "info",
     "logger": "assetcron.asset.weather/daily_weather", "message": "fetched 1 row",
     "runId": "3f2a...", "assetKey": "weather/daily_weather",
     "partitionKey": "2026-11-20", "scheduledTime": "2026-11-21T14:00:00+00:00",
     "jobName": "weather-daily-29384160"}

Every line carries ``runId``, ``assetKey``, ``partitionKey`` and ``scheduledTime``
(``null`` until known: the run id once the code location is loaded, the asset key while
an asset runs), and ``jobName`` in a pod. Records of Python's ``logging`` (the runner's,
``context.log`` in assets, libraries') get ``logger``, ``level`` and, for an exception,
``exception`` (the traceback in one field); lines printed to stdout/stderr (progress
lines, ``print()`` in asset code) get ``stream`` and the level ``info``, or ``error`` /
``warning`` for the runner's own ``error:`` / ``warning:`` lines.

Text stays the default everywhere, on a terminal and off it (a pod, a pipe): the
pod log is read by people through ``kubectl logs`` and ``kubectl assetcron logs``, and
a command whose output format changed with ``| grep`` would surprise. JSON is chosen
explicitly where a log pipeline wants it.

The context lives in :mod:`contextvars`, set by the runner (:func:`bind`,
:func:`asset_scope`), and is read when a line is written, so no call site passes it.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal, TextIO

__all__ = [
    "ENV_LOG_FORMAT",
    "LOG_FORMATS",
    "JsonFormatter",
    "JsonLines",
    "LogFormat",
    "asset_scope",
    "bind",
    "context",
    "install",
    "raw_stream",
    "reset",
    "resolve_log_format",
]

ENV_LOG_FORMAT = "ASSETCRON_LOG_FORMAT"
LOG_FORMATS = ("text", "json")
LogFormat = Literal["text", "json"]

#: The fields every JSON line carries (``None`` until known).
CONTEXT_FIELDS = ("runId", "assetKey", "partitionKey", "scheduledTime")

_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "assetcron_run_context", default=MappingProxyType({})
)


def resolve_log_format(flag: str | None, env: Mapping[str, str]) -> LogFormat:
    """``--log-format`` if given, else ``$ASSETCRON_LOG_FORMAT``, else ``text``.

    Raises:
        ValueError: the value is neither ``text`` nor ``json`` (the message names where
            it came from).
    """
    raw = flag if flag is not None else env.get(ENV_LOG_FORMAT, "")
    value = raw.strip().lower() or "text"
    if value not in LOG_FORMATS:
        where = "--log-format" if flag is not None else ENV_LOG_FORMAT
        raise ValueError(f"{where} must be 'text' or 'json', not {raw!r}")
    return "json" if value == "json" else "text"


def reset() -> None:
    """Forget the bound context (a new run in the same process)."""
    _context.set({})


def bind(**fields: Any) -> None:
    """Add ``fields`` (``runId``, ``partitionKey``, ``scheduledTime``, ...) to the context
    of every line written from now on in this context."""
    _context.set({**_context.get(), **fields})


@contextlib.contextmanager
def asset_scope(key: str) -> Iterator[None]:
    """Lines written inside carry ``assetKey`` = ``key`` (e.g. ``weather/daily_weather``)."""
    token = _context.set({**_context.get(), "assetKey": key})
    try:
        yield
    finally:
        _context.reset(token)


def context() -> dict[str, Any]:
    """The current context: every :data:`CONTEXT_FIELDS` key (``None`` when unknown),
    then the other bound fields, then ``jobName`` from ``$ASSETCRON_JOB_NAME``."""
    bound = _context.get()
    out: dict[str, Any] = {k: bound.get(k) for k in CONTEXT_FIELDS}
    out.update((k, v) for k, v in bound.items() if k not in out)
    if "jobName" not in out and (job := os.environ.get("ASSETCRON_JOB_NAME")):
        out["jobName"] = job
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: LogRecord attributes that are not user ``extra`` fields.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ms), ``level``, ``logger``,
    ``message``, the run context (:func:`context`), ``exception`` when there is one, and
    any ``extra={...}`` fields (values that are not JSON become their ``str``)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (no newline)."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **context(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        return json.dumps(line, ensure_ascii=False, default=str)


class JsonLines(io.TextIOBase):
    """A text stream that writes each complete line given to it as a JSON object on
    ``raw`` (the real stdout or stderr), with the run context: what ``print()`` writes
    in JSON mode. A partial line waits for its newline (or :meth:`flush` at the end).

    Args:
        raw: where the JSON lines go.
        stream: ``stdout`` or ``stderr`` (the ``stream`` field).
    """

    def __init__(self, raw: TextIO, stream: str) -> None:
        super().__init__()
        self.raw = raw
        self.stream = stream
        self._pending = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        """Always True."""
        return True

    def write(self, s: str) -> int:
        """Buffer ``s``; emit every completed line as JSON."""
        with self._lock:
            self._pending += s
            *lines, self._pending = self._pending.split("\n")
            for text in lines:
                self._emit(text)
        return len(s)

    def flush(self) -> None:
        """Emit a pending partial line, then flush ``raw``."""
        with self._lock:
            if self._pending:
                self._emit(self._pending)
                self._pending = ""
        self.raw.flush()

    def _emit(self, text: str) -> None:
        text = text.rstrip("\r")
        if not text:
            return
        level = "info"
        if text.startswith("error:"):
            level = "error"
        elif text.startswith("warning:"):
            level = "warning"
        line = {"time": _now(), "level": level, "stream": self.stream, "message": text}
        line.update(context())
        self.raw.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def fileno(self) -> int:
        """The file descriptor of ``raw`` (for code that asks, e.g. faulthandler)."""
        return self.raw.fileno()

    def isatty(self) -> bool:
        """False: JSON is not for a terminal's eyes."""
        return False


def raw_stream(stream: TextIO) -> TextIO:
    """The stream under a :class:`JsonLines` wrapper, or ``stream`` itself."""
    return stream.raw if isinstance(stream, JsonLines) else stream


def install(fmt: LogFormat) -> Callable[[], None]:
    """Switch this process's stdout and stderr to ``fmt`` and return the undo.

    ``text`` changes nothing. ``json`` replaces ``sys.stdout`` and ``sys.stderr`` by
    :class:`JsonLines` wrappers (so ``print()`` and tracebacks become JSON lines); the
    runner's logging handler formats with :class:`JsonFormatter` and writes under the
    wrapper. The undo flushes and restores the previous streams.
    """
    if fmt != "json":
        return lambda: None
    previous = (sys.stdout, sys.stderr)
    sys.stdout = JsonLines(previous[0], "stdout")
    sys.stderr = JsonLines(previous[1], "stderr")

    def undo() -> None:
        for wrapper in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                wrapper.flush()
        sys.stdout, sys.stderr = previous

    return undo
