"""Checks the CRD schema cannot express, run by the operator before it renders anything.

Pure functions (no I/O, no clock). Each raises :class:`InvalidSpecError` whose ``reason``
(CamelCase) and ``message`` (one line) go straight into the schedule's ``Ready=False``
condition, so a bad spec becomes a clear status instead of a retry loop.

What is checked here and why the schema cannot:

* ``cronSchedule`` under Kubernetes' rules (robfig/cron ``ParseStandard`` as the CronJob
  controller uses it, https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax):
  five fields or a macro, no seconds, no ``@every``, no ``TZ=``/``CRON_TZ=``, ranges in
  bounds and ascending; then robfig/cron v3 (our port, assetcron.parse_cron) must parse it
  and find a next tick within its five-year search,
  which refuses crons that can never fire (``0 0 31 2 *``).
* ``timeZone`` exists in the IANA database (zoneinfo).
* ``selection`` parses with the runner's :func:`assetcron.parse_selection`.
* run-config templates (and ``partitionKey``) are syntactically valid sandboxed Jinja2
  (:func:`assetcron.check_template`).
* the merged run config fits :data:`RUN_CONFIG_BUDGET_BYTES` once serialized: it travels
  in an environment variable and is compared through annotations.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ValidationError

from assetcron import (
    CronError,
    SelectionSyntaxError,
    TemplateError,
    check_template,
    parse_cron,
    parse_selection,
)
from assetcron_operator.models import (
    CRON_FIELD_PATTERNS,
    CRON_MACROS,
    AssetJob,
    AssetJobSpec,
    AssetSchedule,
    AssetScheduleSpec,
)
from assetcron_operator.render import merge_run_config, run_config_json

__all__ = [
    "RUN_CONFIG_BUDGET_BYTES",
    "InvalidSpecError",
    "check_run_config_budget",
    "did_you_mean",
    "parse_asset_job",
    "parse_asset_schedule",
    "validate_asset_job",
    "validate_asset_schedule",
    "validate_cron",
    "validate_run_config_template",
    "validate_selection",
    "validate_time_zone",
]

#: Largest serialized (compact JSON, UTF-8) merged run config: 64 KiB. Kubernetes caps all
#: annotations of an object at 256 KiB together, and the value is also an env var of every
#: run pod; 64 KiB leaves room for kubectl's last-applied annotation and the rest.
RUN_CONFIG_BUDGET_BYTES = 64 * 1024

#: How deep a spec may nest (objects and lists, counted from ``spec``). Dagster run config
#: is ``ops.<asset>.config.<field>...``: a handful of levels; 32 leaves room for nested
#: config while keeping every later step (copies, JSON in the run pod's environment, the
#: runner's parse) far from Python's recursion limit.
MAX_SPEC_DEPTH = 32

#: Fixed start of the "can this cron ever fire" search, so the check needs no clock.
_REFERENCE_TIME = datetime(2000, 1, 1, tzinfo=UTC)

_FIELD_RES = tuple(
    (name, bounds, re.compile(rf"^(?:{pattern})$")) for name, bounds, pattern in CRON_FIELD_PATTERNS
)
_NAMES = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
} | {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}

_M = TypeVar("_M", bound=BaseModel)


class InvalidSpecError(ValueError):
    """A spec the operator refuses; becomes ``Ready=False`` with ``reason`` and ``message``.

    Attributes:
        reason: CamelCase condition reason (``InvalidSpec``, ``InvalidSchedule``,
            ``InvalidTimeZone``, ``InvalidSelection``, ``InvalidRunConfig``).
        message: one line naming the field and what is wrong with it.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = " ".join(message.split())
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------- cron


def _range_start_end(element: str) -> tuple[str, str] | None:
    base = element.split("/", 1)[0]
    if "-" not in base:
        return None
    start, end = base.split("-", 1)
    return start, end


def _value(token: str) -> int:
    return _NAMES[token.lower()] if token.lower() in _NAMES else int(token)


