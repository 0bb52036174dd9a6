"""``assetcron asset list|status|materialize``: the runner CLI every CronJob pod executes.

Follows the Dagster CLI (``-f``/``-m``/``-a``, ``--select``, ``-c``) and DESIGN.md's
"Runner CLI". Exit codes: 0 success, 1 an asset failed (or was skipped because of
one) or an unexpected error, 2 bad input — including a storage that cannot be used: an
unsupported URI, a missing bucket, rejected credentials, an unreachable endpoint, a
read-only directory — with one ``error: ...`` line on stderr and nothing stored (no
value, no record), and 143 when SIGTERM ended the run (the running asset's record says
``Interrupted``, the run's partition locks are released). A storage failure during the
run (disk full, no write permission) fails the asset it hit, with one line naming the
object and what to do. Partition locks: ``--lock-wait`` / ``$ASSETCRON_LOCK_WAIT``
seconds to wait for another run's (default 300), ``$ASSETCRON_LOCK_TTL`` seconds a lock
outlives its holder (default 60; :mod:`assetcron._locks`).

Every way ``materialize`` ends writes the termination summary
(:mod:`assetcron._summary`) to ``$ASSETCRON_TERMINATION_LOG``, which the operator shows
in the schedule's ``status.recentRuns``: a finished run its counts and asset outcomes;
a run that stopped early also a one-line ``message``: the bad-input line (as on stderr,
without ``error:``), ``terminated by SIGTERM after N s while materializing a/b``, or
``unexpected error while ...: Type: text`` (the traceback goes to stderr). Text in the
summary is redacted (:mod:`assetcron._redact`: environment values become ``***``);
stdout and stderr are not, since whoever reads the pod log can read its environment.

A Dagster code location (``defs`` a ``dagster.Definitions``; the extra
``assetcron[dagster]``) is handed to :mod:`assetcron._dagster` once loaded, for its
selection, partition, config check and execution; the run id, storage, locks, progress
lines, summary and exit codes above are the same for it.

Everything beyond argparse is imported inside the command functions so that the
parser builds fast and ``materialize`` only pays for what the run needs
(``benchmarks/startup.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from assetcron._dagster import DagsterCodeLocation
    from assetcron._graph import AssetKey
    from assetcron._locks import LockInfo
    from assetcron._schedules import RunRequest
    from assetcron._sdk import Definitions
    from assetcron._storage import ObjectStorage
    from assetcron._summary import AssetOutcome, CheckOutcome

__all__ = ["ENV_PARTITION_KEY", "ENV_RUN_CONFIG", "ENV_TERMINATION_LOG", "register"]

ENV_RUN_CONFIG = "ASSETCRON_RUN_CONFIG"
ENV_PARTITION_KEY = "ASSETCRON_PARTITION_KEY"
ENV_TERMINATION_LOG = "ASSETCRON_TERMINATION_LOG"
ENV_CRON_SCHEDULE = "ASSETCRON_CRON_SCHEDULE"
#: Set (``true``) by ``assetcron schedule trigger --force``: the same as ``--force``.
ENV_FORCE = "ASSETCRON_FORCE"
#: The ScheduleDefinition whose function the run evaluates for its tick
#: (``AssetSchedule.spec.scheduleDefinition``; the same as ``--schedule``).
ENV_SCHEDULE_DEFINITION = "ASSETCRON_SCHEDULE_DEFINITION"

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: 128 + SIGTERM, what a shell reports for a process the signal ended.
EXIT_TERMINATED = 143


def _add_location_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("-f", "--python-file", metavar="FILE.py", help="code location file")
    src.add_argument("-m", "--module-name", metavar="MODULE", help="code location module")
    p.add_argument(
        "-a", "--attribute", default="defs", metavar="ATTR", help="Definitions attribute"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``asset`` command group (``list``, ``status`` and ``materialize``) to
    ``subparsers``."""
    asset = subparsers.add_parser(
        "asset", help="list, show the status of, or materialize assets of a code location"
    )
    sub = asset.add_subparsers(dest="asset_command", metavar="SUBCOMMAND")
    sub.required = True

    ls = sub.add_parser("list", help="print the selected asset keys in materialization order")
    _add_location_args(ls)
    ls.add_argument("--select", default="*", metavar="EXPR", help="asset selection (default *)")
    ls.add_argument("--json", action="store_true", help="print JSON with each asset's metadata")
    ls.set_defaults(func=cmd_list)

    st = sub.add_parser(
        "status", help="which partitions of the selected assets are materialized (records)"
    )
    _add_location_args(st)
    st.add_argument("--select", default="*", metavar="EXPR", help="asset selection (default *)")
    st.add_argument(
        "--storage",
        metavar="URI",
        help="storage: a directory, file://, s3://, gs:// or az:// URI (default: "
        "$ASSETCRON_STORAGE, else ./.assetcron/storage)",
    )
    st.add_argument(
        "--at",
        metavar="ISO8601",
        help="time at which the partitions are listed (with an offset; default: now)",
    )
    st.add_argument("--json", action="store_true", help="print JSON with every partition")
    st.set_defaults(func=cmd_status)

    mat = sub.add_parser("materialize", help="materialize the selected assets for one tick")
    _add_location_args(mat)
    mat.add_argument("--select", required=True, metavar="EXPR", help="asset selection")
    mat.add_argument(
        "--scheduled-time",
        metavar="ISO8601",
        help="the tick (default: $ASSETCRON_SCHEDULED_TIME, then $ASSETCRON_JOB_NAME)",
    )
    mat.add_argument(
        "--timezone", metavar="TZ", help="IANA time zone (default: $ASSETCRON_TIMEZONE or UTC)"
    )
    mat.add_argument(
        "--partition-key",
        metavar="TEMPLATE",
        help="partition key, a template (default: $ASSETCRON_PARTITION_KEY, else derived)",
    )
    mat.add_argument(
        "--cron",
        metavar="CRON",
        help="cron schedule for data_interval_* ($ASSETCRON_CRON_SCHEDULE)",
    )
    mat.add_argument(
        "-c", "--config", metavar="RUN_CONFIG.yaml", help="run-config template (YAML or JSON)"
    )
    mat.add_argument(
        "--storage",
        metavar="URI",
        help="storage: a directory, file://, s3://, gs:// or az:// URI (default: "
        "$ASSETCRON_STORAGE, else ./.assetcron/storage)",
    )
    mat.add_argument(
        "--force", action="store_true", help="recompute assets this run already materialized"
    )
    mat.add_argument(
        "--schedule",
        metavar="NAME",
        help="evaluate this ScheduleDefinition's function for the tick and run what it asks"
        " for: its RunRequest's run config and partition, or skip (default:"
        " $ASSETCRON_SCHEDULE_DEFINITION)",
    )
    mat.add_argument(
        "--lock-wait",
        metavar="SECONDS",
        help="how long to wait for partitions another run is writing "
        "(default: $ASSETCRON_LOCK_WAIT, else 300)",
    )
    mat.add_argument(
        "--log-format",
        metavar="text|json",
        help="text, or json: every stdout/stderr line one JSON object with runId, assetKey,"
        " partitionKey and scheduledTime (default: $ASSETCRON_LOG_FORMAT, else text)",
    )
    mat.set_defaults(func=cmd_materialize)


