"""Date-based run config: sandboxed Jinja2 templates rendered for a tick's scheduled time.

Every string leaf of a (JSON-shaped) run-config template is a Jinja2 template rendered
in :class:`jinja2.sandbox.SandboxedEnvironment` with :class:`jinja2.StrictUndefined`, so
a template that names an unknown variable, calls an unknown filter or reaches into Python
internals (``{{ scheduled_time.__class__ }}``) fails with :class:`TemplateError` instead
of rendering an empty string or running code from a custom resource.

Variables (``template_context``), following Airflow's data-interval vocabulary that
DESIGN.md adopts:

* ``scheduled_time``: the tick, an aware :class:`datetime` in the schedule's time zone;
* ``scheduled_date``: ``scheduled_time`` as ``YYYY-MM-DD`` (in that zone);
* ``data_interval_start`` / ``data_interval_end``: the previous cron tick (strictly
  before the scheduled time, by the CronJob controller's cron semantics in the
  schedule's zone: :meth:`assetcron.CronSchedule.prev`) and the
  scheduled time itself; without a cron both equal ``scheduled_time``;
* ``partition_key``: the run's partition key (a string) or ``None``;
* ``partition_start`` / ``partition_end``: the run's time partition window (aware
  datetimes in the partitions' zone; hourly, daily, weekly, monthly or cron partitions),
  or ``None`` for static or no partitions;
* ``timezone``: the schedule's IANA zone name.

Filters for date arithmetic without code (each accepts an aware datetime, a date or an
ISO 8601 string such as a daily partition key, or an hourly key ``YYYY-MM-DD-HH:MM``,
with Dagster's ``-0500``-style suffix for the second of a repeated hour):
``days_ago(n)`` / ``add_days(n)`` (calendar days, wall clock kept across DST as
Python's aware arithmetic does), ``add_weeks(n)``, ``add_months(n)`` (calendar months,
the day clamped to the month's last), ``add_hours(n)`` (elapsed hours, computed in UTC),
``ds`` (``YYYY-MM-DD``), ``ds_nodash`` (``YYYYMMDD``), ``strftime(fmt)``,
``to_timezone(tz)``, ``start_of_hour``, ``start_of_day``, ``start_of_week(day_offset)``
(``day_offset`` 0 = Sunday, as Dagster's weekly partitions; default 1 = Monday),
``start_of_month``, ``end_of_month`` (the last day). ``ds``/``ds_nodash`` are Airflow's
macro names. docs/templates.md is the user-facing reference.

Jinja2 is imported on first use so that ``assetcron asset ...`` without run config
starts without it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assetcron._errors import TemplateError

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "DEFAULT_LIMITS",
    "FILTERS",
    "RenderLimits",
    "check_template",
    "render_run_config",
    "template_context",
]

#: Names of the variables every template may use.
VARIABLES = frozenset(
    {
        "scheduled_time",
        "scheduled_date",
        "data_interval_start",
        "data_interval_end",
        "partition_key",
        "partition_start",
        "partition_end",
        "timezone",
    }
)


def _as_datetime(value: object) -> datetime | date:
    """Coerce a filter input: datetimes and dates pass, ISO 8601 strings are parsed."""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:  # YYYY-MM-DD, a daily partition key
                return date.fromisoformat(value)
            if len(value) in (16, 21) and value[10] == "-":
                # YYYY-MM-DD-HH:MM, an hourly key (the second of a repeated hour has its
                # UTC offset appended: 2024-11-03-01:00-0500)
                return datetime.fromisoformat(f"{value[:10]}T{value[11:]}")
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise TemplateError(f"expected a datetime, a date or an ISO 8601 string, got {value!r}")


def _days(value: object, n: int) -> datetime | date:
    return _as_datetime(value) + timedelta(days=n)


def days_ago(value: object, n: int = 1) -> datetime | date:
    """``value`` minus ``n`` calendar days (``{{ scheduled_time | days_ago(1) | ds }}``)."""
    return _days(value, -int(n))


def add_days(value: object, n: int = 1) -> datetime | date:
    """``value`` plus ``n`` calendar days (negative ``n`` goes back)."""
    return _days(value, int(n))


def add_weeks(value: object, n: int = 1) -> datetime | date:
    """``value`` plus ``n`` weeks (7 calendar days each; negative ``n`` goes back)."""
    return _days(value, 7 * int(n))


def add_months(value: object, n: int = 1) -> datetime | date:
    """``value`` plus ``n`` calendar months, the day clamped to the target month's last
    (``2024-01-31 | add_months(1)`` is ``2024-02-29``); the wall clock is kept."""
    dt = _as_datetime(value)
    months = dt.year * 12 + (dt.month - 1) + int(n)
    year, month = divmod(months, 12)
    if not 1 <= year <= 9999:
        raise TemplateError(f"add_months({n}) leaves the years 1..9999")
    day = min(dt.day, _days_in_month(year, month + 1))
    return dt.replace(year=year, month=month + 1, day=day)


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def add_hours(value: object, n: int = 1) -> datetime:
    """``value`` plus ``n`` elapsed hours, computed in UTC and returned in value's zone."""
    dt = _as_datetime(value)
    if not isinstance(dt, datetime):
        dt = datetime.combine(dt, time(), tzinfo=UTC)
    if dt.tzinfo is None:
        return dt + timedelta(hours=int(n))
    return (dt.astimezone(UTC) + timedelta(hours=int(n))).astimezone(dt.tzinfo)