def validate_cron(expression: str) -> str:
    """Check ``expression`` as the Kubernetes CronJob controller reads it.

    Returns:
        The equivalent five-field expression (a macro such as ``@daily`` expanded), which
        :func:`assetcron.parse_cron` (the controller's robfig/cron v3 semantics) and
        :func:`assetcron_operator.status.next_ticks` accept.

    Raises:
        InvalidSpecError: reason ``InvalidSchedule``; the message names ``spec.cronSchedule``.
    """

    def bad(why: str) -> InvalidSpecError:
        return InvalidSpecError("InvalidSchedule", f"spec.cronSchedule {expression!r}: {why}")

    text = expression.strip()
    if not text:
        raise bad("must not be empty")
    if "TZ=" in text:
        raise bad("TZ= and CRON_TZ= are not supported; set spec.timeZone instead")
    if text.startswith("@"):
        if text not in CRON_MACROS:
            raise bad(
                "unsupported macro; use one of "
                + ", ".join(CRON_MACROS)
                + " (@every is not supported by Kubernetes CronJobs)"
            )
        text = CRON_MACROS[text]
    fields = text.split()
    if len(fields) != len(_FIELD_RES):
        raise bad(
            f"has {len(fields)} fields; Kubernetes needs exactly 5 (minute hour day-of-month"
            " month day-of-week), seconds and years are not supported"
        )
    for field, (name, bounds, regex) in zip(fields, _FIELD_RES, strict=True):
        if not regex.match(field):
            raise bad(f"{name} field {field!r} must be *, ?, a value, range or list in {bounds}")
        for element in field.split(","):
            span = _range_start_end(element)
            if span and _value(span[0]) > _value(span[1]):
                raise bad(f"{name} range {element!r} is descending; Kubernetes refuses it")
    normalized = " ".join(fields)
    try:
        schedule = parse_cron(normalized, "UTC")
    except CronError as exc:  # what the controller's parser (robfig/cron v3) refuses
        raise bad(str(exc)) from exc
    if schedule.next(_REFERENCE_TIME) is None:  # robfig/cron searches five years ahead
        raise bad("can never fire (no matching date)")
    return normalized


def validate_time_zone(name: str) -> ZoneInfo:
    """Return the zone for ``name``, an IANA time zone (the CronJob ``timeZone`` rule).

    Raises:
        InvalidSpecError: reason ``InvalidTimeZone``.
    """
    if not name or name != name.strip() or name.lower() == "local":
        msg = f"spec.timeZone {name!r} is not an IANA time zone name"
        raise InvalidSpecError("InvalidTimeZone", msg)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = did_you_mean(name, _zone_names()) or "e.g. UTC, Europe/Paris"
        msg = f"spec.timeZone {name!r} is not a known IANA time zone ({hint})"
        raise InvalidSpecError("InvalidTimeZone", msg) from exc


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """``"did you mean 'x'?"`` for the candidate closest to ``word``, or ``None``.

    A candidate equal to ``word`` but for case wins (``europe/paris`` ->
    ``Europe/Paris``); otherwise :func:`difflib.get_close_matches` with its default
    similarity cutoff (0.6), as Python's own "Did you mean" suggestions do.
    """
    pool = sorted(set(candidates) - {word})
    folded = [c for c in pool if c.casefold() == word.casefold()]
    close = folded or difflib.get_close_matches(word, pool, n=1)
    return f"did you mean {close[0]!r}?" if close else None


# ----------------------------------------------------------------- runner checks


def validate_selection(text: str) -> None:
    """Check that ``text`` parses as a Dagster asset selection string.

    Only the syntax: which keys exist is known inside the code location's image, so the
    runner reports unknown keys at run time.

    Raises:
        InvalidSpecError: reason ``InvalidSelection``.
    """
    if not text.strip():
        raise InvalidSpecError("InvalidSelection", "spec.selection must not be empty")
    try:
        parse_selection(text)
    except SelectionSyntaxError as exc:
        raise InvalidSpecError("InvalidSelection", f"spec.selection {text!r}: {exc}") from exc


def validate_run_config_template(template: Mapping[str, Any], *, field: str) -> None:
    """Check that every string leaf of ``template`` is a syntactically valid template.

    Args:
        template: JSON-shaped run-config template.
        field: the spec path named in the error, e.g. ``spec.runConfig``.

    Raises:
        InvalidSpecError: reason ``InvalidRunConfig``.
    """
    try:
        check_template(template)
    except TemplateError as exc:
        raise InvalidSpecError("InvalidRunConfig", f"{field}: {exc}") from exc