def _bad_input(exc: BaseException) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _load(args: argparse.Namespace) -> tuple[Definitions | DagsterCodeLocation, str]:
    """The code location: native ``Definitions`` or a Dagster one (``assetcron._dagster``)."""
    from assetcron._loader import load_code_location

    return load_code_location(
        python_file=args.python_file,
        module_name=args.module_name,
        attribute=args.attribute,
        permanent=True,  # a run keeps its code location until the process exits
    )


def cmd_list(args: argparse.Namespace) -> int:
    """``assetcron asset list``: keys in plan order, one per line, or ``--json``."""
    from assetcron._errors import AssetcronError
    from assetcron._sdk import Definitions
    from assetcron._selection import plan as resolve

    try:
        defs, _ = _load(args)
        if not isinstance(defs, Definitions):
            dagster_plan = defs.plan(args.select)
            if not args.json:
                sys.stdout.write("".join(k + "\n" for k in dagster_plan.user_keys))
                return EXIT_OK
            import json

            print(json.dumps(dagster_plan.rows(), indent=2))
            return EXIT_OK
        plan = resolve(defs.graph, args.select)
    except AssetcronError as exc:
        return _bad_input(exc)
    if not args.json:
        sys.stdout.write("".join(k.to_user_string() + "\n" for k in plan))
        return EXIT_OK
    import json

    rows = []
    for key in plan:
        a = defs.assets[key]
        rows.append(
            {
                "key": key.to_user_string(),
                "opName": a.op_name,
                "group": a.group_name,
                "deps": [d.to_user_string() for d in a.deps],
                "tags": dict(a.tags),
                "owners": list(a.owners),
                "kinds": sorted(a.kinds),
                "description": a.description,
                "partitioned": a.partitions_def is not None,
            }
        )
    print(json.dumps(rows, indent=2))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """``assetcron asset status``: per asset, which partitions the records say are
    materialized, failed, in progress or missing (:mod:`assetcron._partition_status`); a
    table, or ``--json``. Native code locations only. Exit 2 for bad input or a storage
    that cannot be read."""
    from datetime import UTC, datetime

    from assetcron._errors import AssetcronError, InvalidDefinitionError
    from assetcron._partition_status import asset_status, format_table
    from assetcron._records import RecordStore
    from assetcron._sdk import Definitions
    from assetcron._selection import plan as resolve
    from assetcron._storage import DEFAULT_STORAGE, ENV_STORAGE, open_storage

    try:
        if args.at:
            try:
                now = datetime.fromisoformat(args.at)
            except ValueError:
                raise InvalidDefinitionError(f"--at {args.at!r} is not an ISO 8601 time") from None
            if now.tzinfo is None:
                raise InvalidDefinitionError(f"--at {args.at!r} needs an offset (e.g. Z)")
        else:
            now = datetime.now(UTC)
        defs, _ = _load(args)
        if not isinstance(defs, Definitions):
            raise InvalidDefinitionError(
                "asset status reads native code locations; for a Dagster one, use Dagster's"
                " own tools on the run's instance"
            )
        plan = resolve(defs.graph, args.select)
        storage = open_storage(args.storage or os.environ.get(ENV_STORAGE) or DEFAULT_STORAGE)
        records = RecordStore(storage)
        rows = []
        keys_of: dict[Any, list[str]] = {}  # assets sharing a definition list it once
        for key in plan:
            user_key = key.to_user_string()
            pd = defs.assets[key].partitions_def
            if pd is not None and pd not in keys_of:
                keys_of[pd] = pd.get_partition_keys(now)
            rows.append(
                asset_status(
                    user_key,
                    pd,
                    records.partition_states(user_key),
                    now,
                    keys_of.get(pd) if pd is not None else None,
                )
            )
    except AssetcronError as exc:
        return _bad_input(exc)
    if args.json:
        import json

        print(json.dumps([r.to_json() for r in rows], indent=2))
    else:
        print(format_table(rows))
    return EXIT_OK


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: mappings merge key by key, any other
    value in ``override`` replaces the one in ``base``."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_run_config_template(env: Mapping[str, str], path: str | None) -> dict[str, Any]:
    """``$ASSETCRON_RUN_CONFIG`` (JSON object) deep-merged with the ``-c`` file (YAML or
    JSON; the file wins). Raises :class:`RunConfigError` for unreadable or non-mapping
    input."""
    from assetcron._errors import RunConfigError

    template: dict[str, Any] = {}
    raw = env.get(ENV_RUN_CONFIG, "").strip()
    if raw:
        import json

        try:
            loaded = json.loads(raw)
        except ValueError as exc:
            raise RunConfigError(f"{ENV_RUN_CONFIG} is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise RunConfigError(f"{ENV_RUN_CONFIG} must be a JSON object")
        template = loaded
    if path:
        import yaml

        try:
            with open(path, encoding="utf-8") as fh:  # noqa: PTH123 - plain text read
                loaded = yaml.safe_load(fh)
        except OSError as exc:
            raise RunConfigError(f"cannot read run config {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise RunConfigError(f"run config {path} is not valid YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise RunConfigError(f"run config {path} must be a mapping")
        template = deep_merge(template, loaded)
    return template


def _bind(**fields: Any) -> None:
    from assetcron._runlog import bind

    bind(**fields)


def _progress(i: int, n: int, o: AssetOutcome) -> None:
    from assetcron._runlog import asset_scope

    with asset_scope(o.key):
        _progress_line(i, n, o)


def _progress_line(i: int, n: int, o: AssetOutcome) -> None:
    width = len(str(n))
    head = f"[{i:>{width}}/{n}] {o.key} ..."
    if o.outcome == "Materialized":
        line = f"{head} materialized ({o.duration:.2f}s)"
    elif o.outcome == "Reused":
        why = o.error or "stored with the same config, inputs and code"
        line = f"{head} reused ({why}; --force recomputes)"
    elif o.outcome == "Failed":
        line = f"{head} FAILED ({o.duration:.2f}s): {o.error}"
    else:
        line = f"{head} skipped ({o.error})"
    print(line, flush=True)


def _setup_logging(log_format: str = "text") -> None:
    """The ``assetcron`` logger's handler: to stderr, as text or as JSON lines
    (:mod:`assetcron._runlog`); set up once, its format follows each call."""
    import logging

    from assetcron._runlog import JsonFormatter, raw_stream

    class StderrHandler(logging.Handler):
        """Writes to the *current* ``sys.stderr`` (which tests and embedders swap), under
        the JSON-lines wrapper when there is one (the record is JSON already)."""

        def emit(self, record: logging.LogRecord) -> None:
            try:
                raw_stream(sys.stderr).write(self.format(record) + "\n")
            except Exception:  # logging must never break the run
                self.handleError(record)

    root = logging.getLogger("assetcron")
    root.setLevel(logging.INFO)
    handler = next((h for h in root.handlers if type(h).__name__ == "StderrHandler"), None)
    if handler is None:
        handler = StderrHandler()
        root.addHandler(handler)
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )


def _seconds(
    flag: str | None, env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0
) -> float:
    """Seconds from ``flag``, else ``$name``, else ``default``; raises
    :class:`RunConfigError` for a value that is not a finite number >= ``minimum``
    (> 0 when ``minimum`` is 0.001 or more)."""
    from assetcron._errors import RunConfigError

    raw = flag if flag is not None else env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= minimum or value == float("inf"):
        where = "--lock-wait" if flag is not None else name
        least = ">= 0" if minimum == 0 else "> 0"
        raise RunConfigError(f"{where} must be a number of seconds {least}, not {raw!r}")
    return value


class _Terminated(BaseException):
    """Raised by the SIGTERM handler to unwind the run (closing its records); a
    BaseException so that asset code catching ``Exception`` does not swallow it."""


class _Run:
    """What one ``materialize`` knows so far, so that every way it ends can write the
    termination summary: normally, on bad input, on an unexpected error, on SIGTERM.

    ``started`` is a :func:`time.monotonic` reading; the summary goes to ``log_path``
    (``$ASSETCRON_TERMINATION_LOG``; nothing is written without it), redacted with the
    environment at the time of writing (:mod:`assetcron._redact`).
    """

    def __init__(self, *, started: float, log_path: str | None) -> None:
        self.started = started
        self.log_path = log_path
        self.pid = os.getpid()
        self.run_id: str | None = None
        self.scheduled: datetime | None = None
        self.partition_key: str | None = None
        self.plan: list[str] = []
        self.outcomes: list[AssetOutcome] = []
        self.checks: list[CheckOutcome] = []
        self.doing = "starting"
        self.final = False  # the summary of a finished run is being written: keep it
        self.stop_message: str | None = None
        self.log_format = "text"

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def write(self, summary: dict[str, Any]) -> None:
        """Write ``summary`` to the termination log, if there is one (a failure to write
        is a warning: the run's outcome stands, only the summary is lost)."""
        if not self.log_path:
            return
        from assetcron._summary import write_termination_log

        try:
            write_termination_log(self.log_path, summary)
        except OSError as exc:
            print(
                f"warning: cannot write {ENV_TERMINATION_LOG}={self.log_path}: {exc}",
                file=sys.stderr,
            )

    def summary(self, message: str | None = None) -> dict[str, Any]:
        """The summary of the run so far; ``message`` says why it stopped early."""
        from assetcron._redact import Redactor
        from assetcron._summary import build_summary

        return build_summary(
            run_id=self.run_id,
            scheduled_time=self.scheduled,
            partition_key=self.partition_key,
            duration_seconds=self.elapsed(),
            outcomes=self.outcomes,
            message=message,
            redact=Redactor.from_environ(os.environ),
            checks=self.checks,
        )

    def stop(self, message: str) -> None:
        """Write the summary of a run that stops early, saying why in ``message``."""
        self.stop_message = message
        self.write(self.summary(message))

    def on_sigterm(self, signum: int, frame: object) -> None:
        """SIGTERM (pod deleted, Job deadline, concurrencyPolicy Replace): write why the
        run stopped, then unwind with :class:`_Terminated` (the running asset's record
        becomes ``Interrupted`` and the run's partition locks are released on the way)."""
        if os.getpid() != self.pid or self.final:
            return  # a forked child, or the finished run's summary is being written
        if self.plan and len(self.outcomes) < len(self.plan):
            self.doing = f"materializing {self.plan[len(self.outcomes)]}"
        self.stop(f"terminated by SIGTERM after {self.elapsed():.0f} s while {self.doing}")
        raise _Terminated("terminated by SIGTERM")


def cmd_materialize(args: argparse.Namespace) -> int:
    """``assetcron asset materialize``: one run for one tick (see the module docstring)."""
    import signal

    from assetcron import _runlog

    run = _Run(started=time.monotonic(), log_path=os.environ.get(ENV_TERMINATION_LOG))
    _runlog.reset()
    try:
        run.log_format = _runlog.resolve_log_format(args.log_format, os.environ)
    except ValueError as exc:
        run.stop(str(exc))
        return _bad_input(exc)
    restore_streams = _runlog.install(run.log_format)
    try:
        previous = signal.signal(signal.SIGTERM, run.on_sigterm)
    except ValueError:  # not the main thread (an embedder): no handler, no summary on SIGTERM
        previous = None
    try:
        return _materialize(args, run)
    except _Terminated:
        print(f"error: {run.stop_message}", file=sys.stderr)
        return EXIT_TERMINATED
    except Exception as exc:
        _log_traceback(run)  # the pod log keeps the whole story, unredacted
        text = " ".join(str(exc).split())
        error = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        run.stop(f"unexpected error while {run.doing}: {error}")
        return EXIT_FAILED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        restore_streams()


def _log_traceback(run: _Run) -> None:
    """The current exception's traceback on stderr: as text, or as one JSON line with
    the traceback in its ``exception`` field."""
    if run.log_format != "json":
        import traceback

        traceback.print_exc()
        return
    import logging

    _setup_logging(run.log_format)
    logging.getLogger("assetcron.run").exception(f"unexpected error while {run.doing}")


def _explicit_partition_key(
    args: argparse.Namespace, env: Mapping[str, str], run: _Run, tz_name: str, cron: str | None
) -> str | None:
    """``--partition-key`` / ``$ASSETCRON_PARTITION_KEY``, a template rendered for the
    tick, or None."""
    key_template = args.partition_key or env.get(ENV_PARTITION_KEY) or None
    if not key_template:
        return None
    from assetcron._templates import render_run_config

    assert run.scheduled is not None
    rendered: str = render_run_config(
        {"partition_key": key_template},
        scheduled_time=run.scheduled,
        timezone=tz_name,
        cron_schedule=cron,
    )["partition_key"]
    return rendered.strip()


def _evaluate_schedule(
    defs: Definitions, name: str, scheduled: datetime, tz_name: str
) -> RunRequest | str:
    """Evaluate schedule ``name``'s function for the tick, as Dagster's daemon would:
    its one :class:`RunRequest`, or the skip message (``str``). Raises
    :class:`InvalidDefinitionError` for an unknown schedule or several requests in one
    tick (each would be its own run: not supported yet)."""
    from zoneinfo import ZoneInfo

    from assetcron._errors import InvalidDefinitionError
    from assetcron._schedules import build_schedule_context

    schedule = defs.get_schedule_def(name)
    tick = scheduled.astimezone(ZoneInfo(tz_name))
    data = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick))
    if not data.run_requests:
        return data.skip_message or "the schedule function asked for no run"
    if len(data.run_requests) > 1:
        raise InvalidDefinitionError(
            f"schedule {name!r} asked for {len(data.run_requests)} runs in one tick; one run"
            " per tick is supported (return one RunRequest, or one AssetSchedule per run)"
        )
    return data.run_requests[0]