def ds(value: object) -> str:
    """``YYYY-MM-DD`` of ``value`` (in its own time zone)."""
    return _as_datetime(value).strftime("%Y-%m-%d")


def ds_nodash(value: object) -> str:
    """``YYYYMMDD`` of ``value`` (in its own time zone)."""
    return _as_datetime(value).strftime("%Y%m%d")


def strftime(value: object, fmt: str) -> str:
    """``value.strftime(fmt)`` (Python's format codes)."""
    return _as_datetime(value).strftime(str(fmt))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TemplateError(f"unknown time zone {name!r}") from exc


def to_timezone(value: object, tz: str) -> datetime:
    """The same instant in IANA zone ``tz``; a date is taken as midnight UTC."""
    dt = _as_datetime(value)
    if not isinstance(dt, datetime):
        dt = datetime.combine(dt, time(), tzinfo=UTC)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(_zone(tz))


def start_of_day(value: object) -> datetime | date:
    """Midnight of ``value``'s day in its own zone (a date stays a date)."""
    dt = _as_datetime(value)
    if not isinstance(dt, datetime):
        return dt
    return datetime.combine(dt.date(), time(), tzinfo=dt.tzinfo)


def start_of_hour(value: object) -> datetime:
    """``value`` with minutes, seconds and microseconds cleared (a date: its midnight)."""
    dt = _as_datetime(value)
    if not isinstance(dt, datetime):
        return datetime.combine(dt, time())
    return dt.replace(minute=0, second=0, microsecond=0)


def start_of_week(value: object, day_offset: int = 1) -> datetime | date:
    """The latest day at or before ``value`` that is weekday ``day_offset`` (0 = Sunday
    .. 6 = Saturday, cron's and Dagster's ``WeeklyPartitionsDefinition(day_offset=)``
    numbering; default 1 = Monday), at midnight for datetimes."""
    offset = int(day_offset)
    if not 0 <= offset <= 6:
        raise TemplateError(f"start_of_week: day_offset must be 0..6 (0 = Sunday), got {offset}")
    dt = _as_datetime(value)
    day = dt.date() if isinstance(dt, datetime) else dt
    cron_weekday = (day.weekday() + 1) % 7  # Python: Monday == 0; cron: Sunday == 0
    first = day - timedelta(days=(cron_weekday - offset) % 7)
    if not isinstance(dt, datetime):
        return first
    return datetime.combine(first, time(), tzinfo=dt.tzinfo)


