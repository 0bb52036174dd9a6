"""``assetcron manifests``: the AssetJob and AssetSchedule YAML of a code location's jobs
and schedules, ready for ``kubectl apply``.

Jobs and schedules declared in Python (``define_asset_job``, ``ScheduleDefinition``,
``@schedule``, with Dagster's names) become custom resources:

* each job → an ``AssetJob``: ``selection`` is the job's selection in Dagster's string
  syntax, ``runConfig`` its static config, ``tags`` its tags, ``codeLocation`` the image,
  module and attribute given on the command line;
* each schedule → an ``AssetSchedule`` on its job: ``cronSchedule``,
  ``timeZone`` (``execution_timezone``, else UTC), ``suspend`` from ``default_status``
  (Dagster's default ``STOPPED`` means suspended, as a schedule in code is off until
  someone turns it on; ``kubectl patch ... -p '{"spec":{"suspend":false}}'`` turns it
  on). A schedule without a function carries its static ``run_config``; a schedule with
  a function (``@schedule``, returning ``RunRequest`` / ``SkipReason``) carries
  ``scheduleDefinition: <name>`` and the run pod evaluates the function for each tick,
  as Dagster's daemon would.

Both native and Dagster code locations (``dagster.Definitions``, with the extra
``assetcron[dagster]``) are written. A Dagster job's ``AssetSelection`` is written in
Dagster's string syntax, and every Dagster schedule carries ``scheduleDefinition``: the
run pod evaluates it per tick with Dagster's own ``evaluate_tick``. Op jobs (assetcron
runs assets) and schedules with several cron strings are left out, each named on stderr.
``--storage`` and ``--env-from-secret`` give the run pods somewhere to write (their root
file system is read-only).

Names become Kubernetes names (lower case, ``_`` → ``-``). Pure: the caller loads the
code location and prints the result.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assetcron import AssetcronError, Definitions
from assetcron._loader import load_code_location
from assetcron_operator.models import API_VERSION

__all__ = ["ManifestError", "k8s_name", "manifests_for", "register"]

_INVALID = re.compile(r"[^a-z0-9-]+")


class ManifestError(ValueError):
    """The code location's jobs or schedules cannot be written as manifests (one line)."""


def k8s_name(name: str) -> str:
    """A DNS-1123 name for a Python/Dagster name: lower case, runs of other characters
    (``_``, ``.``, spaces) as ``-``, no leading or trailing ``-``, at most 253 characters.

    Raises:
        ManifestError: nothing is left (``"__"``).
    """
    out = _INVALID.sub("-", name.lower()).strip("-")[:253].strip("-")
    if not out:
        raise ManifestError(f"{name!r} cannot be made a Kubernetes name")
    return out


