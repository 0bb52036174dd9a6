"""Command-line entry points of the operator package.

* ``assetcron-operator`` (:func:`run_operator`): runs kopf with our handlers and the
  settings from the environment: ``kopf run -m assetcron_operator --standalone`` plus
  ``--namespace`` per watched namespace (or ``--all-namespaces``), the liveness endpoint
  and the log format; with ``ASSETCRON_LEADER_ELECTION=true`` kopf starts only once this
  process holds the leader Lease (:mod:`assetcron_operator.leader`) and the process exits
  (status 1) the moment it loses it. Exit code 2 with one line on stderr for a bad
  setting.
* ``assetcron schedule COMMAND`` (:func:`register`, through the ``assetcron.cli``
  entry-point group of the runner's CLI) and ``kubectl assetcron COMMAND``
  (:mod:`assetcron_operator.plugin`): the same commands, :func:`add_schedule_commands`:

  ``status [NAME] [-A]``
      the schedules as a table, or one in detail (conditions, next runs, runs).
  ``runs NAME [-o table|json]``
      the run history (``status.recentRuns``): scheduled time, start, duration, result,
      per-asset counts, why a run failed.
  ``logs NAME [RUN] [-f]``
      the run pod's log (every attempt's) through the API server.
  ``trigger NAME [--scheduled-time T] [--wait [SECONDS]] [--until finished|created]``
      sets ``assetcron.dev/trigger`` on the AssetSchedule (the operator creates one Job
      per value, like Dagster's "Test Schedule"); with ``--wait`` it waits for the run's
      result and prints it (``--until created``: only for the Job's creation).
  ``suspend NAME`` / ``resume NAME``
      set ``spec.suspend``.
  ``backfill NAME --from T1 --to T2 [--dry-run] [--max-concurrent N] [--force]
  [--no-wait] [--cancel ID]``
      sets ``assetcron.dev/backfill``; the operator runs every tick of the range as the
      Job the CronJob controller would make for it (:mod:`assetcron_operator.backfill`)
      and this command prints the progress from ``status.backfill``.
  ``preview NAME|FILE [--count N] [--job FILE]``
      prints the next N ticks and the run config each would render (like Dagster's
      ``evaluate_tick``); with a manifest file it needs no cluster.

  Every command takes ``-n/--namespace``, ``--kubeconfig`` and ``--context`` as kubectl
  does (``$KUBECONFIG``, then ``~/.kube/config``; the context's namespace by default).

Exit codes follow the rest of the CLI: 0 success, 1 the run failed or the operator
refused or the wait ran out, 2 bad input (one ``error: ...`` line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["add_cluster_args", "add_schedule_commands", "register", "run_operator"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


# ---------------------------------------------------------------------------- operator
def run_operator(argv: Sequence[str] | None = None) -> None:
    """Console script ``assetcron-operator``: run the operator until SIGTERM/SIGINT.

    Options: ``--verbose`` (DEBUG logs). Everything else comes from the environment
    (:class:`assetcron_operator.settings.Settings`). Exits with status 2 and one line on
    stderr when a setting is bad.
    """
    parser = argparse.ArgumentParser(
        prog="assetcron-operator",
        description="Reconcile AssetJob/AssetSchedule resources into CronJobs (kopf).",
        epilog="Settings: ASSETCRON_WATCH_NAMESPACES, ASSETCRON_RUN_HISTORY_LIMIT, "
        "ASSETCRON_LOG_FORMAT, ASSETCRON_LIVENESS_ENDPOINT, ASSETCRON_STATUS_INTERVAL, "
        "ASSETCRON_LEADER_ELECTION[_NAMESPACE|_ID|_LEASE_DURATION|_RENEW_DEADLINE|"
        "_RETRY_PERIOD].",
    )
    parser.add_argument("--verbose", action="store_true", help="log at DEBUG level")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    from assetcron_operator.leader import ElectionConfig
    from assetcron_operator.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
        election = ElectionConfig.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None

    import kopf

    from assetcron_operator import handlers as _handlers  # registers the handlers
    from assetcron_operator.logs import configure_logging

    del _handlers
    _limit_malloc_arenas()
    _allow_deep_objects()
    configure_logging(settings.log_format, verbose=args.verbose)
    from assetcron_operator.kube import make_api_client
    from assetcron_operator.leader import leadership

    # With leader election on, kopf starts only once this replica holds the Lease: a
    # standby runs no handler, index or refresh loop (assetcron_operator.leader).
    if election.enabled:
        _warm_up()
    with leadership(
        election,
        api_client=make_api_client(pool_size=2) if election.enabled else None,
        on_lost=_exit_on_lost_lease,
        liveness_endpoint=settings.liveness_endpoint,
    ):
        kopf.run(
            standalone=True,
            clusterwide=settings.clusterwide,
            namespaces=list(settings.namespaces),
            liveness_endpoint=settings.liveness_endpoint,
        )


def _warm_up() -> None:
    """Pay the Kubernetes client's lazy imports while standing by, not at takeover.

    The official client imports each API group's module (and its models) on first use:
    ``BatchV1Api`` and ``CoreV1Api`` took 2-4 s here, which a new leader would add to
    the takeover in its startup handler (measured with ``benchmarks/takeover.py``).
    """
    import kubernetes

    client = kubernetes.client.ApiClient(kubernetes.client.Configuration())
    for api in ("CustomObjectsApi", "BatchV1Api", "CoreV1Api", "CoordinationV1Api"):
        getattr(kubernetes.client, api)(client)


#: Exit status of an operator that lost its leader lease (the kubelet restarts it).
EXIT_LEASE_LOST = 1


def _exit_on_lost_lease() -> None:
    """Stop acting at once: the lease may be another replica's any moment now.

    client-go's convention (``OnStoppedLeading`` ends the process): no graceful kopf
    shutdown, which would let running handlers write on; the restarted container
    stands by as a new candidate.
    """
    import logging
    import os

    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_LEASE_LOST)


#: Python recursion limit for the operator: above the 10,000 levels of nesting the API
#: server stores (its JSON decoder's limit), with room for the frames around them.
RECURSION_LIMIT = 25_000


def _allow_deep_objects() -> None:
    """Let the operator read any object the API server stores.

    Python's ``json`` decoder (kopf's watch and list calls) and ``copy`` recurse once per
    level of nesting, and Python's default limit is 1,000: one AssetJob whose run config
    nests 1,000 levels deep made every watch fail and the operator exit, on every
    restart. With a limit above the API server's own (10,000 levels) every object
    decodes, and the spec check refuses the deep one on that object alone
    (``Ready=False``, :data:`assetcron_operator.validation.MAX_SPEC_DEPTH`). Measured
    here: decoding, encoding and copying 10,000 levels fits an 8 MiB thread stack.
    """
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (the effect of ``MALLOC_ARENA_MAX=2``), unless set by env.

    glibc gives threads their own arenas (up to 8 per core); kopf runs sync handlers in a
    thread pool, and the extra arenas hold freed memory, inflating the operator's RSS
    (see glibc's mallopt(3), ``M_ARENA_MAX``). Does nothing where glibc is absent.
    """
    import ctypes
    import os

    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    m_arena_max = -8  # from glibc's <malloc.h>
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(m_arena_max, arenas)


