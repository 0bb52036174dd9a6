"""The operator against the real local control plane (etcd + kube-apiserver + the real
CronJob, Job and garbage-collector controllers).

The operator runs as a subprocess (the ``assetcron-operator`` console script, as in the
chart) watching only this module's namespace, with a 2-second status refresh so idle
passes can be observed quickly. Every wait polls with a deadline; nothing sleeps a fixed
time to "let things settle".
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tests.conftest import PlaneHandle

pytestmark = pytest.mark.controlplane

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "examples" / "weather" / "manifests"
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Poll ``check`` until it returns a truthy value; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Operator:
    """The operator subprocess: start, SIGKILL, restart; its JSON log lines."""

    def __init__(self, plane: PlaneHandle, namespace: str, log_path: Path) -> None:
        self.plane = plane
        self.namespace = namespace
        self.log_path = log_path
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(self.plane.env)
        env.update(
            ASSETCRON_WATCH_NAMESPACES=self.namespace,
            ASSETCRON_LIVENESS_ENDPOINT=f"http://127.0.0.1:{self.port}/healthz",
            ASSETCRON_STATUS_INTERVAL="2",
            ASSETCRON_LOG_FORMAT="json",
            ASSETCRON_RUN_HISTORY_LIMIT="5",
            ASSETCRON_METRICS_PORT="0",  # several operators share the host: no fixed port
        )
        exe = Path(sys.executable).parent / "assetcron-operator"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([str(exe)], env=env, stdout=log, stderr=log)
        wait_for(self._live, "the operator's liveness endpoint", timeout=60)

    def _live(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            pytest.fail(f"operator exited with {self.proc.returncode}:\n{self.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def refresh_passes(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("message") == "status refresh pass"]

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def namespace(control_plane: PlaneHandle) -> Iterator[str]:
    ns = f"op-{uuid.uuid4().hex[:8]}"
    control_plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for crd in ("assetjobs.assetcron.dev", "assetschedules.assetcron.dev"):
        control_plane.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    control_plane.kubectl("create", "namespace", ns)
    yield ns
    control_plane.kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="module")
def operator(
    control_plane: PlaneHandle, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    op = Operator(control_plane, namespace, tmp_path_factory.mktemp("operator") / "operator.log")
    op.start()
    try:
        yield op
    finally:
        op.stop()


class Cluster:
    """kubectl helpers bound to the test namespace."""

    def __init__(self, plane: PlaneHandle, namespace: str) -> None:
        self.plane = plane
        self.ns = namespace

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        return self.plane.kubectl("-n", self.ns, *args, input=input, check=check).stdout

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        proc = self.plane.kubectl("-n", self.ns, "get", kind, name, "-o", "json", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    def items(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["get", kind, "-o", "json"] + (["-l", selector] if selector else [])
        return list(json.loads(self.kubectl(*args))["items"])

    def apply(self, *docs: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))

    def ready(self, schedule: str) -> dict[str, Any] | None:
        body = self.get("assetschedule", schedule) or {}
        for cond in body.get("status", {}).get("conditions", []):
            if cond.get("type") == "Ready":
                return dict(cond)
        return None


@pytest.fixture(scope="module")
def cluster(control_plane: PlaneHandle, namespace: str, operator: Operator) -> Cluster:
    c = Cluster(control_plane, namespace)
    c.kubectl("apply", "-f", str(MANIFESTS / "assetjob.yaml"))  # every test's AssetJob
    return c


def _manifests() -> tuple[dict[str, Any], dict[str, Any]]:
    job = yaml.safe_load((MANIFESTS / "assetjob.yaml").read_text())
    schedule = yaml.safe_load((MANIFESTS / "assetschedule.yaml").read_text())
    return job, schedule


def _schedule(name: str, job: str = "weather", **spec: Any) -> dict[str, Any]:
    _, base = _manifests()
    base["metadata"] = {"name": name}
    base["spec"]["jobRef"] = {"name": job}
    base["spec"].update(spec)
    return base


def _container(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return dict(pod["containers"][0])


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


# --------------------------------------------------------------------------- must-show


def test_weather_manifests_make_the_cronjob_and_the_status_columns(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", str(MANIFESTS))
    cj = wait_for(lambda: cluster.get("cronjob", "weather-daily"), "CronJob weather-daily")
    schedule = cluster.get("assetschedule", "weather-daily")
    assert schedule is not None

    assert cj["spec"]["schedule"] == "0 6 * * *"
    assert cj["spec"]["timeZone"] == "America/Los_Angeles"
    assert cj["spec"]["suspend"] is False
    assert cj["spec"]["concurrencyPolicy"] == "Forbid"
    (owner,) = cj["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == (
        "AssetSchedule",
        schedule["metadata"]["uid"],
        True,
    )
    assert cj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "assetcron"
    assert cj["metadata"]["labels"]["assetcron.dev/schedule"] == "weather-daily"
    assert cj["metadata"]["labels"]["assetcron.dev/job"] == "weather"

    container = _container(cj)
    assert container["image"] == "ghcr.io/assetcron/assetcron-weather:0.1.0"
    assert container["command"] == [
        "assetcron", "asset", "materialize", "-m", "weather.definitions", "-a", "defs",
        "--select", "*",
    ]  # fmt: skip
    env = _env(container)
    assert env["ASSETCRON_JOB_NAME"] == {
        "fieldRef": {
            "apiVersion": "v1",
            "fieldPath": "metadata.labels['batch.kubernetes.io/job-name']",
        }
    }
    assert env["ASSETCRON_TIMEZONE"] == "America/Los_Angeles"
    assert env["ASSETCRON_CRON_SCHEDULE"] == "0 6 * * *"
    run_config = json.loads(env["ASSETCRON_RUN_CONFIG"])
    assert run_config["ops"]["weather__rolling_7d_summary"]["config"] == {"window_days": 7}
    assert "{{ partition_key }}" in run_config["ops"]["weather__weather_report"]["config"]["title"]
    assert env["ASSETCRON_TERMINATION_LOG"] == container["terminationMessagePath"]

    status = wait_for(
        lambda: (
            (cluster.get("assetschedule", "weather-daily") or {}).get("status", {}).get("nextRuns")
            and cluster.get("assetschedule", "weather-daily")
        ),
        "status.nextRuns",
    )["status"]
    assert status["observedGeneration"] == schedule["metadata"]["generation"]
    assert status["cronJobName"] == "weather-daily"
    assert len(status["nextRuns"]) == 3
    assert all(t.endswith(("T13:00:00Z", "T14:00:00Z")) for t in status["nextRuns"])  # 06:00 LA
    ready = cluster.ready("weather-daily")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("True", "Reconciled")

    table = cluster.kubectl("get", "assetschedules")
    header, row = table.splitlines()[:2]
    for column in ("JOB", "SCHEDULE", "TIMEZONE", "SUSPENDED", "NEXT RUN", "LAST RESULT", "AGE"):
        assert column in header
    assert "weather-daily" in row
    assert "America/Los_Angeles" in row
    assert status["nextRuns"][0] in row

    job = wait_for(
        lambda: (
            (cluster.get("assetjob", "weather") or {}).get("status", {}).get("schedules")
            and cluster.get("assetjob", "weather")
        ),
        "AssetJob status",
    )
    assert job["status"]["schedules"] == 1
    assert job["status"]["observedGeneration"] == job["metadata"]["generation"]


def test_edits_update_the_cronjob_in_place(cluster: Cluster) -> None:
    cj = wait_for(lambda: cluster.get("cronjob", "weather-daily"), "CronJob weather-daily")
    uid = cj["metadata"]["uid"]

    cluster.kubectl(
        "patch", "assetschedule", "weather-daily", "--type=merge",
        "-p", json.dumps({"spec": {"cronSchedule": "30 7 * * 1-5", "suspend": True}}),
    )  # fmt: skip
    cj = wait_for(
        lambda: (
            (c := cluster.get("cronjob", "weather-daily"))
            and c["spec"]["schedule"] == "30 7 * * 1-5"
            and c
        ),
        "the new schedule on the CronJob",
    )
    assert cj["metadata"]["uid"] == uid
    assert cj["spec"]["suspend"] is True

    cluster.kubectl(
        "patch", "assetjob", "weather", "--type=merge",
        "-p", json.dumps({"spec": {"selection": "key:weather/weather_report+"}}),
    )  # fmt: skip
    cj = wait_for(
        lambda: (
            (c := cluster.get("cronjob", "weather-daily"))
            and _container(c)["command"][-1] == "key:weather/weather_report+"
            and c
        ),
        "the new selection in the CronJob's command",
    )
    assert cj["metadata"]["uid"] == uid
    assert len(cluster.items("cronjobs", "assetcron.dev/schedule=weather-daily")) == 1

    # Back to the example, for the tests below.
    cluster.kubectl("apply", "-f", str(MANIFESTS))
    wait_for(
        lambda: (
            (c := cluster.get("cronjob", "weather-daily"))
            and c["spec"]["schedule"] == "0 6 * * *"
            and _container(c)["command"][-1] == "*"
        ),
        "the example restored",
    )


def test_an_idle_resync_writes_nothing(cluster: Cluster, operator: Operator) -> None:
    cluster.apply(_schedule("idle-check"))
    wait_for(
        lambda: (r := cluster.ready("idle-check")) and r["status"] == "True", "idle-check Ready"
    )
    # Settled once a full refresh pass that started after that made no write (the pass
    # right after may still write, e.g. the AssetJob's schedule count).
    ready_at = len(operator.refresh_passes())
    wait_for(
        lambda: any(p["writes"] == 0 for p in operator.refresh_passes()[ready_at + 1 :]),
        "a refresh pass without writes",
    )

    def versions() -> dict[str, str]:
        out = {}
        for kind in ("assetschedules", "assetjobs", "cronjobs"):
            for item in cluster.items(kind):
                out[f"{kind}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
        return out

    before = versions()
    seen = len(operator.refresh_passes())
    # Two more full passes over every schedule ...
    wait_for(lambda: len(operator.refresh_passes()) >= seen + 2, "two more refresh passes")
    assert [p["writes"] for p in operator.refresh_passes()[seen:]][:2] == [0, 0]
    assert versions() == before
    # ... and a restart: kopf resumes every object, our reconcile compares and writes nothing.
    operator.stop()
    operator.start()
    seen = len(operator.refresh_passes())
    wait_for(lambda: len(operator.refresh_passes()) >= seen + 1, "a refresh pass after restart")
    assert versions() == before


def test_killing_the_operator_mid_reconcile_converges(cluster: Cluster, operator: Operator) -> None:
    names = [f"burst-{i:02d}" for i in range(12)]
    cluster.apply(*(_schedule(n) for n in names))
    # SIGKILL as soon as the first CronJob exists: the others are mid-flight.
    wait_for(
        lambda: any(cluster.get("cronjob", n) for n in names[:3]) or None, "a first CronJob",
        timeout=60,
    )  # fmt: skip
    operator.stop(signal.SIGKILL)
    operator.start()

    def converged() -> bool:
        for n in names:
            ready = cluster.ready(n)
            if not ready or ready["status"] != "True":
                return False
        return True

    wait_for(converged, "all burst schedules Ready after the restart", timeout=120)
    for n in names:
        cronjobs = cluster.items("cronjobs", f"assetcron.dev/schedule={n}")
        assert [c["metadata"]["name"] for c in cronjobs] == [n]
        status = (cluster.get("assetschedule", n) or {})["status"]
        assert status["cronJobName"] == n
        assert len(status["nextRuns"]) == 3
    cluster.kubectl("delete", "assetschedule", *names, "--wait=false")


BadCase = tuple[str, dict[str, Any], dict[str, Any] | None, str, str]


@pytest.mark.parametrize(
    "case",
    [
        ("bad-zone", {"timeZone": "Mars/Olympus_Mons"}, None, "InvalidTimeZone", "timeZone"),
        ("never-fires", {"cronSchedule": "0 0 31 2 *"}, None, "InvalidSchedule", "never"),
        ("bad-template", {"runConfig": {"ops": {"a": {"config": {"d": "{{ x |"}}}}}, None,
         "InvalidRunConfig", "runConfig"),
        ("big-config", {"runConfig": {"ops": {"a": {"config": {"d": "x" * 70_000}}}}}, None,
         "InvalidRunConfig", "bytes"),
        ("bad-selection", {}, {"selection": "key:a and ("}, "InvalidSelection", "selection"),
        ("no-job", {"jobRef": {"name": "does-not-exist"}}, None, "JobNotFound", "does-not-exist"),
        ("job-typo", {"jobRef": {"name": "wether"}}, None, "JobNotFound",
         "did you mean 'weather'?"),
        ("zone-typo", {"timeZone": "Europe/Pari"}, None, "InvalidTimeZone",
         "did you mean 'Europe/Paris'?"),
    ],
    ids=lambda c: c[0],
)  # fmt: skip
def test_operator_only_bad_input_is_ready_false_with_a_reason(
    cluster: Cluster, case: BadCase
) -> None:
    name, spec, job_spec, reason, words = case
    job_name = "weather"
    if job_spec is not None:
        job, _ = _manifests()
        job_name = f"{name}-job"
        job["metadata"] = {"name": job_name}
        job["spec"].update(job_spec)
        cluster.apply(job)
    body = _schedule(name, job=job_name)
    body["spec"].update(spec)
    cluster.apply(body)
    ready = wait_for(lambda: cluster.ready(name), f"{name}'s Ready condition")
    assert ready["status"] == "False"
    assert ready["reason"] == reason, ready
    assert words.lower() in ready["message"].lower(), ready
    assert "\n" not in ready["message"]
    if reason != "JobNotFound":
        assert cluster.get("cronjob", name) is None  # nothing rendered from a bad spec


@pytest.mark.parametrize(
    "template",
    ["{{ 9**(9**7) }}", "{{ 'a' * 2*10**8 }}", "{{ 'x' | center(10**9) }}"],
    ids=["power", "repeat", "filter"],
)
def test_templates_that_explode_when_evaluated_are_checked_without_evaluating(
    cluster: Cluster, template: str
) -> None:
    # Compiling a Jinja template folds constant expressions: checking these used to stall
    # the operator for seconds or grow it by ~800 MB. The check now only parses; rendering
    # (in the run, bounded in time and memory) is where they fail, with a clear error.
    name = f"explodes-{uuid.uuid4().hex[:6]}"
    body = _schedule(name, runConfig={"ops": {"a": {"config": {"x": template}}}})
    cluster.apply(body)
    wait_for(lambda: cluster.ready(name), f"{name}'s Ready condition", timeout=30)
    after = f"fine-{uuid.uuid4().hex[:6]}"
    cluster.apply(_schedule(after))
    wait_for(lambda: cluster.get("cronjob", after), "the next schedule's CronJob", timeout=15)
    cluster.kubectl("delete", "assetschedule", name, after, "--wait=false")


def test_deleting_the_asset_job_suspends_and_reports_job_not_found(cluster: Cluster) -> None:
    job, _ = _manifests()
    job["metadata"] = {"name": "transient"}
    cluster.apply(job, _schedule("uses-transient", job="transient"))
    cj = wait_for(lambda: cluster.get("cronjob", "uses-transient"), "CronJob uses-transient")
    assert cj["spec"]["suspend"] is False

    cluster.kubectl("delete", "assetjob", "transient")
    ready = wait_for(
        lambda: (r := cluster.ready("uses-transient")) and r["reason"] == "JobNotFound" and r,
        "JobNotFound",
    )
    assert ready["status"] == "False"
    cj2 = wait_for(
        lambda: (c := cluster.get("cronjob", "uses-transient")) and c["spec"]["suspend"] and c,
        "the CronJob suspended",
    )
    assert cj2["metadata"]["uid"] == cj["metadata"]["uid"]  # suspended, not deleted

    cluster.apply(job)  # the job comes back: the schedule recovers on its own
    wait_for(
        lambda: (r := cluster.ready("uses-transient")) and r["status"] == "True",
        "Ready again",
    )
    wait_for(
        lambda: (c := cluster.get("cronjob", "uses-transient")) and not c["spec"]["suspend"],
        "the CronJob resumed",
    )


def test_a_schedule_made_invalid_suspends_its_cronjob_and_refuses_triggers(
    cluster: Cluster, control_plane: PlaneHandle, namespace: str
) -> None:
    cluster.apply(_schedule("turns-bad"))
    cj = wait_for(lambda: cluster.get("cronjob", "turns-bad"), "CronJob turns-bad")
    assert cj["spec"]["suspend"] is False

    # An edit the operator refuses: the old CronJob must not keep running the old spec.
    bad = _schedule("turns-bad", runConfig={"ops": {"a": {"config": {"d": "{{ nope }}"}}}})
    cluster.apply(bad)
    ready = wait_for(
        lambda: (r := cluster.ready("turns-bad")) and r["reason"] == "InvalidRunConfig" and r,
        "InvalidRunConfig",
    )
    assert "'nope' is undefined" in ready["message"]
    suspended = wait_for(
        lambda: (c := cluster.get("cronjob", "turns-bad")) and c["spec"]["suspend"] and c,
        "the CronJob suspended",
    )
    assert suspended["metadata"]["uid"] == cj["metadata"]["uid"]  # kept, with its history

    exe = Path(sys.executable).parent / "assetcron"
    proc = subprocess.run(
        [str(exe), "schedule", "trigger", "turns-bad", "-n", namespace, "--wait", "60",
         "--until", "created"],
        env=control_plane.env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout
    assert "trigger rejected: the schedule is not Ready (InvalidRunConfig)" in proc.stderr
    assert "'nope' is undefined" in proc.stderr
    assert cluster.items("jobs", "assetcron.dev/schedule=turns-bad") == []

    cluster.apply(_schedule("turns-bad"))  # fixed: applied again, unsuspended
    wait_for(
        lambda: (c := cluster.get("cronjob", "turns-bad")) and not c["spec"]["suspend"],
        "the CronJob resumed",
    )
    cluster.kubectl("delete", "assetschedule", "turns-bad", "--wait=false")


def test_deleting_the_schedule_garbage_collects_its_cronjob(cluster: Cluster) -> None:
    cluster.apply(_schedule("short-lived"))
    wait_for(lambda: cluster.get("cronjob", "short-lived"), "CronJob short-lived")
    body = cluster.get("assetschedule", "short-lived")
    assert body is not None
    assert not body["metadata"].get("finalizers")  # nothing can block the deletion
    annotations = body["metadata"].get("annotations", {})
    assert not any(k.startswith("kopf.zalando.org/") for k in annotations)
    cluster.kubectl("delete", "assetschedule", "short-lived", "--timeout=30s")
    wait_for(lambda: cluster.get("cronjob", "short-lived") is None, "garbage collection")


def test_a_70_character_name_gets_a_shortened_working_cronjob(cluster: Cluster) -> None:
    name = "daily-weather-refresh-for-the-analytics-team-in-the-pacific-time-zones"
    assert len(name) == 70
    cluster.apply(_schedule(name))
    ready = wait_for(
        lambda: (r := cluster.ready(name)) and r["status"] == "True" and r, f"{name} Ready"
    )
    assert ready["reason"] == "Reconciled"
    status = (cluster.get("assetschedule", name) or {})["status"]
    cj_name = status["cronJobName"]
    assert len(cj_name) <= 52
    assert cj_name != name[:52]  # hash-suffixed, not merely truncated
    cj = cluster.get("cronjob", cj_name)
    assert cj is not None
    assert all(len(v) <= 63 for v in cj["metadata"]["labels"].values())
    assert cj["metadata"]["ownerReferences"][0]["name"] == name


def test_trigger_creates_one_manual_run_owned_by_the_schedule(
    cluster: Cluster, control_plane: PlaneHandle, namespace: str, operator: Operator
) -> None:
    wait_for(
        lambda: (r := cluster.ready("weather-daily")) and r["status"] == "True",
        "weather-daily Ready",
    )
    exe = Path(sys.executable).parent / "assetcron"
    proc = subprocess.run(
        [str(exe), "schedule", "trigger", "weather-daily", "-n", namespace,
         "--scheduled-time", "2015-06-02T13:00:00Z", "--wait", "60", "--until", "created"],
        env=control_plane.env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    job_name = proc.stdout.strip().splitlines()[-1].split("/")[1].split()[0]
    job = cluster.get("job", job_name)
    assert job is not None
    (owner,) = job["metadata"]["ownerReferences"]
    schedule = cluster.get("assetschedule", "weather-daily")
    assert schedule is not None
    assert (owner["kind"], owner["uid"]) == ("AssetSchedule", schedule["metadata"]["uid"])
    env = _env(job["spec"]["template"]["spec"]["containers"][0])
    assert env["ASSETCRON_SCHEDULED_TIME"] == "2015-06-02T13:00:00Z"

    status = wait_for(
        lambda: (
            (s := (cluster.get("assetschedule", "weather-daily") or {}).get("status", {}))
            and any(r["name"] == job_name for r in s.get("recentRuns", []))
            and s
        ),
        "the manual run in status.recentRuns",
    )
    run = next(r for r in status["recentRuns"] if r["name"] == job_name)
    assert run["trigger"] == "Backfill"  # a date long before the trigger
    assert run["scheduledTime"] == "2015-06-02T13:00:00Z"
    assert status["lastTrigger"]["result"] == "Created"
    wait_for(
        lambda: (cluster.get("job", job_name) or {}).get("status", {}).get("startTime"),
        "the manual Job started",
    )

    # The same value is acted on once: two full resyncs later there is still one Job.
    seen = len(operator.refresh_passes())
    wait_for(lambda: len(operator.refresh_passes()) >= seen + 2, "two refresh passes")
    manual = cluster.items("jobs", "assetcron.dev/trigger=manual")
    assert [j["metadata"]["name"] for j in manual] == [job_name]


def test_manual_runs_cause_no_unexpected_job_warnings(
    cluster: Cluster, control_plane: PlaneHandle, namespace: str
) -> None:
    # The CronJob controller warns UnexpectedJob about each active Job it owns but did not
    # create. With an image the node does not have, runs stay active: a control run made
    # as kubectl makes them (owned by the CronJob) is warned about; our manual run, active
    # in the same sync, is not.
    job, _ = _manifests()
    job["metadata"] = {"name": "stuck"}
    job["spec"]["codeLocation"]["image"] = "ghcr.io/assetcron/not-on-this-node:0"
    job["spec"]["template"].update(volumes=[], volumeMounts=[])  # schedulable: no claim
    cluster.apply(job, _schedule("stuck", job="stuck"))
    wait_for(lambda: (r := cluster.ready("stuck")) and r["status"] == "True", "stuck Ready")
    exe = Path(sys.executable).parent / "assetcron"
    proc = subprocess.run(
        [str(exe), "schedule", "trigger", "stuck", "-n", namespace, "--wait", "60",
         "--until", "created"],
        env=control_plane.env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ours = proc.stdout.strip().splitlines()[-1].split("/")[1].split()[0]
    cluster.kubectl("create", "job", "control-run", "--from=cronjob/stuck")

    def unexpected() -> list[str]:
        events = cluster.items("events")
        return [str(e.get("message")) for e in events if e.get("reason") == "UnexpectedJob"]

    warned = wait_for(unexpected, "the UnexpectedJob warning about control-run")
    assert any("control-run" in m for m in warned), warned
    assert (cluster.get("job", ours) or {}).get("status", {}).get("active") == 1
    assert not any(ours in m for m in warned), warned
    status = wait_for(
        lambda: (
            (s := (cluster.get("assetschedule", "stuck") or {}).get("status", {}))
            and any(r["name"] == ours and r.get("message") for r in s.get("recentRuns", []))
            and s
        ),
        "the stuck run's message",
    )
    run = next(r for r in status["recentRuns"] if r["name"] == ours)
    assert run["trigger"] == "Manual"
    assert "not-on-this-node" in run["message"]
    cluster.kubectl("delete", "job", "control-run", "--wait=false")
    cluster.kubectl("delete", "assetschedule", "stuck", "--wait=false")


def test_runs_replaced_before_they_finish_are_reported(cluster: Cluster) -> None:
    # concurrencyPolicy Replace with runs longer than the period: the CronJob controller
    # deletes each unfinished run at the next tick, so none completes. Runs here never
    # finish (their image is not on the node); two ticks, one minute apart, show it.
    job, _ = _manifests()
    job["metadata"] = {"name": "slow"}
    job["spec"]["codeLocation"]["image"] = "ghcr.io/assetcron/not-on-this-node:0"
    job["spec"]["template"].update(volumes=[], volumeMounts=[])
    schedule = _schedule(
        "slow", job="slow", cronSchedule="* * * * *", concurrencyPolicy="Replace",
        startingDeadlineSeconds=30,
    )  # fmt: skip
    cluster.apply(job, schedule)
    status = wait_for(
        lambda: (
            (s := (cluster.get("assetschedule", "slow") or {}).get("status", {})).get(
                "lastReplacedRun"
            )
            and s
        ),
        "a run replaced by the next tick",
        timeout=150,
    )
    replaced = status["lastReplacedRun"]
    assert replaced["replacedBy"] > replaced["scheduledTime"]
    assert cluster.get("job", replaced["name"]) is None  # the controller deleted it
    events = wait_for(
        lambda: [e for e in cluster.items("events") if e.get("reason") == "RunReplaced"],
        "the RunReplaced warning",
    )
    assert events[0]["type"] == "Warning"
    assert events[0]["involvedObject"]["kind"] == "AssetSchedule"
    assert "concurrencyPolicy Replace" in events[0]["message"]
    cluster.kubectl("delete", "assetschedule", "slow", "--wait=false")


def test_an_object_nested_thousands_of_levels_deep_is_refused_on_itself_alone(
    cluster: Cluster, operator: Operator
) -> None:
    # The API server stores JSON nested up to 10,000 levels; Python's decoder stops at
    # its recursion limit (1,000 by default). Such an object used to fail every watch
    # and stop the operator for everybody, on every restart.
    depth = 3000
    run_config = '{"ops":' * depth + "{}" + "}" * depth
    deep = (
        '{"apiVersion": "assetcron.dev/v1alpha1", "kind": "AssetJob",'
        ' "metadata": {"name": "deep"}, "spec": {"selection": "*",'
        ' "codeLocation": {"image": "ghcr.io/assetcron/assetcron-weather:0.1.0",'
        f' "module": "weather.definitions"}}, "runConfig": {run_config}}}}}'
    )
    cluster.kubectl("apply", "-f", "-", input=deep)
    cluster.apply(_schedule("uses-deep", job="deep"))

    ready = wait_for(lambda: cluster.ready("uses-deep"), "uses-deep's Ready condition")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec"), ready
    # spec, runConfig, then one more object per "ops": depth + 2 levels.
    assert f"nested {depth + 2} levels deep" in ready["message"], ready
    assert cluster.get("cronjob", "uses-deep") is None
    # (jsonpath: the test's own json.loads would hit Python's recursion limit too.)
    job_reason = wait_for(
        lambda: cluster.kubectl(
            "get", "assetjob", "deep", "-o", "jsonpath={.status.conditions[0].reason}"
        ),
        "the AssetJob's own condition",
    )
    assert job_reason == "InvalidSpec"

    # The operator lives on, and the next valid schedule is reconciled as ever.
    assert operator.proc is not None
    assert operator.proc.poll() is None, operator.tail()
    cluster.apply(_schedule("after-deep"))
    wait_for(lambda: cluster.get("cronjob", "after-deep"), "the CronJob after the deep object", 30)
    assert operator.proc.poll() is None, operator.tail()
    cluster.kubectl("delete", "assetjob/deep", "assetschedule/uses-deep", "--wait=false")


@pytest.mark.parametrize(
    ("memory", "words"),
    [
        ("12 parsecs", "quantities must match"),  # HTTP 500: the object cannot be converted
        ("-1Gi", "must be greater than or equal to 0"),  # HTTP 422: invalid
    ],
)
def test_a_cronjob_the_api_server_refuses_is_ready_false_with_its_message(
    cluster: Cluster, operator: Operator, memory: str, words: str
) -> None:
    # The CRD takes the pod template's resources as they are; the API server's CronJob
    # validation does not: a retry cannot help, the schedule must say why.
    name = f"bad-quantity-{uuid.uuid4().hex[:4]}"
    job, _ = _manifests()
    job["metadata"] = {"name": name}
    job["spec"]["template"]["resources"] = {"limits": {"memory": memory}}
    cluster.apply(job, _schedule(f"uses-{name}", job=name))

    def refused() -> dict[str, Any] | None:
        ready = cluster.ready(f"uses-{name}")
        return ready if ready and ready["reason"] == "CronJobInvalid" else None

    ready = wait_for(refused, "Ready=False CronJobInvalid")
    assert ready["status"] == "False"
    assert f"the API server refused CronJob uses-{name}" in ready["message"], ready
    assert words in ready["message"], ready
    assert cluster.get("cronjob", f"uses-{name}") is None
    assert operator.proc is not None
    assert operator.proc.poll() is None, operator.tail()

    # Fixing the AssetJob is enough: its schedule is reconciled again.
    job["spec"]["template"]["resources"] = {"limits": {"memory": "512Mi"}}
    cluster.apply(job)
    wait_for(lambda: cluster.get("cronjob", f"uses-{name}"), "the CronJob after the fix")
    fixed = wait_for(
        lambda: (r := cluster.ready(f"uses-{name}")) and r["status"] == "True" and r,
        "Ready=True after the fix",
    )
    assert fixed["reason"] == "Reconciled"


def test_after_every_input_above_the_operator_runs_within_its_chart_memory_limit(
    operator: Operator,
) -> None:
    # Last in this module on purpose: the hostile and invalid objects above have all been
    # handled by this process. Peak resident memory (VmHWM) against the chart's limit.
    values = yaml.safe_load((ROOT / "charts" / "assetcron" / "values.yaml").read_text())
    limit = str(values["resources"]["limits"]["memory"])
    assert limit.endswith("Mi")
    assert operator.proc is not None
    assert operator.proc.poll() is None, operator.tail()
    status = Path(f"/proc/{operator.proc.pid}/status").read_text()
    peak_kib = int(
        next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]
    )
    print(f"operator peak RSS (VmHWM): {peak_kib / 1024:.0f} MiB; chart limit {limit}")
    assert peak_kib * 1024 < int(limit[:-2]) * 1024 * 1024, f"peak {peak_kib} KiB over {limit}"