def end_of_month(value: object) -> datetime | date:
    """The last day of ``value``'s month, at midnight for datetimes."""
    dt = _as_datetime(value)
    last = dt.replace(day=_days_in_month(dt.year, dt.month))
    if not isinstance(last, datetime):
        return last
    return datetime.combine(last.date(), time(), tzinfo=last.tzinfo)


def start_of_month(value: object) -> datetime | date:
    """The first day of ``value``'s month, at midnight for datetimes."""
    dt = _as_datetime(value)
    if not isinstance(dt, datetime):
        return dt.replace(day=1)
    return datetime.combine(dt.date().replace(day=1), time(), tzinfo=dt.tzinfo)


#: The filters every template may use, by name.
FILTERS: Mapping[str, Any] = {
    "days_ago": days_ago,
    "add_days": add_days,
    "add_hours": add_hours,
    "add_weeks": add_weeks,
    "add_months": add_months,
    "ds": ds,
    "ds_nodash": ds_nodash,
    "strftime": strftime,
    "to_timezone": to_timezone,
    "start_of_hour": start_of_hour,
    "start_of_day": start_of_day,
    "start_of_week": start_of_week,
    "start_of_month": start_of_month,
    "end_of_month": end_of_month,
}


#: Longest string a leaf may render to, and longest string or list a ``*`` may make
#: (characters or items). Run-config values are dates, paths and small settings.
MAX_OUTPUT_CHARS = 2**20
#: Most decimal digits a ``*`` or ``**`` of two integers may make: Python's own default
#: limit on printing an int (``sys.get_int_max_str_digits()``), so a bigger number could
#: not be rendered anyway; refusing it up front avoids computing ``9**(9**9)``.
MAX_INT_DIGITS = 4300
_LOG10_2 = math.log10(2)


@dataclass(frozen=True)
class RenderLimits:
    """Bounds on rendering one run config (all its leaves together), see
    :func:`render_run_config`.

    ``seconds``: wall-clock time (float) for the whole run config. ``memory_bytes``:
    memory (address space, bytes) rendering may add to the process. ``output_chars``:
    the longest string one leaf may render to, and the longest string (characters) or
    list (items) a ``*`` may make.
    """

    seconds: float = 5.0
    memory_bytes: int = 256 * 2**20
    output_chars: int = MAX_OUTPUT_CHARS


#: The limits :func:`render_run_config` applies unless told otherwise.
DEFAULT_LIMITS = RenderLimits()