def _skipped(run: _Run, schedule_name: str, reason: str) -> int:
    """A tick the schedule function skipped: say so (stdout and the summary), exit 0."""
    message = f"skipped by schedule {schedule_name}: {reason}"
    print(message, flush=True)
    run.final = True
    summary = run.summary()
    summary["result"] = "Skipped"
    summary["message"] = " ".join(message.split())[:500]
    run.write(summary)
    return EXIT_OK


def _open_storage(
    args: argparse.Namespace, env: Mapping[str, str], run: _Run
) -> tuple[ObjectStorage, float, float]:
    """The run's storage (``--storage``, ``$ASSETCRON_STORAGE`` or the default), checked
    with one request, and the lock wait and ttl in seconds; the same for native and
    Dagster code locations. Raises :class:`AssetcronError` subclasses for bad settings
    or a storage that cannot be used."""
    from assetcron._locks import DEFAULT_LOCK_TTL, DEFAULT_LOCK_WAIT, ENV_LOCK_TTL, ENV_LOCK_WAIT
    from assetcron._storage import DEFAULT_STORAGE, ENV_STORAGE, open_storage

    lock_wait = _seconds(args.lock_wait, env, ENV_LOCK_WAIT, DEFAULT_LOCK_WAIT)
    lock_ttl = _seconds(None, env, ENV_LOCK_TTL, DEFAULT_LOCK_TTL, minimum=0.001)
    run.doing = "opening the storage"
    storage = open_storage(args.storage or env.get(ENV_STORAGE) or DEFAULT_STORAGE)
    storage.check()
    return storage, lock_wait, lock_ttl