# ---------------------------------------------------------------------------- assetcron schedule
def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``schedule`` command group to ``subparsers`` (the commands of
    :func:`add_schedule_commands`, which ``kubectl assetcron`` offers too)."""
    group = subparsers.add_parser(
        "schedule",
        help="status, runs, logs, trigger, backfill, suspend/resume or preview AssetSchedules",
    )
    sub = group.add_subparsers(dest="schedule_command", metavar="SUBCOMMAND")
    sub.required = True
    add_schedule_commands(sub)


def add_schedule_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status``, ``runs``, ``logs``, ``trigger``, ``suspend``, ``resume`` and
    ``preview`` to ``sub``: the same code behind ``assetcron schedule COMMAND`` and
    ``kubectl assetcron COMMAND`` (:mod:`assetcron_operator.plugin`)."""
    st = sub.add_parser(
        "status",
        help="AssetSchedules as a table, or one in detail",
        description="Without NAME: the namespace's AssetSchedules (ready, next run, last"
        " result, last success). With NAME: its settings, conditions, next runs and runs.",
    )
    st.add_argument("name", metavar="NAME", nargs="?", help="AssetSchedule name")
    st.add_argument(
        "-A", "--all-namespaces", action="store_true", help="list every namespace's schedules"
    )
    _add_cluster_args(st)
    st.set_defaults(func=cmd_status)

    runs = sub.add_parser(
        "runs",
        help="the run history of a schedule",
        description="The schedule's recent runs (status.recentRuns), newest first: scheduled"
        " time, start, duration, result and the per-asset counts of the runner's summary.",
    )
    runs.add_argument("name", metavar="NAME", help="AssetSchedule name")
    runs.add_argument(
        "-o", "--output", choices=("table", "json"), default="table", help="table or json"
    )
    _add_cluster_args(runs)
    runs.set_defaults(func=cmd_runs)

    logs = sub.add_parser(
        "logs",
        help="the log of a run's pod",
        description="The log of RUN's pod (default: the newest run of the schedule); every"
        " attempt's when the Job retried. Read through the API server, like kubectl logs.",
    )
    logs.add_argument("name", metavar="NAME", help="AssetSchedule name")
    logs.add_argument("run", metavar="RUN", nargs="?", help="the run (its Job name)")
    logs.add_argument("-f", "--follow", action="store_true", help="stream the newest attempt")
    _add_cluster_args(logs)
    logs.set_defaults(func=cmd_logs)

    trig = sub.add_parser("trigger", help="run a schedule now (one manual Job)")
    trig.add_argument("name", metavar="NAME", help="AssetSchedule name")
    _add_cluster_args(trig)
    trig.add_argument(
        "--scheduled-time",
        metavar="ISO8601",
        help="the time the run stands for, with an offset (default: now)",
    )
    trig.add_argument(
        "--wait",
        type=float,
        nargs="?",
        const=DEFAULT_WAIT,
        default=0.0,
        metavar="SECONDS",
        help="wait for the run's result (up to SECONDS, default"
        f" {DEFAULT_WAIT:g}) and print it; exit 0 if it succeeded, 1 if not",
    )
    trig.add_argument(
        "--until",
        choices=("finished", "created"),
        default="finished",
        help="with --wait: wait until the run finished (default) or only until its Job is created",
    )
    trig.add_argument(
        "--force",
        action="store_true",
        help="recompute every selected asset, reusing nothing stored (asset materialize --force)",
    )
    trig.set_defaults(func=cmd_trigger)

    for verb, value in (("suspend", True), ("resume", False)):
        p = sub.add_parser(
            verb,
            help=f"{verb} a schedule (sets spec.suspend to {str(value).lower()})",
            description=f"Set spec.suspend to {str(value).lower()}: the operator"
            f" {'suspends' if value else 'resumes'} the CronJob; runs in progress go on.",
        )
        p.add_argument("name", metavar="NAME", help="AssetSchedule name")
        _add_cluster_args(p)
        p.set_defaults(func=cmd_suspend, suspend=value)

    back = sub.add_parser(
        "backfill",
        help="run every tick of a time range (Jobs named as the CronJob names them)",
        description=(
            "Run the schedule for every tick from --from to --to (inclusive), oldest first."
            " Each tick's Job gets the name the CronJob controller gives that tick, so a tick"
            " that already ran (or runs) is counted and not run again. The operator carries"
            " the backfill out and shows it in the schedule's status.backfill; this command"
            " follows it until it ends (Ctrl-C leaves it running)."
        ),
    )
    back.add_argument("name", metavar="NAME", help="AssetSchedule name")
    back.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="first time of the range: ISO 8601 with an offset, or without one in the"
        " schedule's time zone (a date alone is its midnight)",
    )
    back.add_argument("--to", dest="end", metavar="TIME", help="last time of the range (same)")
    back.add_argument(
        "--dry-run", action="store_true", help="print the ticks and Job names; create nothing"
    )
    back.add_argument(
        "--max-concurrent",
        type=int,
        default=1,
        metavar="N",
        help="Jobs running at once (default 1: one tick after the other, in order)",
    )
    back.add_argument(
        "--force",
        action="store_true",
        help="recompute every selected asset, reusing nothing stored (asset materialize --force)",
    )
    back.add_argument(
        "--no-wait", action="store_true", help="return once the operator has started it"
    )
    back.add_argument(
        "--timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="stop following after SECONDS (default: until it ends; it goes on regardless)",
    )
    back.add_argument("--cancel", metavar="ID", help="stop backfill ID: no further Jobs start")
    _add_cluster_args(back)
    back.set_defaults(func=cmd_backfill)

    prev = sub.add_parser(
        "preview",
        help="next ticks and the run config each would render",
        description=(
            "The next ticks of an AssetSchedule (every AssetSchedule in FILE, or the"
            " schedule NAME in the cluster) with the Job name, partition key and run config"
            " each would run with, in the CronJob controller's own cron semantics. When the"
            " job's code location is importable here (from the working directory), each"
            " tick is also checked as the runner checks it: partition key and typed config."
        ),
    )
    prev.add_argument(
        "target", metavar="NAME|FILE", help="schedule name, or a manifest file or directory"
    )
    prev.add_argument("--count", type=int, default=5, metavar="N", help="ticks (default 5)")
    prev.add_argument(
        "--job",
        metavar="FILE",
        help="manifest with the AssetJob (default: looked up in FILE, then the cluster)",
    )
    prev.add_argument(
        "--after", metavar="ISO8601", help="preview ticks after this time (default: now)"
    )
    prev.add_argument(
        "-d",
        "--working-directory",
        metavar="DIR",
        default=".",
        help="where the code location's module is imported from (default: .), as in Dagster",
    )
    prev.add_argument(
        "--no-code",
        action="store_true",
        help="do not import the code location (no partition or typed-config checks)",
    )
    _add_cluster_args(prev)
    prev.set_defaults(func=cmd_preview)


