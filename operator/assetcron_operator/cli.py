"""Command-line entry points of the operator package.

* ``assetcron-operator`` (:func:`run_operator`): runs kopf with our handlers and the
  settings from the environment: ``kopf run -m assetcron_operator --standalone`` plus
  ``--namespace`` per watched namespace (or ``--all-namespaces``), the liveness endpoint
  and the log format; with ``ASSETCRON_LEADER_ELECTION=true`` kopf starts only once this
  process holds the leader Lease (:mod:`assetcron_operator.leader`) and the process exits
  (status 1) the moment it loses it. Exit code 2 with one line on stderr for a bad
  setting.
* ``assetcron schedule trigger|preview`` (:func:`register`, through the ``assetcron.cli``
  entry-point group of the runner's CLI):

  ``assetcron schedule trigger NAME [-n NS] [--scheduled-time T] [--wait SECONDS]``
      sets ``assetcron.dev/trigger`` on the AssetSchedule (the operator creates one Job
      per value, like Dagster's "Test Schedule"); with ``--wait`` it waits for the
      operator's answer in ``status.lastTrigger`` and prints the Job name.
  ``assetcron schedule preview NAME|FILE [--count N] [-n NS] [--job FILE]``
      prints the next N ticks and the run config each would render (like Dagster's
      ``evaluate_tick``); with a manifest file it needs no cluster.

Exit codes follow the rest of the CLI: 0 success, 1 the operator refused or timed out,
2 bad input (one ``error: ...`` line on stderr).
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

__all__ = ["register", "run_operator"]

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
    """Add the ``schedule`` command group (``trigger``, ``preview``) to ``subparsers``."""
    group = subparsers.add_parser("schedule", help="trigger or preview an AssetSchedule")
    sub = group.add_subparsers(dest="schedule_command", metavar="SUBCOMMAND")
    sub.required = True

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
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for the operator to create the Job and print its name",
    )
    trig.add_argument(
        "--force",
        action="store_true",
        help="recompute every selected asset, reusing nothing stored (asset materialize --force)",
    )
    trig.set_defaults(func=cmd_trigger)

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


def _add_cluster_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _cluster(args: argparse.Namespace) -> tuple[Any, str]:
    """(Kube, namespace) from the CLI args; namespace defaults to the context's."""
    import kubernetes

    from assetcron_operator.kube import Kube, make_api_client

    namespace = args.namespace
    if not namespace:
        config: Any = kubernetes.config
        try:
            _contexts, active = config.list_kube_config_contexts(config_file=args.kubeconfig)
            namespace = (active or {}).get("context", {}).get("namespace") or "default"
        except config.ConfigException:
            namespace = "default"
    return Kube(make_api_client(kubeconfig=args.kubeconfig, pool_size=2)), namespace


def cmd_trigger(args: argparse.Namespace) -> int:
    """``assetcron schedule trigger``: annotate the schedule; optionally wait for the Job."""
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
    try:
        kube, namespace = _cluster(args)
    except Exception as exc:  # kubeconfig problems come in many exception types
        return _error(f"cannot reach the cluster: {exc}")
    if kube.annotate_schedule(namespace, args.name, {TRIGGER_ANNOTATION: value}) is None:
        return _error(f"AssetSchedule {args.name!r} not found in namespace {namespace!r}")
    print(f"assetschedule/{args.name} triggered: {TRIGGER_ANNOTATION}={value}")
    if args.wait <= 0:
        return EXIT_OK
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        body = kube.get_schedule(namespace, args.name) or {}
        last = (body.get("status") or {}).get("lastTrigger") or {}
        if last.get("value") == value:
            if last.get("result") == "Created":
                print(f"job/{last.get('jobName')} created")
                return EXIT_OK
            print(f"error: trigger rejected: {last.get('message')}", file=sys.stderr)
            return EXIT_FAILED
        time.sleep(0.5)
    print(f"error: no answer from the operator within {args.wait:g}s", file=sys.stderr)
    return EXIT_FAILED


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
        from assetcron._loader import load_definitions

        root = str(Path(working_directory).resolve())
        added = root not in sys.path
        if added:
            sys.path.insert(0, root)
        try:
            cache[key] = (load_definitions(module_name=module, attribute=attribute)[0], None)
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