def _materialize(args: argparse.Namespace, run: _Run) -> int:
    from assetcron._errors import AssetcronError
    from assetcron._sdk import Definitions
    from assetcron._selection import plan as resolve

    env = os.environ
    try:
        from assetcron import _timing

        run.doing = "reading the run's settings"
        tz_name = args.timezone or env.get(_timing.ENV_TIMEZONE) or "UTC"
        tz = _timing.resolve_timezone(tz_name)
        scheduled = _timing.resolve_scheduled_time(args.scheduled_time, env, tz)
        run.scheduled = scheduled
        _bind(scheduledTime=scheduled.isoformat())
        cron = args.cron or env.get(ENV_CRON_SCHEDULE) or None
        template = load_run_config_template(env, args.config)
        run.doing = "loading the code location"
        loaded, location = _load(args)
        if not isinstance(loaded, Definitions):
            return _materialize_dagster(
                args, run, loaded, location, tz_name=tz_name, cron=cron, template=template
            )
        defs, plan = loaded, resolve(loaded.graph, args.select)
        request: RunRequest | None = None
        schedule_name = args.schedule or env.get(ENV_SCHEDULE_DEFINITION) or None
        if schedule_name:
            run.doing = f"evaluating schedule {schedule_name!r} for the tick"
            evaluated = _evaluate_schedule(defs, schedule_name, scheduled, tz_name)
            if isinstance(evaluated, str):
                return _skipped(run, schedule_name, evaluated)
            request = evaluated
            if request.asset_selection is not None:
                wanted = set(request.asset_selection)
                plan = [k for k in plan if k in wanted]

        from assetcron import _materialize as m

        run.doing = "rendering the run config"
        explicit_key = (request.partition_key if request is not None else None) or (
            _explicit_partition_key(args, env, run, tz_name, cron)
        )
        partition_key = m.run_partition_key(defs, plan, scheduled, explicit_key)
        run.partition_key = partition_key
        _bind(partitionKey=partition_key)
        run_config: dict[str, Any] = {}
        if template:
            from assetcron._templates import render_run_config

            run_config = render_run_config(
                template,
                scheduled_time=scheduled,
                timezone=tz_name,
                cron_schedule=cron,
                partition_key=partition_key,
                partition_window=m.run_partition_window(defs, plan, partition_key),
            )
        if request is not None and request.run_config:
            run_config = deep_merge(run_config, dict(request.run_config))
        defs = m.configure_resources(defs, run_config)
        configs = m.validate_run_config(defs, plan, run_config)
        storage, lock_wait, lock_ttl = _open_storage(args, env, run)
    except AssetcronError as exc:
        run.stop(str(exc))
        return _bad_input(exc)

    from assetcron._locks import PartitionLocks
    from assetcron._records import RecordStore

    _setup_logging(run.log_format)
    run_id = m.run_id_for(
        location, args.select, partition_key, scheduled, env.get(_timing.ENV_JOB_NAME)
    )
    run.run_id = run_id
    _bind(runId=run_id)
    run.plan = [k.to_user_string() for k in plan]
    _header(run, len(plan))

    def on_outcome(i: int, n: int, outcome: AssetOutcome) -> None:
        run.outcomes.append(outcome)
        _progress(i, n, outcome)

    run.doing = "opening the run records"
    records = RecordStore(storage)
    locks = PartitionLocks(storage, run_id=run_id, wait=lock_wait, ttl=lock_ttl, on_wait=_on_wait)
    run.doing = "taking the partition locks"
    result = m.materialize(
        defs,
        plan,
        run_id=run_id,
        scheduled_time=scheduled,
        partition_key=partition_key,
        run_config=run_config,
        configs=configs,
        storage=storage,
        records=records,
        locks=locks,
        force=args.force or env.get(ENV_FORCE, "").lower() in ("1", "true", "yes"),
        on_outcome=on_outcome,
    )
    run.checks = list(result.checks)
    return _finish(run, result.duration, success=result.success)