#: Seconds ``trigger --wait`` (without a value) waits for the run's result.
DEFAULT_WAIT = 3600.0


def add_cluster_args(p: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """``-n/--namespace``, ``--kubeconfig`` and ``--context``, as kubectl spells them.

    With ``suppress`` an option not given leaves no attribute (so that a subcommand's
    parser does not overwrite what the top-level parser of ``kubectl assetcron`` read:
    ``kubectl assetcron -n data runs NAME``); read them with :func:`_opt`.
    """
    default: Any = argparse.SUPPRESS if suppress else None
    p.add_argument(
        "-n",
        "--namespace",
        default=default,
        help="namespace (default: the kubeconfig context's)",
    )
    p.add_argument(
        "--kubeconfig",
        default=default,
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)",
    )
    p.add_argument(
        "--context", default=default, help="the kubeconfig context to use (default: current)"
    )


def _add_cluster_args(p: argparse.ArgumentParser) -> None:
    add_cluster_args(p, suppress=True)


def _opt(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, None)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _cluster(args: argparse.Namespace) -> tuple[Any, str]:
    """(Kube, namespace) from the CLI args; namespace defaults to the context's."""
    import kubernetes

    from assetcron_operator.kube import Kube, make_api_client

    kubeconfig, context = _opt(args, "kubeconfig"), _opt(args, "context")
    namespace = _opt(args, "namespace")
    if not namespace:
        config: Any = kubernetes.config
        try:
            contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
            if context:
                active = next((c for c in contexts or [] if c.get("name") == context), None)
            namespace = (active or {}).get("context", {}).get("namespace") or "default"
        except config.ConfigException:
            namespace = "default"
    client = make_api_client(kubeconfig=kubeconfig, context=context, pool_size=2)
    return Kube(client), namespace


