"""The generated CRDs on a real API server: bad specs are refused at admission.

Every bad input that the schema or a CEL rule can catch must be rejected with a message
naming the field; valid specs (including names longer than the CronJob and label limits)
must be accepted, and the CronJob rendered for them must pass the API server's own
batch/v1 validation. The ValidatingAdmissionPolicy shipped with the CRDs refuses users
who may not create Jobs (an AssetJob or AssetSchedule runs pods as Jobs). No operator
runs here: this layer only checks what the API server enforces.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from assetcron_operator import crdgen
from assetcron_operator.render import render_cronjob
from tests.conftest import ROOT, PlaneHandle

pytestmark = pytest.mark.controlplane

JOB: dict[str, Any] = {
    "apiVersion": "assetcron.dev/v1alpha1",
    "kind": "AssetJob",
    "metadata": {"name": "weather"},
    "spec": {
        "selection": "group:weather",
        "codeLocation": {"image": "assetcron-weather:dev", "module": "weather"},
    },
}
SCHEDULE: dict[str, Any] = {
    "apiVersion": "assetcron.dev/v1alpha1",
    "kind": "AssetSchedule",
    "metadata": {"name": "weather-daily"},
    "spec": {"jobRef": {"name": "weather"}, "cronSchedule": "0 6 * * *"},
}


@pytest.fixture(scope="module")
def namespace(control_plane: PlaneHandle) -> Iterator[str]:
    """A fresh namespace with the generated CRDs installed and established."""
    for kind in crdgen.KINDS:
        path = ROOT / crdgen.CRD_DIR / f"{kind.crd_name}.yaml"
        control_plane.kubectl(
            "apply", "--server-side", "--force-conflicts", "--field-manager=test-admission",
            "-f", str(path),
        )  # fmt: skip
        control_plane.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", f"crd/{kind.crd_name}"
        )
    control_plane.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=test-admission",
        "-f", str(ROOT / crdgen.CRD_DIR / crdgen.ADMISSION_FILE),
    )  # fmt: skip
    name = f"admission-{uuid.uuid4().hex[:8]}"
    control_plane.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``base`` with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
    doc = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    if value is ...:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return doc


def _create(
    plane: PlaneHandle, namespace: str, doc: dict[str, Any], *, dry_run: bool = True
) -> Any:
    args = ["create", "-n", namespace, "-o", "json", "-f", "-"]
    if dry_run:
        args.insert(1, "--dry-run=server")
    return plane.kubectl(*args, input=json.dumps(doc), check=False)


GE0 = "greater than or equal to 0"
LE_INT32 = "less than or equal to 2147483647"

BAD_SCHEDULES = [
    ("six-field cron", "spec.cronSchedule", "0 0 6 * * *", "exactly 5 fields"),
    ("minute out of range", "spec.cronSchedule", "61 * * * *", "minute field"),
    ("hour out of range", "spec.cronSchedule", "0 24 * * *", "hour field"),
    ("day of week 7", "spec.cronSchedule", "0 0 * * 7", "day-of-week field"),
    ("@every", "spec.cronSchedule", "@every 5m", "@every is not supported"),
    ("TZ= prefix", "spec.cronSchedule", "TZ=UTC 0 * * * *", "TZ="),
    ("CRON_TZ= prefix", "spec.cronSchedule", "CRON_TZ=UTC 0 * * * *", "TZ="),
    ("empty cron", "spec.cronSchedule", "", "spec.cronSchedule"),
    ("missing jobRef", "spec.jobRef", ..., "Required value"),
    ("missing jobRef.name", "spec.jobRef", {}, "Required value"),
    ("jobRef.name not DNS-1123", "spec.jobRef.name", "Weather_Job", "should match"),
    ("jobRef to another namespace", "spec.jobRef", {"name": "w", "namespace": "other"},
     "its own namespace"),
    ("unknown concurrencyPolicy", "spec.concurrencyPolicy", "Sometimes", "Unsupported value"),
    ("negative successful history", "spec.successfulJobsHistoryLimit", -1, GE0),
    ("negative failed history", "spec.failedJobsHistoryLimit", -1, GE0),
    ("starting deadline 0 (never fires)", "spec.startingDeadlineSeconds", 0,
     "greater than or equal to 10"),
    ("starting deadline below 10 s", "spec.startingDeadlineSeconds", 9,
     "greater than or equal to 10"),
    ("history limit beyond int32", "spec.successfulJobsHistoryLimit", 2**40, LE_INT32),
    ("failed history beyond int32", "spec.failedJobsHistoryLimit", 2**31, LE_INT32),
    ("time zone with a space", "spec.timeZone", "Europe/New York", "IANA time zone"),
    ("Local time zone", "spec.timeZone", "Local", "IANA time zone"),
    ("unknown field", "spec.cronSchedules", "0 * * * *", "spec.cronSchedules"),
    ("65 tags", "spec.tags", {f"t{i}": "x" for i in range(65)}, "must have at most 64 items"),
    ("17 run-config keys", "spec.runConfig", {f"k{i}": {} for i in range(17)},
     "must have at most 16 items"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [case[1:] for case in BAD_SCHEDULES],
    ids=[case[0] for case in BAD_SCHEDULES],
)
def test_bad_schedules_are_rejected_naming_the_field(
    control_plane: PlaneHandle, namespace: str, path: str, value: Any, fragment: str
) -> None:
    proc = _create(control_plane, namespace, _with(SCHEDULE, path, value))
    assert proc.returncode != 0, f"accepted: {path}={value!r}"
    field = path.split(".", 1)[1] if path != "spec.jobRef" else "jobRef"
    assert field in proc.stderr, proc.stderr
    assert fragment in proc.stderr, proc.stderr


BAD_JOBS = [
    ("TTL beyond int32", "spec.ttlSecondsAfterFinished", 2**32 + 5, LE_INT32),
    ("backoffLimit beyond int32", "spec.backoffLimit", 2**31, LE_INT32),
    ("empty selection", "spec.selection", "", "at least 1 chars"),
    ("blank selection", "spec.selection", "   ", "must not be empty"),
    ("missing selection", "spec.selection", ..., "Required value"),
    ("empty image", "spec.codeLocation.image", "", "at least 1 chars"),
    ("image with spaces", "spec.codeLocation.image", "my image", "without whitespace"),
    ("missing module", "spec.codeLocation.module", ..., "Required value"),
    ("module not a Python name", "spec.codeLocation.module", "my-module", "should match"),
    ("negative backoffLimit", "spec.backoffLimit", -1, GE0),
    ("zero activeDeadlineSeconds", "spec.activeDeadlineSeconds", 0, "greater than or equal to 1"),
    ("65 tags", "spec.tags", {f"t{i}": "x" for i in range(65)}, "must have at most 64 items"),
    ("a 2 KB tag value", "spec.tags", {"team": "x" * 2048}, "not be more than 1024 bytes"),
    ("a 300-character tag key", "spec.tags", {"k" * 300: "x"}, "tag keys are at most 253"),
    ("17 run-config keys", "spec.runConfig", {f"k{i}": {} for i in range(17)},
     "must have at most 16 items"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [case[1:] for case in BAD_JOBS],
    ids=[case[0] for case in BAD_JOBS],
)
def test_bad_jobs_are_rejected_naming_the_field(
    control_plane: PlaneHandle, namespace: str, path: str, value: Any, fragment: str
) -> None:
    proc = _create(control_plane, namespace, _with(JOB, path, value))
    assert proc.returncode != 0, f"accepted: {path}={value!r}"
    assert path.rsplit(".", 1)[1] in proc.stderr, proc.stderr
    assert fragment in proc.stderr, proc.stderr


GOOD_CRONS = ["@daily", "@hourly", "@yearly", "*/15 9-17 * * MON-FRI", "0 0 1,15 jan-jun ?",
              "5 4 * * sun", "30 2 * * 0-6", "0 0 1-31/2 * *"]  # fmt: skip


@pytest.mark.parametrize("cron", GOOD_CRONS)
def test_good_crons_are_accepted(control_plane: PlaneHandle, namespace: str, cron: str) -> None:
    proc = _create(control_plane, namespace, _with(SCHEDULE, "spec.cronSchedule", cron))
    assert proc.returncode == 0, proc.stderr


def test_valid_objects_with_long_names_are_stored_with_defaults(
    control_plane: PlaneHandle, namespace: str
) -> None:
    job = _with(JOB, "metadata.name", "j" * 70)
    job["spec"]["runConfig"] = {"ops": {"a": {"config": {"n": 1, "d": "{{ scheduled_date }}"}}}}
    job["spec"]["template"] = {
        "env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "resources": {"limits": {"memory": "1Gi"}},
        "tolerations": [{"operator": "Exists"}],
    }
    name = ("a-schedule-name-that-is-longer-than-the-cronjob-and-label-limits-" + "x" * 70)[:70]
    assert len(name) == 70
    schedule = _with(SCHEDULE, "metadata.name", name)
    schedule["spec"]["jobRef"]["name"] = "j" * 70
    schedule["spec"]["timeZone"] = "America/Argentina/Buenos_Aires"
    stored_job = _create(control_plane, namespace, job, dry_run=False)
    assert stored_job.returncode == 0, stored_job.stderr
    stored = _create(control_plane, namespace, schedule, dry_run=False)
    assert stored.returncode == 0, stored.stderr
    body = json.loads(stored.stdout)
    spec = body["spec"]
    assert spec["concurrencyPolicy"] == "Allow"  # schema defaults applied
    assert spec["suspend"] is False
    job_body = json.loads(stored_job.stdout)
    assert job_body["spec"]["codeLocation"]["attribute"] == "defs"
    assert job_body["spec"]["template"]["env"][0]["valueFrom"]["fieldRef"] == {
        "fieldPath": "metadata.name"
    }  # preserved, not pruned

    # The CronJob rendered for these objects passes batch/v1 validation (name <= 52,
    # label values <= 63, owner reference, pod template).
    cronjob = render_cronjob(body, job_body)
    proc = _create(control_plane, namespace, cronjob)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["metadata"]["name"]) == 52


def test_every_integer_at_its_maximum_is_accepted(
    control_plane: PlaneHandle, namespace: str
) -> None:
    # The schema's bounds are what the API server can read (a bound it cannot parse
    # fails every object that sets the field).
    job = copy.deepcopy(JOB)
    job["spec"].update(backoffLimit=2**31 - 1, activeDeadlineSeconds=2**53 - 1,
                       ttlSecondsAfterFinished=2**31 - 1)  # fmt: skip
    schedule = copy.deepcopy(SCHEDULE)
    schedule["spec"].update(startingDeadlineSeconds=2**53 - 1, successfulJobsHistoryLimit=2**31 - 1,
                            failedJobsHistoryLimit=2**31 - 1)  # fmt: skip
    for doc in (job, schedule):
        proc = _create(control_plane, namespace, doc)
        assert proc.returncode == 0, proc.stderr


def test_status_subresource_and_printer_columns(control_plane: PlaneHandle, namespace: str) -> None:
    schedule = _with(SCHEDULE, "metadata.name", "columns")
    assert _create(control_plane, namespace, schedule, dry_run=False).returncode == 0
    status = {
        "status": {
            "observedGeneration": 1,
            "nextRuns": ["2030-01-01T06:00:00Z"],
            "lastScheduleTime": "2029-12-31T06:00:00Z",
            "lastResult": "Succeeded",
            "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled",
                            "message": "ok", "lastTransitionTime": "2029-12-31T06:00:00Z"}],
            "recentRuns": [{"name": "columns-1", "trigger": "Scheduled", "phase": "Succeeded",
                            "scheduledTime": "2029-12-31T06:00:00Z", "startTime": None,
                            "counts": {"materialized": 2}, "assets": [
                                {"key": "a/b", "outcome": "Materialized"}]}],
            "lastTrigger": {"value": "now", "result": "Created"},
        }
    }  # fmt: skip
    control_plane.kubectl(
        "patch", "-n", namespace, "assetschedule", "columns", "--subresource=status",
        "--type=merge", "-p", json.dumps(status),
    )  # fmt: skip
    stored = json.loads(
        control_plane.kubectl("get", "-n", namespace, "asch", "columns", "-o", "json").stdout
    )
    assert stored["status"]["recentRuns"][0]["assets"] == [
        {"key": "a/b", "outcome": "Materialized"}
    ]
    assert stored["status"]["lastTrigger"]["value"] == "now"
    table = control_plane.kubectl("get", "-n", namespace, "assetschedules", "columns").stdout
    header, row = table.splitlines()[:2]
    for column in ("JOB", "SCHEDULE", "TIMEZONE", "SUSPENDED", "NEXT RUN", "LAST RUN",
                   "LAST RESULT", "READY", "AGE"):  # fmt: skip
        assert column in header
    assert "2030-01-01T06:00:00Z" in row
    assert "Succeeded" in row
    assert "UTC" in row
    assert row[header.index("READY") :].split()[0] == "True"  # a default column now
    listed = control_plane.kubectl("get", "-n", namespace, "assetcron", "-o", "name").stdout
    assert "assetschedule.assetcron.dev/columns" in listed


def test_generated_files_parse_as_crds() -> None:
    for kind in crdgen.KINDS:
        doc = yaml.safe_load((ROOT / crdgen.CRD_DIR / f"{kind.crd_name}.yaml").read_text())
        assert doc["kind"] == "CustomResourceDefinition"


# ---------------------------------------------------------------------------- no escalation
def _user(cp: PlaneHandle, namespace: str, *, may_create_jobs: bool) -> str:
    """A user bound to a Role that may manage AssetJobs and AssetSchedules in
    ``namespace`` (and create Jobs there when ``may_create_jobs``); returns the name."""
    name = f"user-{uuid.uuid4().hex[:6]}"
    rules: list[dict[str, Any]] = [
        {
            "apiGroups": ["assetcron.dev"],
            "resources": ["assetjobs", "assetschedules"],
            "verbs": ["get", "list", "create", "update", "patch", "delete"],
        }
    ]
    if may_create_jobs:
        rules.append({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]})
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": rules,
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}],
    }
    cp.kubectl("apply", "-f", "-", input=json.dumps({"kind": "List", "apiVersion": "v1",
                                                      "items": [role, binding]}))  # fmt: skip
    return name


def _named(obj: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["name"] = name
    if out["kind"] == "AssetSchedule":
        out["spec"]["jobRef"]["name"] = name
    return out


def _as(cp: PlaneHandle, user: str, namespace: str, *args: str, obj: Any = None) -> Any:
    return cp.kubectl(
        f"--as={user}", "-n", namespace, *args,
        input=None if obj is None else json.dumps(obj), check=False,
    )  # fmt: skip


@pytest.mark.parametrize("doc", [JOB, SCHEDULE], ids=["AssetJob", "AssetSchedule"])
def test_creating_one_needs_the_right_to_create_jobs(
    control_plane: PlaneHandle, namespace: str, doc: dict[str, Any]
) -> None:
    narrow = _user(control_plane, namespace, may_create_jobs=False)
    obj = _named(doc, f"esc-{uuid.uuid4().hex[:6]}")
    refused = _as(control_plane, narrow, namespace, "create", "-f", "-", obj=obj)
    assert refused.returncode != 0
    assert (
        f"{narrow} must be allowed to create jobs.batch in namespace {namespace}" in refused.stderr
    ), refused.stderr
    assert doc["kind"] in refused.stderr
    # Nothing was stored.
    kind = "assetjob" if doc["kind"] == "AssetJob" else "assetschedule"
    missing = control_plane.kubectl(
        "get", kind, obj["metadata"]["name"], "-n", namespace, check=False
    )
    assert missing.returncode != 0

    allowed = _user(control_plane, namespace, may_create_jobs=True)
    created = _as(control_plane, allowed, namespace, "create", "-f", "-", obj=obj)
    assert created.returncode == 0, created.stderr


def test_changing_the_spec_or_triggering_needs_it_too_tidying_metadata_does_not(
    control_plane: PlaneHandle, namespace: str
) -> None:
    name = f"admin-{uuid.uuid4().hex[:6]}"
    for doc in (JOB, SCHEDULE):  # an admin's AssetJob and AssetSchedule
        control_plane.kubectl(
            "create", "-n", namespace, "-f", "-", input=json.dumps(_named(doc, name))
        )
    narrow = _user(control_plane, namespace, may_create_jobs=False)

    spec = _as(control_plane, narrow, namespace, "patch", "assetschedule", name, "--type=merge",
               "-p", '{"spec":{"cronSchedule":"* * * * *"}}')  # fmt: skip
    assert spec.returncode != 0
    assert "must be allowed to create jobs.batch" in spec.stderr
    trigger = _as(control_plane, narrow, namespace, "annotate", "assetschedule", name,
                  "assetcron.dev/trigger=2026-01-01T00:00:00Z#abc")  # fmt: skip
    assert trigger.returncode != 0
    assert "must be allowed to create jobs.batch" in trigger.stderr
    value = "2026-01-01T00:00:00Z/2026-01-07T00:00:00Z#abc"
    backfill = _as(control_plane, narrow, namespace, "annotate", "assetschedule", name,
                   f"assetcron.dev/backfill={value}")  # fmt: skip
    assert backfill.returncode != 0
    assert "or backfill runs" in backfill.stderr
    job_spec = _as(control_plane, narrow, namespace, "patch", "assetjob", name, "--type=merge",
                   "-p", '{"spec":{"selection":"*"}}')  # fmt: skip
    assert job_spec.returncode != 0

    # Labels and other annotations start nothing: allowed to whoever may update.
    label = _as(control_plane, narrow, namespace, "label", "assetschedule", name, "team=data")
    assert label.returncode == 0, label.stderr
    # Deleting runs nothing either.
    gone = _as(control_plane, narrow, namespace, "delete", "assetschedule", name)
    assert gone.returncode == 0, gone.stderr