def _on_wait(key: AssetKey, partition: str | None, holder: LockInfo | None) -> None:
    what = key.to_user_string() + (f" partition {partition}" if partition else "")
    by = f"run {holder.run_id} ({holder.holder})" if holder else "another run"
    print(f"waiting for {what}: {by} is writing it", flush=True)


def _header(run: _Run, n: int) -> None:
    assert run.scheduled is not None
    part = f" · partition {run.partition_key}" if run.partition_key else ""
    print(
        f"run {run.run_id} · scheduled {run.scheduled.isoformat()}{part} · {n} "
        f"asset{'s' if n != 1 else ''}",
        flush=True,
    )


def _finish(run: _Run, duration: float, *, success: bool) -> int:
    """Print the last line, write the summary of a run that went through its plan, and
    return its exit code."""
    run.doing = "writing the summary"
    run.final = True
    summary = run.summary()
    summary["durationSeconds"] = round(duration, 3)  # materializing only, as before
    c = summary["counts"]
    print(
        f"{summary['result']}: {c['materialized']} materialized, {c['reused']} reused, "
        f"{c['failed']} failed, {c['skipped']} skipped in {duration:.2f}s",
        flush=True,
    )
    run.write(summary)
    return EXIT_OK if success else EXIT_FAILED


def _materialize_dagster(
    args: argparse.Namespace,
    run: _Run,
    code_location: DagsterCodeLocation,
    location: str,
    *,
    tz_name: str,
    cron: str | None,
    template: dict[str, Any],
) -> int:
    """``materialize`` of a Dagster code location (:mod:`assetcron._dagster`), with a
    native run's run id, storage, locks, progress lines, summary and exit codes."""
    import signal

    from assetcron import _timing
    from assetcron._errors import AssetcronError
    from assetcron._locks import PartitionLocks
    from assetcron._materialize import run_id_for

    env = os.environ
    scheduled = run.scheduled
    assert scheduled is not None
    try:
        run.doing = "resolving the selection"
        plan = code_location.plan(args.select)
        tick = None
        schedule_name = args.schedule or env.get(ENV_SCHEDULE_DEFINITION) or None
        if schedule_name:
            run.doing = f"evaluating schedule {schedule_name!r} for the tick"
            evaluated = code_location.evaluate_schedule(schedule_name, scheduled)
            if isinstance(evaluated, str):
                return _skipped(run, schedule_name, evaluated)
            tick = evaluated
            if tick.asset_keys is not None:
                plan = plan.only(tick.asset_keys)
        run.doing = "rendering the run config"
        explicit_key = (tick.partition_key if tick is not None else None) or (
            _explicit_partition_key(args, env, run, tz_name, cron)
        )
        partition_key = plan.partition_key(scheduled, explicit_key)
        run.partition_key = partition_key
        _bind(partitionKey=partition_key)
        rendered: dict[str, Any] = {}
        if template:
            from assetcron._templates import render_run_config

            rendered = render_run_config(
                template,
                scheduled_time=scheduled,
                timezone=tz_name,
                cron_schedule=cron,
                partition_key=partition_key,
                partition_window=plan.partition_window(partition_key),
            )
        if tick is not None and tick.run_config:
            rendered = deep_merge(rendered, tick.run_config)
        run_config = plan.run_config(rendered)
        storage, lock_wait, lock_ttl = _open_storage(args, env, run)
    except AssetcronError as exc:
        run.stop(str(exc))
        return _bad_input(exc)

    _setup_logging(run.log_format)
    run.run_id = run_id_for(
        location, args.select, partition_key, scheduled, env.get(_timing.ENV_JOB_NAME)
    )
    _bind(runId=run.run_id)
    run.plan = plan.user_keys
    _header(run, len(plan.keys))

    def on_outcome(i: int, n: int, outcome: AssetOutcome) -> None:
        run.outcomes.append(outcome)
        _progress(i, n, outcome)

    locks = PartitionLocks(
        storage, run_id=run.run_id, wait=lock_wait, ttl=lock_ttl, on_wait=_on_wait
    )
    run.doing = "materializing with Dagster"
    result = plan.execute(
        run_id=run.run_id,
        scheduled=scheduled,
        partition_key=partition_key,
        run_config=run_config,
        storage=storage,
        locks=locks,
        force=args.force or env.get(ENV_FORCE, "").lower() in ("1", "true", "yes"),
        on_outcome=on_outcome,
    )
    if os.getpid() == run.pid:
        # Dagster swaps the SIGTERM handler while it executes (it turns SIGTERM into an
        # interrupt of the running step) and leaves SIGINT's behind: take it back.
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signal.SIGTERM, run.on_sigterm)
    if result.interrupted:
        failed = next((o.key for o in run.outcomes if o.outcome == "Failed"), None)
        run.doing = f"materializing {failed}" if failed else "materializing with Dagster"
        run.stop(f"terminated by SIGTERM after {run.elapsed():.0f} s while {run.doing}")
        print(f"error: {run.stop_message}", file=sys.stderr)
        return EXIT_TERMINATED
    return _finish(run, result.duration, success=result.success)