def check_run_config_budget(run_config: Mapping[str, Any]) -> int:
    """Return the size in bytes of the serialized run config, if within budget.

    Raises:
        InvalidSpecError: reason ``InvalidRunConfig`` when it exceeds
            :data:`RUN_CONFIG_BUDGET_BYTES` (64 KiB).
    """
    size = len(run_config_json(run_config).encode("utf-8"))
    if size > RUN_CONFIG_BUDGET_BYTES:
        msg = (
            f"spec.runConfig: the merged run config is {size} bytes of JSON, over the"
            f" {RUN_CONFIG_BUDGET_BYTES}-byte budget (it is passed in an env var);"
            " keep large inputs in files or resources"
        )
        raise InvalidSpecError("InvalidRunConfig", msg)
    return size


# ------------------------------------------------------------------- whole resources


def spec_depth(value: Any) -> tuple[int, str]:
    """How deep ``value`` nests and where: the first two steps of the path to its
    deepest point.

    Returns ``(depth, path)``: objects and lists count one level each, scalars none, so
    ``{"a": {"b": {"c": 1}}}`` is ``(3, "a.b")``. Iterative, and the path kept short: a
    value nested thousands of levels deep (the API server stores up to 10,000) costs no
    recursion and memory in proportion to its size only.
    """
    best = (0, "")
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, Mapping):
            items: list[tuple[str, Any]] = [(str(k), v) for k, v in node.items()]
        elif isinstance(node, list):
            items = [(f"[{i}]", v) for i, v in enumerate(node)]
        else:
            continue
        depth += 1
        if depth > best[0]:
            best = (depth, path)
        for step, child in items:
            sep = "" if not path or step.startswith("[") else "."
            child_path = path if depth > 2 else f"{path}{sep}{step}"
            stack.append((child, depth, child_path))
    return best


def _check_depth(body: Mapping[str, Any]) -> None:
    depth, path = spec_depth(body.get("spec"))
    if depth > MAX_SPEC_DEPTH:
        msg = (
            f"spec.{path}: nested {depth} levels deep, over the limit of {MAX_SPEC_DEPTH}"
            " (run config and pod settings are a few levels deep)"
        )
        raise InvalidSpecError("InvalidSpec", msg)


def _parse(model: type[_M], body: Mapping[str, Any]) -> _M:
    _check_depth(body)
    try:
        return model.model_validate(dict(body))
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:3]:
            where = ".".join(str(part) for part in error["loc"])
            problems.append(f"{where}: {error['msg']}")
        more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        raise InvalidSpecError("InvalidSpec", "; ".join(problems) + more) from exc


def parse_asset_job(body: Mapping[str, Any]) -> AssetJob:
    """Parse a raw AssetJob body (as kopf gives it) into the model.

    Raises:
        InvalidSpecError: reason ``InvalidSpec`` naming the first offending fields, or
            the field nested deeper than :data:`MAX_SPEC_DEPTH`.
    """
    return _parse(AssetJob, body)


def parse_asset_schedule(body: Mapping[str, Any]) -> AssetSchedule:
    """Parse a raw AssetSchedule body (as kopf gives it) into the model.

    Raises:
        InvalidSpecError: reason ``InvalidSpec`` naming the first offending fields, or
            the field nested deeper than :data:`MAX_SPEC_DEPTH`.
    """
    return _parse(AssetSchedule, body)


def validate_asset_job(spec: AssetJobSpec) -> None:
    """Operator-side checks of an AssetJob spec: selection syntax, run config, budget.

    Raises:
        InvalidSpecError: the first problem found.
    """
    validate_selection(spec.selection)
    validate_run_config_template(spec.run_config, field="spec.runConfig")
    check_run_config_budget(spec.run_config)


def validate_asset_schedule(spec: AssetScheduleSpec, job: AssetJobSpec | None = None) -> str:
    """Operator-side checks of an AssetSchedule spec (and of the merge with its job).

    Args:
        spec: the schedule's spec.
        job: the referenced AssetJob's spec when it exists; then the merged run config's
            size is checked too.

    Returns:
        The five-field cron expression (macros expanded).

    Raises:
        InvalidSpecError: the first problem found.
    """
    cron = validate_cron(spec.cron_schedule)
    validate_time_zone(spec.time_zone)
    validate_run_config_template(spec.run_config, field="spec.runConfig")
    if spec.partition_key is not None:
        validate_run_config_template(
            {"partitionKey": spec.partition_key}, field="spec.partitionKey"
        )
    merged = merge_run_config(job.run_config, spec.run_config) if job else spec.run_config
    check_run_config_budget(merged)
    return cron