def _refuse_oversized(operator: str, left: object, right: object, max_chars: int) -> None:
    """Raise :class:`TemplateError` when ``left <operator> right`` would be too big, before
    computing it (the check is arithmetic on the operands' sizes)."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int):
                size = len(seq) * times
                if size > max_chars:
                    what = "character string" if isinstance(seq, str) else "item list"
                    raise TemplateError(f"'*' would make a {size}-{what} (limit {max_chars})")
        if isinstance(left, int) and isinstance(right, int):
            digits = (left.bit_length() + right.bit_length()) * _LOG10_2
            if digits > MAX_INT_DIGITS:
                raise TemplateError(
                    f"'*' would make a number of about {int(digits)} digits "
                    f"(limit {MAX_INT_DIGITS})"
                )
    elif (
        operator == "**"
        and isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and abs(left) > 1
    ):
        digits = right * math.log10(abs(left))
        if digits > MAX_INT_DIGITS:
            raise TemplateError(
                f"'**' would make a number of about {int(digits)} digits (limit {MAX_INT_DIGITS})"
            )


@functools.cache
def _environment(max_chars: int = MAX_OUTPUT_CHARS) -> SandboxedEnvironment:
    """The sandbox every template renders in: StrictUndefined, our filters, and ``*`` and
    ``**`` intercepted (Jinja2's documented ``intercepted_binops``) so that a result
    beyond ``max_chars`` characters or :data:`MAX_INT_DIGITS` digits is refused before
    it is computed. Intercepted operators are also never constant-folded by the
    compiler (``nodes.BinExpr.as_const`` checks them in a sandbox)."""
    from jinja2 import StrictUndefined
    from jinja2.runtime import Context
    from jinja2.sandbox import SandboxedEnvironment

    class BoundedEnvironment(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
            _refuse_oversized(operator, left, right, max_chars)
            return super().call_binop(context, operator, left, right)

    env = BoundedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters.update(FILTERS)
    return env


def template_context(
    *,
    scheduled_time: datetime,
    timezone: str = "UTC",
    cron_schedule: str | None = None,
    partition_key: str | None = None,
    partition_window: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """The variables a run-config template sees (see the module docstring).

    ``partition_window`` is the run's time partition ``(start, end)`` (aware), shown as
    ``partition_start``/``partition_end``; None for static or no partitions.

    ``scheduled_time`` must be aware (any zone; it is converted to ``timezone``).
    ``data_interval_start`` is the previous tick of ``cron_schedule`` by the Kubernetes
    CronJob controller's semantics: the last tick strictly before the scheduled time in
    the sequence the controller runs (:meth:`assetcron.CronSchedule.prev`, robfig/cron v3
    in ``timezone``), so a tick the controller skips on a DST day is not a start either.
    Raises :class:`TemplateError` for a naive time, an unknown zone, a cron the
    controller refuses, or one without a tick in the five years before.
    """
    if scheduled_time.tzinfo is None:
        raise TemplateError("scheduled_time must be timezone-aware")
    tz = _zone(timezone)
    local = scheduled_time.astimezone(tz)
    start = local
    if cron_schedule:
        from assetcron._cron import CronError, parse

        try:
            previous = parse(cron_schedule, tz).prev(local)
        except CronError as exc:
            raise TemplateError(f"invalid cron schedule {cron_schedule!r}: {exc}") from exc
        if previous is None:
            raise TemplateError(
                f"cron schedule {cron_schedule!r} has no tick in the five years before"
                f" {local.isoformat()}"
            )
        start = previous
    return {
        "scheduled_time": local,
        "scheduled_date": local.strftime("%Y-%m-%d"),
        "data_interval_start": start,
        "data_interval_end": local,
        "partition_key": partition_key,
        "partition_start": partition_window[0] if partition_window else None,
        "partition_end": partition_window[1] if partition_window else None,
        "timezone": timezone,
    }


def _where(path: tuple[str | int, ...]) -> str:
    return "/".join(str(p) for p in path) or "<root>"


def _render_str(
    text: str, context: Mapping[str, Any], path: tuple[str | int, ...], limits: RenderLimits
) -> str:
    if "{" not in text:  # no Jinja2 delimiter: nothing to render
        return text
    from jinja2 import TemplateError as JinjaError

    where = _where(path)
    try:
        out = _environment(limits.output_chars).from_string(text).render(context)
    except TemplateError as exc:
        raise TemplateError(f"run config {where}: {exc}") from exc
    except JinjaError as exc:
        raise TemplateError(f"run config {where}: {exc.message or exc}") from exc
    except RecursionError:
        raise TemplateError(
            f"run config {where}: recursion too deep (a macro calling itself without end, "
            "or expressions nested thousands deep)"
        ) from None
    except (TypeError, ValueError, OverflowError, ArithmeticError) as exc:
        raise TemplateError(f"run config {where}: {exc}") from exc
    if len(out) > limits.output_chars:
        raise TemplateError(
            f"run config {where}: renders to {len(out)} characters (limit {limits.output_chars})"
        )
    return out


_Leaf = Callable[[str, tuple[str | int, ...]], str]


def _walk(value: Any, leaf: _Leaf, path: tuple[str | int, ...]) -> Any:
    if isinstance(value, str):
        return leaf(value, path)
    if isinstance(value, Mapping):
        return {str(k): _walk(v, leaf, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, leaf, (*path, i)) for i, v in enumerate(value)]
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TemplateError(f"run config {_where(path)}: not JSON-shaped ({type(value).__name__})")


def _has_jinja(value: Any) -> bool:
    if isinstance(value, str):
        return "{" in value
    if isinstance(value, Mapping):
        return any(_has_jinja(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_jinja(v) for v in value)
    return False


def _render_in_child(
    template: Mapping[str, Any], context: Mapping[str, Any], limits: RenderLimits
) -> dict[str, Any]:
    from assetcron._bounded import LimitExceeded, Limits, run_bounded

    _environment(limits.output_chars)  # import Jinja2 once, in the parent

    def render(progress: Callable[[str], None]) -> dict[str, Any]:
        def leaf(text: str, path: tuple[str | int, ...]) -> str:
            if "{" in text:
                progress(_where(path))
            return _render_str(text, context, path, limits)

        try:
            return {"ok": _walk(template, leaf, ())}
        except TemplateError as exc:
            return {"error": str(exc)}

    try:
        outcome = run_bounded(
            render, Limits(seconds=limits.seconds, memory_bytes=limits.memory_bytes)
        )
    except LimitExceeded as exc:
        raise TemplateError(f"run config {exc.at or ''}".rstrip() + f": {exc.reason}") from None
    if "error" in outcome:
        raise TemplateError(outcome["error"])
    rendered: dict[str, Any] = outcome["ok"]
    return rendered


def render_run_config(
    template: Mapping[str, Any],
    *,
    scheduled_time: datetime,
    timezone: str = "UTC",
    cron_schedule: str | None = None,
    partition_key: str | None = None,
    partition_window: tuple[datetime, datetime] | None = None,
    limits: RenderLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Render every string leaf of ``template`` for one tick; return a new dict.

    Non-string leaves (numbers, booleans, null) are copied; rendered leaves are strings.

    Rendering is bounded by ``limits`` (:class:`RenderLimits`; default 5 s of wall time,
    256 MiB of memory, 1 MiB characters per leaf): when any leaf contains ``{``, the whole
    template renders in a forked child process (:mod:`assetcron._bounded`: the parent
    kills it at the deadline; the child caps its own address space and CPU time), and
    ``*`` / ``**`` refuse results beyond the size limits before computing them. A
    template without ``{`` is copied in-process at no cost. Forking is safe because the
    callers (the runner before any asset runs, ``assetcron schedule preview``) are
    single-threaded; the operator never renders.

    Raises:
        TemplateError: the message names the leaf's path (``run config
            ops/a/config/date: 'foo' is undefined``) for a syntax error, an unknown
            variable or filter (StrictUndefined), access to Python internals (the
            Jinja2 sandbox's ``SecurityError``), a filter failing on its input, a
            ``range`` over 100000 items (the sandbox's ``MAX_RANGE``), a result over a
            size limit (``'*' would make a 1000000000-character string (limit
            1048576)``), runaway recursion, or a limit of the child (``rendering took
            longer than 5 s (limit)``, ``rendering needs more than 256 MiB (limit)``;
            the path is the leaf being rendered then).
    """
    context = template_context(
        scheduled_time=scheduled_time,
        timezone=timezone,
        cron_schedule=cron_schedule,
        partition_key=partition_key,
        partition_window=partition_window,
    )
    if _has_jinja(template):
        return _render_in_child(template, context, limits)
    rendered: dict[str, Any] = _walk(
        template, lambda text, path: _render_str(text, context, path, limits), ()
    )
    return rendered


#: Names the template itself may bind, and only where the construct that binds them is
#: present: ``loop`` inside a for loop, ``caller`` / ``varargs`` / ``kwargs`` inside a
#: macro or call block.
_IMPLICIT_NAMES: dict[str, tuple[str, ...]] = {
    "loop": ("For",),
    "caller": ("Macro", "CallBlock"),
    "varargs": ("Macro", "CallBlock"),
    "kwargs": ("Macro", "CallBlock"),
}


def _preorder(root: Any) -> list[Any]:
    """Every node under ``root`` (included) in document order, without recursion (a
    template nested thousands deep must not hit Python's recursion limit here)."""
    out: list[Any] = []
    stack = [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(list(node.iter_child_nodes())))
    return out


def _problem(ast: Any, env: SandboxedEnvironment) -> str | None:
    """The first reason the parsed template ``ast`` cannot render, or ``None``.

    Walks the syntax tree only; nothing is compiled or evaluated (Jinja2's code
    generator, and so ``meta.find_undeclared_variables``, folds constant expressions
    such as ``9**(9**7)`` or ``'x'|center(10**9)``, which would stall the operator).
    """
    from jinja2 import nodes

    every = _preorder(ast)
    for node in every:  # what env.compile() reports: unknown filters and tests
        if isinstance(node, nodes.Filter) and node.name not in env.filters:
            return f"No filter named {node.name!r}."
        if isinstance(node, nodes.Test) and node.name not in env.tests:
            return f"No test named {node.name!r}."
    kinds = {type(node).__name__ for node in every}
    bound = {n.name for n in every if isinstance(n, nodes.Name) and n.ctx in ("store", "param")}
    bound |= {n.name for n in every if isinstance(n, nodes.Macro)}
    bound |= {n.target for n in every if isinstance(n, nodes.Import)}
    for n in every:
        if isinstance(n, nodes.FromImport):
            bound |= {name if isinstance(name, str) else name[1] for name in n.names}
    bound |= {name for name, where in _IMPLICIT_NAMES.items() if kinds.intersection(where)}
    loaded = {n.name for n in every if isinstance(n, nodes.Name) and n.ctx == "load"}
    loaded |= {n.name for n in every if isinstance(n, nodes.NSRef)}
    unknown = sorted(loaded - bound - VARIABLES - env.globals.keys())
    if unknown:
        return f"{unknown[0]!r} is undefined"
    for node in every:
        if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.NSRef):
            arg: object = getattr(node, "attr", None) or getattr(node, "arg", None)
            name = getattr(arg, "value", arg)
            if isinstance(name, str) and name.startswith("_"):
                return f"access to attribute {name!r} is unsafe"
    return None