def _now() -> datetime:
    return datetime.now(UTC)


def _get_schedule(args: argparse.Namespace) -> tuple[Any, str, dict[str, Any]] | int:
    """(Kube, namespace, the AssetSchedule ``args.name``) or an exit code after saying
    why not (one line)."""
    try:
        kube, namespace = _cluster(args)
        body = kube.get_schedule(namespace, args.name)
    except Exception as exc:  # kubeconfig problems come in many exception types
        return _error(f"cannot reach the cluster: {' '.join(str(exc).split())}")
    if body is None:
        return _error(f"AssetSchedule {args.name!r} not found in namespace {namespace!r}")
    return kube, namespace, body


def cmd_status(args: argparse.Namespace) -> int:
    """``status [NAME]``: the schedules as a table, or one schedule in detail."""
    from assetcron_operator.tables import schedule_detail, schedules_table

    if args.name:
        got = _get_schedule(args)
        if isinstance(got, int):
            return got
        sys.stdout.write(schedule_detail(got[2], _now()))
        return EXIT_OK
    try:
        kube, namespace = _cluster(args)
        items = kube.list_schedules(None if args.all_namespaces else namespace)
    except Exception as exc:  # kubeconfig problems come in many exception types
        return _error(f"cannot reach the cluster: {' '.join(str(exc).split())}")
    sys.stdout.write(schedules_table(items, _now(), all_namespaces=args.all_namespaces))
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    """``runs NAME``: the schedule's run history as a table (or JSON)."""
    from assetcron_operator.tables import runs_table

    got = _get_schedule(args)
    if isinstance(got, int):
        return got
    runs = (got[2].get("status") or {}).get("recentRuns") or []
    if args.output == "json":
        print(json.dumps(runs, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(runs_table(runs, _now()))
    return EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    """``logs NAME [RUN]``: the log of the run's pod(s), through the API server."""
    from assetcron_operator.render import CONTAINER_NAME

    got = _get_schedule(args)
    if isinstance(got, int):
        return got
    kube, namespace, body = got
    runs = (body.get("status") or {}).get("recentRuns") or []
    run = args.run
    if not run:
        if not runs:
            return _error(f"AssetSchedule {args.name!r} has no runs yet")
        run = str(runs[0]["name"])
    elif run not in {r.get("name") for r in runs}:
        print(f"warning: {run} is not in the schedule's recent runs", file=sys.stderr)
    try:
        pods = kube.list_pods(namespace, f"batch.kubernetes.io/job-name={run}")
    except Exception as exc:
        return _error(f"cannot list the pods of {run}: {' '.join(str(exc).split())}")
    if not pods:
        return _error(f"run {run} has no pod (not started yet, or deleted with its Job)")
    if args.follow:
        pods = pods[-1:]
    out = sys.stdout.buffer
    for n, pod in enumerate(pods, start=1):
        name = pod["metadata"]["name"]
        if len(pods) > 1:
            sys.stdout.write(f"==> pod/{name} (attempt {n} of {len(pods)}) <==\n")
            sys.stdout.flush()
        try:
            for chunk in kube.pod_log(
                namespace, name, container=CONTAINER_NAME, follow=args.follow
            ):
                out.write(chunk)
                out.flush()
        except Exception as exc:
            return _error(f"cannot read the log of pod {name}: {' '.join(str(exc).split())}")
    return EXIT_OK


def cmd_suspend(args: argparse.Namespace) -> int:
    """``suspend NAME`` / ``resume NAME``: set ``spec.suspend``."""
    try:
        kube, namespace = _cluster(args)
        done = kube.patch_schedule(namespace, args.name, {"spec": {"suspend": args.suspend}})
    except Exception as exc:  # kubeconfig problems come in many exception types
        return _error(f"cannot reach the cluster: {' '.join(str(exc).split())}")
    if done is None:
        return _error(f"AssetSchedule {args.name!r} not found in namespace {namespace!r}")
    print(f"assetschedule/{args.name} {'suspended' if args.suspend else 'resumed'}")
    return EXIT_OK


def cmd_trigger(args: argparse.Namespace) -> int:
    """``trigger``: annotate the schedule; with ``--wait`` wait for the run's result
    (or, ``--until created``, for its Job) and print it. Exit 0 when the run succeeded
    (or was created), 1 when it failed, was rejected or the wait ran out, 2 bad input."""
    from assetcron_operator.tables import run_result
    from assetcron_operator.trigger import (
        TRIGGER_ANNOTATION,
        TriggerError,
        make_trigger_value,
        parse_scheduled_time,
    )

    try:
        when = (
            parse_scheduled_time(args.scheduled_time)
            if args.scheduled_time
            else datetime.now(UTC).replace(microsecond=0)
        )
        value = make_trigger_value(when, force=args.force)
    except TriggerError as exc:
        return _error(str(exc))
    if args.wait < 0:
        return _error("--wait must be >= 0 seconds")
    try:
        kube, namespace = _cluster(args)
    except Exception as exc:  # kubeconfig problems come in many exception types
        return _error(f"cannot reach the cluster: {exc}")
    if kube.annotate_schedule(namespace, args.name, {TRIGGER_ANNOTATION: value}) is None:
        return _error(f"AssetSchedule {args.name!r} not found in namespace {namespace!r}")
    print(f"assetschedule/{args.name} triggered: {TRIGGER_ANNOTATION}={value}", flush=True)
    if args.wait <= 0:
        return EXIT_OK
    deadline = time.monotonic() + args.wait
    job_name: str | None = None
    while time.monotonic() < deadline:
        status = (kube.get_schedule(namespace, args.name) or {}).get("status") or {}
        if job_name is None:
            last = status.get("lastTrigger") or {}
            if last.get("value") == value:
                if last.get("result") != "Created":
                    print(f"error: trigger rejected: {last.get('message')}", file=sys.stderr)
                    return EXIT_FAILED
                job_name = str(last.get("jobName"))
                print(f"job/{job_name} created", flush=True)
                if args.until == "created":
                    return EXIT_OK
        if job_name is not None:
            run = next(
                (r for r in status.get("recentRuns") or [] if r.get("name") == job_name), None
            )
            if run is not None and run.get("phase") in ("Succeeded", "Failed"):
                sys.stdout.write(run_result(run, _now()))
                return EXIT_OK if run["phase"] == "Succeeded" else EXIT_FAILED
        time.sleep(1.0)
    what = "the run's result" if job_name else "an answer from the operator"
    print(f"error: no {what} within {args.wait:g}s", file=sys.stderr)
    return EXIT_FAILED


def cmd_backfill(args: argparse.Namespace) -> int:
    """``assetcron schedule backfill``: set ``assetcron.dev/backfill``, follow the progress.

    Exit 0 when the backfill succeeded (or ``--dry-run``, ``--no-wait``, ``--cancel``),
    1 when it failed, was rejected or canceled, or ``--timeout`` passed; 2 bad input.
    """
    from assetcron_operator import backfill as bf
    from assetcron_operator.naming import cronjob_name

    if args.cancel is None and (not args.start or not args.end):
        return _error("--from and --to are required")
    try:
        kube, namespace = _cluster(args)
        schedule = kube.get_schedule(namespace, args.name)
    except Exception as exc:  # kubeconfig problems come in many exception types
        return _error(f"cannot reach the cluster: {exc}")
    if schedule is None:
        return _error(f"AssetSchedule {args.name!r} not found in namespace {namespace!r}")
    spec = schedule.get("spec") or {}
    status = schedule.get("status") or {}
    current = status.get("backfill") or {}
    if args.cancel is not None:
        request = bf.BackfillRequest(
            id=args.cancel,
            start=bf._EPOCH,
            end=bf._EPOCH,
            cancel=True,
        )
        kube.annotate_schedule(namespace, args.name, {bf.BACKFILL_ANNOTATION: request.value()})
        print(f"assetschedule/{args.name}: cancel of backfill {args.cancel} requested")
        return EXIT_OK
    zone = str(spec.get("timeZone") or "UTC")
    try:
        start, end = bf.parse_time(args.start, zone), bf.parse_time(args.end, zone)
        request = bf.BackfillRequest.make(
            start, end, max_concurrent=args.max_concurrent, force=args.force
        )
        now = datetime.now(UTC)
        if end > now:
            print(f"note: ticks after now ({now:%Y-%m-%dT%H:%M:%SZ}) are left to the CronJob")
            end = now
        if end < start:
            return _error("the range starts after now: nothing to backfill")
        ticks = bf.backfill_ticks(str(spec.get("cronSchedule") or ""), zone, start, end)
    except bf.BackfillError as exc:
        return _error(str(exc))
    cj_name = str(status.get("cronJobName") or cronjob_name(args.name))
    names = [bf.tick_job_name(cj_name, t) for t in ticks]
    if args.dry_run:
        existing = {
            j["metadata"]["name"]
            for j in kube.list_jobs(namespace, f"assetcron.dev/schedule={args.name}")
        }
        rows = [
            {
                "scheduledTime": bf.rfc3339_list([t])[0],
                "local": t.astimezone(_zone(zone)).isoformat(),
                "job": n,
                "exists": n in existing,
            }
            for t, n in zip(ticks, names, strict=True)
        ]
        print(json.dumps(rows, indent=2))
        new = sum(not r["exists"] for r in rows)
        print(f"{len(rows)} ticks, {new} to run, {len(rows) - new} already have a Job")
        return EXIT_OK
    if not ticks:
        return _error("no tick of the schedule in that range")
    if current.get("phase") == "Running":
        return _error(
            f"backfill {current.get('id')} is still running ({current.get('progress')}):"
            f" wait for it or stop it with --cancel {current.get('id')}"
        )
    value = request.value()
    kube.annotate_schedule(namespace, args.name, {bf.BACKFILL_ANNOTATION: value})
    print(
        f"assetschedule/{args.name}: backfill {request.id} of {len(ticks)} ticks"
        f" ({names[0]} .. {names[-1]}) requested"
    )
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    shown = None
    while deadline is None or time.monotonic() < deadline:
        body = kube.get_schedule(namespace, args.name) or {}
        state = (body.get("status") or {}).get("backfill") or {}
        if state.get("value") == value:
            line = (
                f"{state.get('progress')}: created {state.get('created')}, already had a Job"
                f" {state.get('existing')}, running {len(state.get('running') or [])}"
            )
            if line != shown:
                print(line, flush=True)
                shown = line
            phase = state.get("phase")
            if phase == "Rejected":
                print(f"error: backfill rejected: {state.get('message')}", file=sys.stderr)
                return EXIT_FAILED
            if args.no_wait or phase == "Succeeded":
                return EXIT_OK
            if phase in ("Failed", "Canceled") and not state.get("running"):
                failed = ", ".join(state.get("failedRuns") or [])
                print(f"error: backfill {phase.lower()}; failed: {failed}", file=sys.stderr)
                return EXIT_FAILED
        time.sleep(1.0)
    print("error: still running (it goes on: see status.backfill)", file=sys.stderr)
    return EXIT_FAILED


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _load_manifests(path: Path) -> list[dict[str, Any]]:
    import yaml

    docs: list[dict[str, Any]] = []
    files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
    for file in files:
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")):
            if isinstance(doc, dict):
                docs.append(doc)
    return docs


def _job_named(docs: list[dict[str, Any]], name: object) -> dict[str, Any] | None:
    return next(
        (
            d
            for d in docs
            if d.get("kind") == "AssetJob" and (d.get("metadata") or {}).get("name") == name
        ),
        None,
    )


def _load_code(
    job: Mapping[str, Any] | None, working_directory: str, cache: dict[tuple[str, str], Any]
) -> tuple[Any, str | None]:
    """The job's code location loaded from ``working_directory``: ``(definitions, None)``
    or ``(None, why not)``. Loaded once per (module, attribute)."""
    location = ((job or {}).get("spec") or {}).get("codeLocation") or {}
    module = str(location.get("module") or "")
    attribute = str(location.get("attribute") or "defs")
    if not module:
        return None, None
    key = (module, attribute)
    if key not in cache:
        from assetcron import AssetcronError
        from assetcron._loader import load_code_location

        root = str(Path(working_directory).resolve())
        added = root not in sys.path
        if added:
            sys.path.insert(0, root)
        try:
            cache[key] = (load_code_location(module_name=module, attribute=attribute)[0], None)
        except AssetcronError as exc:
            why = " ".join(str(exc).split())
            cache[key] = (
                None,
                f"code location {module}:{attribute} not loaded here ({why}): partition"
                " keys and typed config are not checked",
            )
        finally:
            if added:
                sys.path.remove(root)
    definitions, note = cache[key]
    return definitions, note


def cmd_preview(args: argparse.Namespace) -> int:
    """``assetcron schedule preview``: print the next ticks with their rendered run config.

    Prints one JSON list: for each AssetSchedule (file order; a file may hold several,
    and a directory is read file by file) its ``--count`` ticks, each naming its
    ``schedule``. Exit 0, or 2 with one line on stderr for bad input.
    """
    import yaml

    from assetcron_operator.preview import PreviewError, preview_ticks
    from assetcron_operator.trigger import TriggerError, parse_scheduled_time

    if args.count < 1:
        return _error("--count must be >= 1")
    try:
        after = parse_scheduled_time(args.after) if args.after else datetime.now(UTC)
    except TriggerError as exc:
        return _error(str(exc))

    target = Path(args.target)
    pairs: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    job_file: dict[str, Any] | None = None
    try:
        if args.job:
            job_file = next(
                (d for d in _load_manifests(Path(args.job)) if d.get("kind") == "AssetJob"), None
            )
            if job_file is None:
                return _error(f"{args.job}: no AssetJob in the file")
        if target.exists():
            docs = _load_manifests(target)
            schedules = [d for d in docs if d.get("kind") == "AssetSchedule"]
            if not schedules:
                return _error(f"{target}: no AssetSchedule in the file")
            for schedule in schedules:
                ref = ((schedule.get("spec") or {}).get("jobRef") or {}).get("name")
                pairs.append((schedule, job_file or _job_named(docs, ref)))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return _error(" ".join(str(exc).split()))

    if not target.exists():
        try:
            kube, namespace = _cluster(args)
            found = kube.get_schedule(namespace, args.target)
            if found is None:
                return _error(
                    f"{args.target!r} is neither a file nor an AssetSchedule in namespace"
                    f" {namespace!r}"
                )
            ref = ((found.get("spec") or {}).get("jobRef") or {}).get("name")
            job = job_file
            if job is None and ref:
                job = kube.get_assetjob(namespace, str(ref))
            pairs.append((found, job))
        except Exception as exc:  # kubeconfig problems come in many exception types
            return _error(f"cannot reach the cluster: {exc}")

    out: list[dict[str, Any]] = []
    code: dict[tuple[str, str], Any] = {}
    for schedule, job in pairs:
        name = str((schedule.get("metadata") or {}).get("name") or "")
        definitions, note = (
            (None, None) if args.no_code else _load_code(job, args.working_directory, code)
        )
        try:
            ticks = preview_ticks(
                schedule, job, count=args.count, after=after,
                definitions=definitions, code_note=note,
            )  # fmt: skip
        except PreviewError as exc:
            return _error(f"AssetSchedule {name}: {exc}" if len(pairs) > 1 else str(exc))
        out.extend({"schedule": name, **tick} for tick in ticks)
    print(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    return EXIT_OK


if __name__ == "__main__":  # ``python -m assetcron_operator.cli`` (how ``assetcron dev`` runs it)
    run_operator()
