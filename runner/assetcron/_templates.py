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
  before the scheduled time, computed with croniter in the schedule's zone) and the
  scheduled time itself; without a cron both equal ``scheduled_time``;
* ``partition_key``: the run's partition key (a string) or ``None``;
* ``timezone``: the schedule's IANA zone name.

Filters for date arithmetic without code (each accepts an aware datetime, a date or an
ISO 8601 string such as a daily partition key): ``days_ago(n)`` / ``add_days(n)``
(calendar days, wall clock kept across DST as Python's aware arithmetic does),
``add_hours(n)`` (elapsed hours, computed in UTC), ``ds`` (``YYYY-MM-DD``), ``ds_nodash``
(``YYYYMMDD``), ``strftime(fmt)``, ``to_timezone(tz)``, ``start_of_day``,
``start_of_month``. ``ds``/``ds_nodash`` are Airflow's macro names.

Jinja2 is imported on first use so that ``assetcron asset ...`` without run config
starts without it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assetcron._errors import TemplateError

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

__all__ = ["FILTERS", "check_template", "render_run_config", "template_context"]

#: Names of the variables every template may use.
VARIABLES = frozenset(
    {
        "scheduled_time",
        "scheduled_date",
        "data_interval_start",
        "data_interval_end",
        "partition_key",
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
    "ds": ds,
    "ds_nodash": ds_nodash,
    "strftime": strftime,
    "to_timezone": to_timezone,
    "start_of_day": start_of_day,
    "start_of_month": start_of_month,
}


@functools.cache
def _environment() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters.update(FILTERS)
    return env


def template_context(
    *,
    scheduled_time: datetime,
    timezone: str = "UTC",
    cron_schedule: str | None = None,
    partition_key: str | None = None,
) -> dict[str, Any]:
    """The variables a run-config template sees (see the module docstring).

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
        "timezone": timezone,
    }


def _where(path: tuple[str | int, ...]) -> str:
    return "/".join(str(p) for p in path) or "<root>"


def _render_str(text: str, context: Mapping[str, Any], path: tuple[str | int, ...]) -> str:
    if "{" not in text:  # no Jinja2 delimiter: nothing to render
        return text
    from jinja2 import TemplateError as JinjaError

    try:
        return _environment().from_string(text).render(context)
    except TemplateError as exc:
        raise TemplateError(f"run config {_where(path)}: {exc}") from exc
    except JinjaError as exc:
        raise TemplateError(f"run config {_where(path)}: {exc.message or exc}") from exc
    except (TypeError, ValueError, OverflowError, ArithmeticError) as exc:
        raise TemplateError(f"run config {_where(path)}: {exc}") from exc


def _walk(value: Any, context: Mapping[str, Any], path: tuple[str | int, ...]) -> Any:
    if isinstance(value, str):
        return _render_str(value, context, path)
    if isinstance(value, Mapping):
        return {str(k): _walk(v, context, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, context, (*path, i)) for i, v in enumerate(value)]
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TemplateError(f"run config {_where(path)}: not JSON-shaped ({type(value).__name__})")


def render_run_config(
    template: Mapping[str, Any],
    *,
    scheduled_time: datetime,
    timezone: str = "UTC",
    cron_schedule: str | None = None,
    partition_key: str | None = None,
) -> dict[str, Any]:
    """Render every string leaf of ``template`` for one tick; return a new dict.

    Non-string leaves (numbers, booleans, null) are copied; rendered leaves are strings.
    Raises :class:`TemplateError` (message names the leaf's path, e.g.
    ``run config ops/a/config/date: 'foo' is undefined``) for a syntax error, an unknown
    variable or filter (StrictUndefined), access to Python internals (the Jinja2
    sandbox's ``SecurityError``) or a filter failing on its input.
    """
    context = template_context(
        scheduled_time=scheduled_time,
        timezone=timezone,
        cron_schedule=cron_schedule,
        partition_key=partition_key,
    )
    rendered: dict[str, Any] = _walk(template, context, ())
    return rendered


def _check(value: Any, path: tuple[str | int, ...]) -> None:
    if isinstance(value, str):
        if "{" not in value:
            return
        from jinja2 import TemplateError as JinjaError
        from jinja2 import meta, nodes

        env = _environment()
        try:
            ast = env.parse(value)
            env.compile(ast)  # unknown filters fail at compile time
        except JinjaError as exc:
            raise TemplateError(f"run config {_where(path)}: {exc.message or exc}") from exc
        unknown = sorted(meta.find_undeclared_variables(ast) - VARIABLES)
        if unknown:
            raise TemplateError(f"run config {_where(path)}: {unknown[0]!r} is undefined")
        for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
            arg: object = getattr(node, "attr", None) or getattr(node, "arg", None)
            name = getattr(arg, "value", arg)
            if isinstance(name, str) and name.startswith("_"):
                raise TemplateError(
                    f"run config {_where(path)}: access to attribute {name!r} is unsafe"
                )
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _check(v, (*path, str(k)))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check(v, (*path, i))


def check_template(template: Mapping[str, Any]) -> None:
    """Check a run-config template without rendering it (for the operator's validation).

    Checks the Jinja2 syntax of every string leaf, that every filter exists and that
    every top-level variable is one of ``VARIABLES`` and that no attribute or item
    starting with ``_`` is accessed (the sandbox's rule for Python internals; other
    unsafe accesses are caught when rendering).
    Raises :class:`TemplateError`.
    """
    _check(template, ())