def _check(value: Any, path: tuple[str | int, ...]) -> None:
    if isinstance(value, str):
        if "{" not in value:
            return
        from jinja2 import TemplateError as JinjaError

        env = _environment()
        try:
            ast = env.parse(value)
            problem = _problem(ast, env)
        except JinjaError as exc:
            raise TemplateError(f"run config {_where(path)}: {exc.message or exc}") from exc
        except RecursionError:
            raise TemplateError(f"run config {_where(path)}: nested too deeply") from None
        except (ValueError, OverflowError) as exc:  # e.g. an integer literal of 5000 digits
            raise TemplateError(f"run config {_where(path)}: {exc}") from None
        if problem is not None:
            raise TemplateError(f"run config {_where(path)}: {problem}")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _check(v, (*path, str(k)))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check(v, (*path, i))


def check_template(template: Mapping[str, Any]) -> None:
    """Check a run-config template without rendering it (for the operator's validation).

    Every string leaf containing ``{`` is parsed (``Environment.parse``) and its syntax
    tree walked; nothing is compiled or evaluated, so the check costs time linear in the
    template's length whatever the template computes (the operator runs it for every
    spec). Checks the Jinja2 syntax, that every filter and test exists (the message is
    Jinja2's own, ``No filter named 'x'.``), that every variable is one of ``VARIABLES``,
    a Jinja2 global (``range``, ``namespace``, ...) or bound in the template, and that
    no attribute or item starting with ``_`` is accessed (the sandbox's rule for Python
    internals). A name bound anywhere in the template counts as bound everywhere, so a
    variable used outside the loop that binds it passes here and fails when rendering,
    as do other unsafe accesses and ``{% include %}``-like tags (there is no loader).

    Raises:
        TemplateError: the first problem, naming the leaf's path
            (``run config ops/a/config/x: 'nope' is undefined``).
    """
    _check(template, ())
