"""The local cluster runs the real CronJob, Job, Deployment and garbage-collector
controllers, the real scheduler and a real node (containerd + runc + kubelet). These
tests talk to the real API server; every pod runs in a container of an image built
from the Dockerfile (``make images``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PlaneHandle, poll

pytestmark = pytest.mark.controlplane

#: The runtime image (the Dockerfile's default target), loaded into the node.
IMAGE = "ghcr.io/assetcron/assetcron:0.1.0"

# The container's program: it reports what it was given and what it may do, as JSON in
# its termination message (the runner's channel) and on stdout (kubectl logs).
ECHO_ENV = """
import json, os
def writable(path):
    try:
        with open(os.path.join(path, "probe"), "w") as fh:
            fh.write("x")
        return True
    except OSError:
        return False
def memory_limit():
    for p in ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"):
        try:
            return open(p).read().strip()
        except OSError:
            pass
report = {k: os.environ.get(k) for k in
          ["POD_NAME", "POD_NAMESPACE", "JOB_NAME", "FROM_SECRET", "FROM_CONFIGMAP", "LITERAL"]}
report.update(uid=os.getuid(), root_writable=writable("/"), tmp_writable=writable("/tmp"),
              memory_limit=memory_limit())
open(os.environ["TERM_LOG"], "w").write(json.dumps(report))
print("echo:", json.dumps(report), flush=True)
"""

JOB_NAME_LABEL_PATH = "metadata.labels['batch.kubernetes.io/job-name']"

#: The restricted Pod Security profile's container settings (what the operator renders).
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def kget(cp: PlaneHandle, *args: str) -> Any:
    return json.loads(cp.kubectl("get", *args, "-o", "json").stdout)


@pytest.fixture
def namespace(control_plane: PlaneHandle) -> str:
    ns = f"t-{uuid.uuid4().hex[:8]}"
    control_plane.kubectl("create", "namespace", ns)
    # Run pods under the restricted profile, as a careful cluster does.
    control_plane.kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    # The serviceaccount controller must create `default` before pods can be admitted.
    poll(
        lambda: (
            control_plane.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0
        ),
        60,
        "the default ServiceAccount",
    )
    return ns


def _container(command: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": "main",
        "image": IMAGE,
        "command": command,
        "securityContext": RESTRICTED,
        **extra,
    }


def _pod(name: str, namespace: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


def _finished(cp: PlaneHandle, namespace: str, name: str) -> dict[str, Any] | None:
    p = kget(cp, "pod", name, "-n", namespace)
    return p if p["status"].get("phase") in ("Succeeded", "Failed") else None


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
                                _container(
                                    ["python", "-c", ECHO_ENV],
                                    terminationMessagePath="/dev/termination-log",
                                    env=[
                                        {"name": "TERM_LOG", "value": "/dev/termination-log"},
                                        {
                                            "name": "JOB_NAME",
                                            "valueFrom": {
                                                "fieldRef": {"fieldPath": JOB_NAME_LABEL_PATH}
                                            },
                                        },
                                    ],
                                )
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

    pod = poll(pod_done, 90, "the kubelet to run the pod")
    assert pod["status"]["phase"] == "Succeeded", pod["status"]
    assert pod["spec"]["nodeName"] == "assetcron-dev"
    status = pod["status"]["containerStatuses"][0]
    assert status["imageID"].startswith("sha256:") or "@sha256:" in status["imageID"]
    terminated = status["state"]["terminated"]
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


def test_run_pod_contract_on_the_kubelet(control_plane: PlaneHandle, namespace: str) -> None:
    """Downward API, Secret/ConfigMap env, read-only root, non-root, a writable emptyDir,
    the memory limit as a cgroup limit, the termination message and kubectl logs."""
    control_plane.kubectl(
        "create", "secret", "generic", "creds", "-n", namespace, "--from-literal=token=s3cr3t"
    )
    control_plane.kubectl(
        "create", "configmap", "settings", "-n", namespace, "--from-literal=region=us-west-2"
    )
    container = _container(
        ["python", "-c", ECHO_ENV],
        env=[
            {"name": "TERM_LOG", "value": "/dev/termination-log"},
            {"name": "LITERAL", "value": "plain"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
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
        resources={"limits": {"memory": "96Mi", "cpu": "500m"}},
        volumeMounts=[{"name": "scratch", "mountPath": "/tmp"}],
    )
    pod = _pod("env-echo", namespace, container, volumes=[{"name": "scratch", "emptyDir": {}}])
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(pod))

    done = poll(lambda: _finished(control_plane, namespace, "env-echo"), 90, "the pod to finish")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    echoed = json.loads(done["status"]["containerStatuses"][0]["state"]["terminated"]["message"])
    assert echoed == {
        "POD_NAME": "env-echo",
        "POD_NAMESPACE": namespace,
        "JOB_NAME": None,
        "FROM_SECRET": "s3cr3t",
        "FROM_CONFIGMAP": "us-west-2",
        "LITERAL": "plain",
        "uid": 10001,  # the image's user
        "root_writable": False,  # readOnlyRootFilesystem enforced by the runtime
        "tmp_writable": True,
        "memory_limit": str(96 * 1024 * 1024),
    }
    logs = control_plane.kubectl("logs", "env-echo", "-n", namespace).stdout
    assert logs.startswith("echo: {")
    assert '"POD_NAME": "env-echo"' in logs


def test_kubectl_exec_reaches_a_running_container(
    control_plane: PlaneHandle, namespace: str
) -> None:
    sleeper = _pod(
        "sleeper",
        namespace,
        _container(["python", "-c", "import time; time.sleep(600)"]),
        terminationGracePeriodSeconds=1,
    )
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(sleeper))
    control_plane.kubectl(
        "wait", "--for=condition=Ready", "pod/sleeper", "-n", namespace, "--timeout=90s"
    )
    out = control_plane.kubectl(
        "exec", "sleeper", "-n", namespace, "--", "python", "-c", "import os; print(os.getuid())"
    ).stdout
    assert out.strip() == "10001"
    control_plane.kubectl("delete", "pod", "sleeper", "-n", namespace, "--wait=false")


def test_failing_container_reports_exit_code(control_plane: PlaneHandle, namespace: str) -> None:
    pod = _pod("fails", namespace, _container(["python", "-c", "raise SystemExit(3)"]))
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(pod))
    done = poll(lambda: _finished(control_plane, namespace, "fails"), 90, "the pod to fail")
    assert done["status"]["phase"] == "Failed"
    terminated = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")


def test_a_job_is_retried_up_to_its_backoff_limit(
    control_plane: PlaneHandle, namespace: str
) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "retried", "namespace": namespace},
        "spec": {
            "backoffLimit": 2,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [_container(["python", "-c", "raise SystemExit(1)"])],
                }
            },
        },
    }
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(job))

    def failed() -> dict[str, Any] | None:
        j = kget(control_plane, "job", "retried", "-n", namespace)
        conds = j["status"].get("conditions") or []
        return j if any(c["type"] == "Failed" and c["status"] == "True" for c in conds) else None

    # The Job controller's back-off doubles from 10 s: three attempts take ~30 s.
    done = poll(failed, 180, "the Job to fail after its retries")
    reason = next(c["reason"] for c in done["status"]["conditions"] if c["type"] == "Failed")
    assert reason == "BackoffLimitExceeded"
    assert done["status"]["failed"] == 3  # the first attempt and two retries, each a pod
    pods = kget(
        control_plane, "pods", "-n", namespace, "-l", "batch.kubernetes.io/job-name=retried"
    )
    assert len(pods["items"]) == 3
    assert {p["status"]["phase"] for p in pods["items"]} == {"Failed"}


def _events_for(cp: PlaneHandle, namespace: str, pod: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kget(
        cp, "events", "-n", namespace, "--field-selector", f"involvedObject.name={pod}"
    )["items"]
    return items


def _waiting_reason(cp: PlaneHandle, namespace: str, pod: str) -> str | None:
    statuses = kget(cp, "pod", pod, "-n", namespace)["status"].get("containerStatuses") or []
    waiting = (statuses[0].get("state") or {}).get("waiting") if statuses else None
    return (waiting or {}).get("reason")


def test_pods_that_cannot_start_stay_pending_with_the_kubelets_reason(
    control_plane: PlaneHandle, namespace: str
) -> None:
    absent = "registry.invalid/assetcron/absent:1"
    never = _pod("never", namespace, _container(["true"], image=absent, imagePullPolicy="Never"))
    pull = _pod("pull", namespace, _container(["true"], image=absent, imagePullPolicy="Always"))
    needs_secret = _pod(
        "needs-secret",
        namespace,
        _container(
            ["python", "-c", "pass"],
            env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k"}}}],
        ),
    )
    for obj in (never, pull, needs_secret):
        control_plane.kubectl("apply", "-f", "-", input=json.dumps(obj))
    expected = {
        "never": {"ErrImageNeverPull"},
        # No registry is reachable: the node's pulls fail at once, on this machine.
        "pull": {"ErrImagePull", "ImagePullBackOff"},
        "needs-secret": {"CreateContainerConfigError"},
    }
    for name, reasons in expected.items():
        poll(
            lambda name=name, reasons=reasons: (
                _waiting_reason(control_plane, namespace, name) in reasons
            ),
            60,
            f"{name} waiting with {reasons}",
        )
        assert kget(control_plane, "pod", name, "-n", namespace)["status"]["phase"] == "Pending"
    events = _events_for(control_plane, namespace, "never")
    assert any(absent in e["message"] and e["type"] == "Warning" for e in events), events


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


def test_the_node_is_a_real_kubelet_on_containerd(control_plane: PlaneHandle) -> None:
    node = kget(control_plane, "node", "assetcron-dev")
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.36.3"
    assert info["containerRuntimeVersion"].startswith("containerd://")
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == control_plane.plane.network.node_ip
    assert not any(
        t["key"].startswith("node.kubernetes.io/") for t in node["spec"].get("taints") or []
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


def test_dev_up_is_idempotent_and_down_leaves_no_trace(
    tmp_path: Path, control_plane: PlaneHandle
) -> None:
    from assetcron_dev.plane import ControlPlane, PlaneConfig, free_port_pair, marked_processes

    state = tmp_path / "state"
    ports = [f"--etcd-port={free_port_pair()}"]
    sysctls_before = _sysctls()
    first = _dev(state, "up", *ports)
    try:
        assert first.returncode == 0, first.stderr
        assert f"export KUBECONFIG={state.resolve()}/kubeconfig" in first.stdout
        assert "started in" in first.stderr
        plane = ControlPlane(PlaneConfig(state_dir=state))
        node = plane.node
        assert node.network != control_plane.plane.network  # a bridge and addresses of its own
        # Its S3 endpoint: the same port on its own address, its own credentials.
        s3 = plane.s3
        assert s3.endpoint == f"http://{node.network.node_ip}:8333"
        for name, value in s3.env().items():
            assert f"export {name}={value}\n" in first.stdout
        assert s3.access_key_id != control_plane.plane.s3.access_key_id
        assert plane.seaweedfs.healthy()
        assert node.traces(), "a running node has a bridge, mounts and cgroups"
        # A pod of the plane leaves what pods leave: a shim and its socket, a network
        # namespace on the bridge, overlay and tmpfs (token) mounts, pod cgroups.
        kubectl = [str(control_plane.bin_dir / "kubectl"), f"--kubeconfig={plane.kubeconfig}"]
        subprocess.run(
            [*kubectl, "run", "pause", "--image=localhost/pause:3.10", "--restart=Never"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*kubectl, "wait", "--for=condition=Ready", "pod/pause", "--timeout=90s"],
            check=True, capture_output=True,
        )  # fmt: skip
        sockets = node.shim_sockets()
        assert sockets
        assert all(s.exists() for s in sockets)
        running = marked_processes(state.resolve())
        # etcd, the API server, the controllers, the scheduler, containerd, the kubelet, and
        # the pod's shim (it inherits containerd's environment, marker included).
        assert len(running) >= 7

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
        # No process, mount, cgroup, shim or network device of that node is left.
        assert node.traces() == []
        assert not plane.seaweedfs.healthy()
        assert (state / "s3" / "credentials.json").exists()  # kept for the next `up`
        assert not any(s.exists() for s in sockets)
        # The kubelet wants other values for these; it set them in its own namespace only.
        assert _sysctls() == sysctls_before
        assert _dev(state, "status", *ports).returncode == 1
        # The session's cluster is untouched.
        assert control_plane.plane.running()
    finally:
        _dev(state, "down", *ports)  # idempotent: a failed assertion leaves no cluster


def _sysctls() -> dict[str, str]:
    keys = ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "net/ipv4/ip_forward")
    return {k: Path("/proc/sys", k).read_text().strip() for k in keys}


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_dev_up_port_in_use_is_exit_2_and_starts_nothing(tmp_path: Path) -> None:
    from assetcron_dev.plane import marked_processes

    state = tmp_path / "state"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _dev(state, "up", f"--etcd-port={port}")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"port {port}" in lines[0]
    assert "in use" in lines[0]
    assert marked_processes(state.resolve()) == []


def test_dev_up_unwritable_state_dir_is_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = _dev(blocker / "state", "up")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "not writable" in lines[0]


def test_dev_up_without_root_is_exit_2_and_starts_nothing() -> None:
    # A state directory the unprivileged user owns, in a directory it may traverse
    # (pytest's tmp_path is private to root).
    with tempfile.TemporaryDirectory(prefix="assetcron-nonroot-") as top:
        Path(top).chmod(0o755)
        state = Path(top) / "state"
        state.mkdir()
        os.chown(state, 65534, 65534)
        _up_as_nobody_fails(state)


def _up_as_nobody_fails(state: Path) -> None:
    from assetcron_dev.plane import marked_processes

    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         sys.executable, "-m", "assetcron.cli", "dev", "up", f"--state-dir={state}"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "HOME": str(state)},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "needs root" in lines[0]
    assert marked_processes(state.resolve()) == []
    assert not (state / "plane.json").exists()


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
