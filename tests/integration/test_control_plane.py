"""The local control plane runs the real CronJob, Job and garbage-collector controllers,
and the local pod executor plays the node's part. These tests talk to the real API server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PlaneHandle, poll

pytestmark = pytest.mark.controlplane


# A command the local executor can run as the "container": it echoes what it was given.
ECHO_ENV = (
    "import json, os; "
    "open(os.environ['TERM_LOG'], 'w').write(json.dumps({k: os.environ.get(k) for k in "
    "['POD_NAME', 'POD_NAMESPACE', 'JOB_NAME', 'FROM_SECRET', 'FROM_CONFIGMAP', 'LITERAL']}))"
)


JOB_NAME_LABEL_PATH = "metadata.labels['batch.kubernetes.io/job-name']"


def kget(cp: PlaneHandle, *args: str) -> Any:
    return json.loads(cp.kubectl("get", *args, "-o", "json").stdout)


@pytest.fixture
def namespace(control_plane: PlaneHandle) -> str:
    ns = f"t-{uuid.uuid4().hex[:8]}"
    control_plane.kubectl("create", "namespace", ns)
    # The serviceaccount controller must create `default` before pods can be admitted.
    poll(
        lambda: (
            control_plane.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0
        ),
        60,
        "the default ServiceAccount",
    )
    return ns


def test_cronjob_runs_to_completion_through_the_real_controllers(
    control_plane: PlaneHandle, namespace: str
) -> None:
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "every-minute", "namespace": namespace},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {
                                    "name": "main",
                                    "image": "example.com/assetcron-test:1",
                                    "command": [sys.executable, "-c", ECHO_ENV],
                                    "terminationMessagePath": "/dev/termination-log",
                                    "env": [
                                        {"name": "TERM_LOG", "value": "/dev/termination-log"},
                                        {
                                            "name": "JOB_NAME",
                                            "valueFrom": {
                                                "fieldRef": {"fieldPath": JOB_NAME_LABEL_PATH}
                                            },
                                        },
                                    ],
                                }
                            ],
                        }
                    },
                }
            },
        },
    }
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(cronjob))

    def job() -> dict[str, Any] | None:
        items = kget(control_plane, "jobs", "-n", namespace)["items"]
        return items[0] if items else None

    created = poll(job, 90, "the CronJob controller to create a Job")
    job_name = created["metadata"]["name"]
    # The CronJob controller names Jobs <cronjob>-<scheduled unix time / 60>.
    minutes = int(job_name.rsplit("-", 1)[1])
    assert abs(minutes * 60 - time.time()) < 180

    def pod_done() -> dict[str, Any] | None:
        pods = kget(
            control_plane, "pods", "-n", namespace, "-l", f"batch.kubernetes.io/job-name={job_name}"
        )["items"]
        done = [p for p in pods if p["status"].get("phase") in ("Succeeded", "Failed")]
        return done[0] if done else None

    pod = poll(pod_done, 60, "the executor to run the pod")
    assert pod["status"]["phase"] == "Succeeded", pod["status"]
    assert pod["spec"]["nodeName"] == "assetcron-dev-node"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0
    echoed = json.loads(terminated["message"])
    assert echoed["JOB_NAME"] == job_name  # Downward API label resolved
    assert echoed["POD_NAME"] is None  # only what the pod spec declares is passed

    def complete() -> bool:
        conds = kget(control_plane, "job", job_name, "-n", namespace)["status"].get(
            "conditions", []
        )
        return any(c["type"] == "Complete" and c["status"] == "True" for c in conds)

    poll(complete, 60, "the Job controller to mark the Job Complete")
    control_plane.kubectl("delete", "cronjob", "every-minute", "-n", namespace)


def test_executor_resolves_downward_api_secrets_and_configmaps(
    control_plane: PlaneHandle, namespace: str
) -> None:
    control_plane.kubectl(
        "create", "secret", "generic", "creds", "-n", namespace, "--from-literal=token=s3cr3t"
    )
    control_plane.kubectl(
        "create", "configmap", "settings", "-n", namespace, "--from-literal=region=us-west-2"
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "env-echo", "namespace": namespace, "labels": {"app": "echo"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "assetcron:dev",
                    "command": [sys.executable, "-c", ECHO_ENV],
                    "env": [
                        {"name": "TERM_LOG", "value": "/dev/termination-log"},
                        {"name": "LITERAL", "value": "plain"},
                        {
                            "name": "POD_NAME",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                        },
                        {
                            "name": "POD_NAMESPACE",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                        },
                        {
                            "name": "FROM_SECRET",
                            "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}},
                        },
                        {
                            "name": "FROM_CONFIGMAP",
                            "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "region"}},
                        },
                    ],
                }
            ],
        },
    }
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(pod))

    def finished() -> dict[str, Any] | None:
        p = kget(control_plane, "pod", "env-echo", "-n", namespace)
        return p if p["status"].get("phase") in ("Succeeded", "Failed") else None

    done = poll(finished, 60, "the pod to finish")
    assert done["status"]["phase"] == "Succeeded"
    echoed = json.loads(done["status"]["containerStatuses"][0]["state"]["terminated"]["message"])
    assert echoed == {
        "POD_NAME": "env-echo",
        "POD_NAMESPACE": namespace,
        "JOB_NAME": None,
        "FROM_SECRET": "s3cr3t",
        "FROM_CONFIGMAP": "us-west-2",
        "LITERAL": "plain",
    }
    log = control_plane.state_dir / "logs" / "pods" / f"{namespace}_env-echo.log"
    assert log.exists()


def test_failing_container_reports_exit_code(control_plane: PlaneHandle, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "fails", "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "assetcron:dev",
                    "command": [sys.executable, "-c", "raise SystemExit(3)"],
                }
            ],
        },
    }
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(pod))

    def finished() -> dict[str, Any] | None:
        p = kget(control_plane, "pod", "fails", "-n", namespace)
        return p if p["status"].get("phase") in ("Succeeded", "Failed") else None

    done = poll(finished, 60, "the pod to fail")
    assert done["status"]["phase"] == "Failed"
    terminated = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")


def _events_for(cp: PlaneHandle, namespace: str, pod: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kget(
        cp, "events", "-n", namespace, "--field-selector", f"involvedObject.name={pod}"
    )["items"]
    return items


def test_pods_it_cannot_run_stay_pending_with_an_event(
    control_plane: PlaneHandle, namespace: str
) -> None:
    other_image = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx", "namespace": namespace},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    }
    missing_secret = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "needs-secret", "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "assetcron:dev",
                    "command": [sys.executable, "-c", "pass"],
                    "env": [
                        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k"}}}
                    ],
                }
            ],
        },
    }
    for obj in (other_image, missing_secret):
        control_plane.kubectl("apply", "-f", "-", input=json.dumps(obj))
    ev = poll(
        lambda: [
            e
            for e in _events_for(control_plane, namespace, "nginx")
            if e["reason"] == "NotLocallyExecutable"
        ],
        30,
        "an event on the nginx pod",
    )
    assert "nginx:1.27" in ev[0]["message"]
    ev2 = poll(
        lambda: [
            e
            for e in _events_for(control_plane, namespace, "needs-secret")
            if "absent" in e["message"]
        ],
        30,
        "an event on the pod with a missing secret",
    )
    assert ev2[0]["type"] == "Warning"
    for name in ("nginx", "needs-secret"):
        assert kget(control_plane, "pod", name, "-n", namespace)["status"]["phase"] == "Pending"
    waiting = kget(control_plane, "pod", "needs-secret", "-n", namespace)["status"][
        "containerStatuses"
    ][0]
    assert waiting["state"]["waiting"]["reason"] == "CreateContainerConfigError"


def test_deleting_an_owner_garbage_collects_its_dependents(
    control_plane: PlaneHandle, namespace: str
) -> None:
    control_plane.kubectl("create", "configmap", "owner", "-n", namespace)
    uid = kget(control_plane, "configmap", "owner", "-n", namespace)["metadata"]["uid"]
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "dependent",
            "namespace": namespace,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}
            ],
        },
    }
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(dependent))
    control_plane.kubectl("delete", "configmap", "owner", "-n", namespace)
    poll(
        lambda: (
            control_plane.kubectl(
                "get", "configmap", "dependent", "-n", namespace, check=False
            ).returncode
            != 0
        ),
        60,
        "the garbage collector to delete the dependent",
    )


# --------------------------------------------------------------------------- CLI


def _dev(
    state: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assetcron.cli", "dev", *args, f"--state-dir={state}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_dev_up_is_idempotent_and_down_leaves_no_process(
    tmp_path: Path, control_plane: PlaneHandle
) -> None:
    from assetcron_dev.plane import free_port, free_port_pair, marked_processes

    state = tmp_path / "state"
    ports = [f"--port={free_port()}", f"--etcd-port={free_port_pair()}", "--no-operator"]
    first = _dev(state, "up", *ports)
    assert first.returncode == 0, first.stderr
    assert f"export KUBECONFIG={state.resolve()}/kubeconfig" in first.stdout
    assert "started in" in first.stderr
    running = marked_processes(state.resolve())
    assert len(running) >= 4  # etcd, apiserver, controller-manager, executor

    second = _dev(state, "up", *ports)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr
    assert sorted(marked_processes(state.resolve())) == sorted(running)  # nothing new started

    status = _dev(state, "status", "--json", *ports)
    assert status.returncode == 0
    assert json.loads(status.stdout)["ready"] is True

    down = _dev(state, "down", *ports)
    assert down.returncode == 0
    assert marked_processes(state.resolve()) == []
    assert all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in running)
    assert _dev(state, "status", *ports).returncode == 1


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_dev_up_port_in_use_is_exit_2_and_starts_nothing(tmp_path: Path) -> None:
    from assetcron_dev.plane import free_port, marked_processes

    state = tmp_path / "state"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _dev(state, "up", f"--port={port}", f"--etcd-port={free_port()}", "--no-operator")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"port {port}" in lines[0]
    assert "in use" in lines[0]
    assert marked_processes(state.resolve()) == []


def test_dev_up_unwritable_state_dir_is_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = _dev(blocker / "state", "up", "--no-operator")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "not writable" in lines[0]


def test_dev_install_without_go_is_exit_2(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/sbin:/sbin",  # no go, no kube binaries
        "HOME": str(tmp_path),
        "ASSETCRON_CACHE_DIR": str(tmp_path / "empty-cache"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "assetcron.cli", "dev", "install"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Go is needed" in lines[0]
    assert not any((tmp_path / "empty-cache").rglob("*"))  # nothing half-built