def _meta(name: str, namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return meta


def manifests_for(
    defs: Any,
    *,
    module: str,
    attribute: str,
    image: str,
    namespace: str | None = None,
    storage: str | None = None,
    env_from_secret: str | None = None,
    left_out: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The AssetJob and AssetSchedule bodies for ``defs``: an ``assetcron.Definitions``
    or a Dagster code location (``assetcron._dagster.DagsterCodeLocation``, as
    :func:`assetcron._loader.load_code_location` returns it).

    ``storage`` (a URL or a path in the pod) becomes ``ASSETCRON_STORAGE`` in each
    AssetJob's pod template and ``env_from_secret`` an ``envFrom`` of that Secret (the
    object store's credentials): without a storage a run pod, whose root file system is
    read-only, has nowhere to write. Returns the jobs first (in name order), then the
    schedules (in name order). What a Dagster code location holds that assetcron cannot
    run (op jobs, their schedules, several cron strings) is left out, one line each
    appended to ``left_out``. A Dagster schedule always carries ``scheduleDefinition``:
    the run pod evaluates it for each tick with Dagster's ``evaluate_tick``, whether its
    run config is static or computed.

    Raises:
        ManifestError: ``defs`` is neither, two names map to the same Kubernetes name,
            or a schedule's job is not one of ``defs``' jobs.
    """
    jobs, schedules = _jobs_and_schedules(defs, module, attribute, left_out)
    template: dict[str, Any] = {}
    if storage:
        template["env"] = [{"name": "ASSETCRON_STORAGE", "value": storage}]
    if env_from_secret:
        template["envFrom"] = [{"secretRef": {"name": env_from_secret}}]
    docs: list[dict[str, Any]] = []
    job_names: dict[str, str] = {}
    for job in jobs:
        k8s = k8s_name(job.name)
        if k8s in job_names.values():
            raise ManifestError(f"jobs {job.name!r} and another both become AssetJob {k8s!r}")
        job_names[job.name] = k8s
        spec: dict[str, Any] = {
            "selection": job.selection,
            "codeLocation": {"image": image, "module": module, "attribute": attribute},
        }
        if job.description:
            spec["description"] = job.description
        if job.config:
            spec["runConfig"] = _plain(job.config)
        if job.tags:
            spec["tags"] = {str(k): str(v) for k, v in job.tags.items()}
        if template:
            spec["template"] = _plain(template)
        docs.append(
            {"apiVersion": API_VERSION, "kind": "AssetJob", "metadata": _meta(k8s, namespace),
             "spec": spec}
        )  # fmt: skip
    seen: set[str] = set()
    for schedule in schedules:
        k8s = k8s_name(schedule.name)
        if k8s in seen:
            raise ManifestError(f"schedules {schedule.name!r} and another both become {k8s!r}")
        seen.add(k8s)
        job_ref = job_names.get(schedule.job_name)
        if job_ref is None:
            raise ManifestError(
                f"schedule {schedule.name!r} targets job {schedule.job_name!r}, not defined"
            )
        spec = {
            "jobRef": {"name": job_ref},
            "cronSchedule": schedule.cron_schedule,
            "timeZone": schedule.execution_timezone or "UTC",
            "suspend": not schedule.running,
        }
        if schedule.description:
            spec["description"] = schedule.description
        if schedule.run_config is not None:
            if schedule.run_config:
                spec["runConfig"] = _plain(schedule.run_config)
        else:
            spec["scheduleDefinition"] = schedule.name
        if schedule.tags:
            spec["tags"] = {str(k): str(v) for k, v in schedule.tags.items()}
        docs.append(
            {"apiVersion": API_VERSION, "kind": "AssetSchedule",
             "metadata": _meta(k8s, namespace), "spec": spec}
        )  # fmt: skip
    return docs


@dataclass(frozen=True)
class _Job:
    name: str
    selection: str
    description: str | None
    config: Any
    tags: Mapping[str, str]


@dataclass(frozen=True)
class _Schedule:
    name: str
    job_name: str
    cron_schedule: str
    execution_timezone: str | None
    running: bool
    description: str | None
    tags: Mapping[str, str]
    #: The static run config; None: a function, evaluated in the run pod per tick.
    run_config: Any


def _jobs_and_schedules(
    defs: Any, module: str, attribute: str, left_out: list[str] | None
) -> tuple[list[_Job], list[_Schedule]]:
    """``defs``' jobs and schedules in one shape, each in name order."""
    if isinstance(defs, Definitions):
        jobs = [
            _Job(name, j.selection_string, j.description, j.config, j.tags)
            for name, j in sorted(defs.jobs.items())
        ]
        schedules = [
            _Schedule(
                name,
                s.job_name,
                s.cron_schedule,
                s.execution_timezone,
                s.default_status.value == "RUNNING",
                s.description,
                s.tags,
                (s.run_config or {}) if s.is_static else None,
            )
            for name, s in sorted(defs.schedules.items())
        ]
        return jobs, schedules
    if hasattr(defs, "jobs_and_schedules"):  # assetcron._dagster.DagsterCodeLocation
        dagster_jobs, dagster_schedules, skipped = defs.jobs_and_schedules()
        if left_out is not None:
            left_out.extend(skipped)
        jobs = [_Job(j.name, j.selection, j.description, j.config, j.tags) for j in dagster_jobs]
        schedules = [
            _Schedule(
                s.name,
                s.job_name,
                s.cron_schedule,
                s.execution_timezone,
                s.running,
                s.description,
                s.tags,
                None,
            )
            for s in dagster_schedules
        ]
        return jobs, schedules
    raise ManifestError(
        f"{module}:{attribute} is a {type(defs).__module__}.{type(defs).__name__}, not an"
        " assetcron.Definitions or a dagster.Definitions"
    )


def _plain(value: Any) -> Any:
    """Run config as plain JSON data (a ``RunConfig`` or pydantic config dumped)."""
    dump = getattr(value, "to_config_dict", None) or getattr(value, "model_dump", None)
    if dump is not None:
        return _plain(dump())
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``assetcron manifests`` to the CLI."""
    p = subparsers.add_parser(
        "manifests",
        help="AssetJob/AssetSchedule YAML for the jobs and schedules a code location defines",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("-f", "--python-file", metavar="FILE.py", help="code location file")
    src.add_argument("-m", "--module-name", metavar="MODULE", help="code location module")
    p.add_argument("-a", "--attribute", default="defs", help="Definitions attribute (defs)")
    p.add_argument("--image", required=True, help="the image holding the code location")
    p.add_argument("-n", "--namespace", help="namespace to put in the manifests (default: none)")
    p.add_argument(
        "--storage",
        metavar="URL",
        help="ASSETCRON_STORAGE of the run pods (s3://bucket/prefix, or a path on a volume)",
    )
    p.add_argument(
        "--env-from-secret",
        metavar="SECRET",
        help="a Secret whose keys become the run pods' environment (object store credentials)",
    )
    p.set_defaults(func=cmd_manifests)


def _module_of(python_file: str) -> str:
    """The module name a run pod imports for ``python_file`` (its package path, as the
    loader names it): the image must hold it importable."""
    parts = [Path(python_file).resolve().stem]
    directory = Path(python_file).resolve().parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts)


def cmd_manifests(args: argparse.Namespace) -> int:
    """Print the manifests (a YAML stream); exit 2 with one line for bad input. What a
    Dagster code location holds that cannot be converted is listed on stderr."""
    left_out: list[str] = []
    try:
        defs, _ = load_code_location(
            python_file=args.python_file, module_name=args.module_name, attribute=args.attribute
        )
        module = args.module_name or _module_of(args.python_file)
        docs = manifests_for(
            defs, module=module, attribute=args.attribute, image=args.image,
            namespace=args.namespace, storage=args.storage,
            env_from_secret=args.env_from_secret, left_out=left_out,
        )  # fmt: skip
    except (AssetcronError, ManifestError) as exc:
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        return 2
    for line in left_out:
        sys.stderr.write(f"left out: {line}\n")
    if not docs:
        sys.stderr.write("error: the code location defines no jobs or schedules\n")
        return 2
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
    return 0
