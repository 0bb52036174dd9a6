"""The local pod executor: a stand-in for the node in ``assetcron dev``.

No kubelet or container runtime runs on a development machine without Docker, so this
process plays the node's part for the pods of the assetcron image, and only for those.
**It is a development and test tool, not a container runtime**: on a real cluster the
kubelet pulls the image and runs the very same pod spec in a container.

What it does (the kubelet's duties it imitates, https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/):

- registers a ``Node`` named :data:`NODE_NAME` and reports it Ready;
- binds unscheduled Pods whose containers' images all match the image pattern (fnmatch,
  default ``*assetcron*``) to that node through the ``pods/binding`` subresource (there
  is no kube-scheduler either); other pods are left Pending with one event saying why;
- runs each container's ``command`` + ``args`` as a local process (one container per pod;
  init containers are not supported) with the pod's environment: literal values,
  Downward API ``fieldRef`` (``metadata.name``, ``metadata.namespace``, ``metadata.uid``,
  ``metadata.labels['…']``, ``metadata.annotations['…']``, ``spec.nodeName``,
  ``spec.serviceAccountName``), ``secretKeyRef``/``configMapKeyRef`` and ``envFrom``
  resolved through the API (a missing, non-optional one keeps the pod Pending with a
  ``CreateContainerConfigError`` event, as the kubelet does);
- runs the process in a working directory shared by all pods of the plane
  (``<state>/workdir``, the stand-in for a persistent volume, so a retried Job pod sees
  what the failed one stored) with the code paths on ``PYTHONPATH`` (what the image would
  contain) and this virtualenv's ``bin`` first on ``PATH``;
- maps the container's ``terminationMessagePath`` to a per-pod file (environment values
  naming that path are rewritten to the file) and reports its content, capped at 4096
  bytes like the kubelet, as the termination message;
- streams stdout/stderr to ``<state>/logs/pods/<namespace>_<pod>.log``;
- patches pod status: Running (``containerStatuses[].state.running``), then Succeeded or
  Failed with ``state.terminated`` (exit code, reason ``Completed``/``Error``, message);
- honours deletion: a pod being deleted has its process killed and is then removed with
  grace period 0 (the kubelet's final delete).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import datetime as dt
import fnmatch
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

watch_module: Any = watch  # the watch helper has no type annotations
config_module: Any = config

NODE_NAME = "assetcron-dev-node"
TERMINATION_MESSAGE_LIMIT = 4096  # bytes, the kubelet's limit per container

log = logging.getLogger("assetcron.dev.executor")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PodConfigError(Exception):
    """The pod's environment cannot be resolved (missing Secret/ConfigMap key, bad ref)."""


_FIELD_RE = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def resolve_field_ref(pod: Mapping[str, Any], path: str) -> str:
    """Value of a Downward API ``fieldRef.fieldPath`` for ``pod`` (a Pod as a dict).

    Supports what environment variables may reference per the Kubernetes docs
    (https://kubernetes.io/docs/concepts/workloads/pods/downward-api/): metadata.name,
    metadata.namespace, metadata.uid, metadata.labels['k'], metadata.annotations['k'],
    spec.nodeName, spec.serviceAccountName. Raises :class:`PodConfigError` otherwise.
    """
    meta = pod.get("metadata", {})
    spec = pod.get("spec", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
    }
    if path in simple:
        return str(simple[path])
    m = _FIELD_RE.match(path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    raise PodConfigError(f"unsupported fieldRef.fieldPath {path!r}")


class Executor:
    """Watches pods and runs the matching ones; see the module docstring."""

    def __init__(
        self,
        api: client.CoreV1Api,
        *,
        state_dir: Path,
        image_pattern: str,
        code_paths: list[Path],
    ) -> None:
        # Bodies are plain dicts (the client accepts them); typed as Any for that reason.
        self.api: Any = api
        self.state_dir = state_dir
        self.image_pattern = image_pattern
        self.code_paths = code_paths
        self.workdir = state_dir / "workdir"
        self.pod_dir = state_dir / "pods"
        self.log_dir = state_dir / "logs" / "pods"
        for d in (self.workdir, self.pod_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._handled: set[str] = set()  # pod uids started (or given up on)
        self._warned: set[str] = set()  # pod uids we left Pending with an event
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ------------------------------------------------------------------ node
    def register_node(self) -> None:
        """Create (or reuse) the Node and mark it Ready."""
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "labels": {
                    "kubernetes.io/hostname": NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "assetcron.dev/local-executor": "true",
                },
            },
        }
        try:
            self.api.create_node(body)
        except ApiException as e:
            if e.status != 409:
                raise
        now = _now()
        status = {
            "status": {
                "capacity": {"cpu": str(os.cpu_count() or 1), "memory": "16Gi", "pods": "110"},
                "allocatable": {"cpu": str(os.cpu_count() or 1), "memory": "16Gi", "pods": "110"},
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "LocalExecutorReady",
                        "message": "assetcron local pod executor (a stand-in for a kubelet)",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    }
                ],
                "nodeInfo": {
                    "architecture": "amd64",
                    "operatingSystem": "linux",
                    "kubeletVersion": "assetcron-local-executor",
                    "containerRuntimeVersion": "local-process://",
                    "kernelVersion": os.uname().release,
                    "osImage": "local",
                    "kubeProxyVersion": "",
                    "bootID": "",
                    "machineID": "",
                    "systemUUID": "",
                },
            }
        }
        self.api.patch_node_status(NODE_NAME, status)

    # ------------------------------------------------------------------ events
    def _event(
        self, pod: Mapping[str, Any], reason: str, message: str, type_: str = "Normal"
    ) -> None:
        meta = pod["metadata"]
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid"),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": "assetcron-local-executor", "host": NODE_NAME},
            "firstTimestamp": _now(),
            "lastTimestamp": _now(),
            "count": 1,
        }
        try:
            self.api.create_namespaced_event(meta["namespace"], body)
        except ApiException as e:  # events are best effort, as in the kubelet
            log.warning(
                "event for %s/%s not recorded: %s", meta["namespace"], meta["name"], e.reason
            )

    # ------------------------------------------------------------------ pods
    def _matches(self, pod: Mapping[str, Any]) -> bool:
        containers = pod.get("spec", {}).get("containers", [])
        return bool(containers) and all(
            fnmatch.fnmatch(c.get("image", ""), self.image_pattern) for c in containers
        )

    def handle(self, pod: dict[str, Any]) -> None:
        """React to one observed state of a pod (ADDED/MODIFIED or a resync)."""
        meta = pod["metadata"]
        spec = pod.get("spec", {})
        uid = meta["uid"]
        key = f"{meta['namespace']}/{meta['name']}"
        if meta.get("deletionTimestamp"):
            if spec.get("nodeName") == NODE_NAME:
                self._kill(uid)
                with contextlib.suppress(ApiException):
                    self.api.delete_namespaced_pod(
                        meta["name"],
                        meta["namespace"],
                        grace_period_seconds=0,
                        body=client.V1DeleteOptions(
                            grace_period_seconds=0, preconditions={"uid": uid}
                        ),
                    )
            return
        node = spec.get("nodeName")
        if node and node != NODE_NAME:
            return
        if not self._matches(pod):
            if not node and uid not in self._warned:
                self._warned.add(uid)
                images = ", ".join(c.get("image", "") for c in spec.get("containers", []))
                self._event(
                    pod,
                    "NotLocallyExecutable",
                    f"assetcron dev runs only pods whose images match {self.image_pattern!r} "
                    f"(this pod uses {images}); it stays Pending: there is no kubelet here",
                    "Warning",
                )
            return
        phase = pod.get("status", {}).get("phase", "Pending")
        if phase in ("Succeeded", "Failed"):
            return
        with self._lock:
            if uid in self._handled:
                if phase == "Running" and uid not in self._procs:
                    # We were restarted while it ran: its process is gone with us.
                    self._finish(pod, 137, "ExecutorRestarted", "")
                return
            self._handled.add(uid)
        if not node:
            try:
                self.api.create_namespaced_binding(
                    meta["namespace"],
                    {
                        "apiVersion": "v1",
                        "kind": "Binding",
                        "metadata": {"name": meta["name"], "uid": uid},
                        "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME},
                    },
                    _preload_content=False,
                )
            except ApiException as e:
                log.warning("binding %s failed: %s", key, e.reason)
                with self._lock:
                    self._handled.discard(uid)
                return
            pod.setdefault("spec", {})["nodeName"] = NODE_NAME
        threading.Thread(target=self._run, args=(pod,), name=f"pod-{key}", daemon=True).start()

    def _resolve_env(self, pod: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, str]:
        ns = pod["metadata"]["namespace"]
        env: dict[str, str] = {}

        def lookup(
            kind: str, name: str, key: str | None, optional: bool
        ) -> dict[str, str] | str | None:
            try:
                if kind == "secret":
                    obj = self.api.read_namespaced_secret(name, ns)
                    data = {k: base64.b64decode(v).decode() for k, v in (obj.data or {}).items()}
                else:
                    obj = self.api.read_namespaced_config_map(name, ns)
                    data = dict(obj.data or {})
            except ApiException as e:
                if e.status == 404 and optional:
                    return None
                raise PodConfigError(f'{kind} "{name}" not found') from e
            if key is None:
                return data
            if key not in data:
                if optional:
                    return None
                raise PodConfigError(f"couldn't find key {key} in {kind} {ns}/{name}")
            return data[key]

        for src in container.get("envFrom", []) or []:
            prefix = src.get("prefix", "")
            for kind, field_name in (("configmap", "configMapRef"), ("secret", "secretRef")):
                ref = src.get(field_name)
                if ref:
                    data = lookup(kind, ref["name"], None, bool(ref.get("optional")))
                    if isinstance(data, dict):
                        env.update({prefix + k: v for k, v in data.items()})
        for item in container.get("env", []) or []:
            name = item["name"]
            if "value" in item:
                env[name] = re.sub(
                    r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                    lambda m: env.get(m.group(1), m.group(0)),
                    str(item["value"]),
                )
                continue
            vf = item.get("valueFrom") or {}
            if "fieldRef" in vf:
                env[name] = resolve_field_ref(pod, vf["fieldRef"]["fieldPath"])
            elif "secretKeyRef" in vf or "configMapKeyRef" in vf:
                kind = "secret" if "secretKeyRef" in vf else "configmap"
                ref = vf.get("secretKeyRef") or vf.get("configMapKeyRef") or {}
                value = lookup(kind, ref["name"], ref["key"], bool(ref.get("optional")))
                if isinstance(value, str):
                    env[name] = value
            elif "resourceFieldRef" in vf:
                env[name] = "0"
            else:
                env[name] = ""
        return env

    def _patch_status(self, pod: Mapping[str, Any], status: dict[str, Any]) -> None:
        meta = pod["metadata"]
        try:
            self.api.patch_namespaced_pod_status(
                meta["name"], meta["namespace"], {"status": status}
            )
        except ApiException as e:
            log.warning(
                "status of %s/%s not patched: %s", meta["namespace"], meta["name"], e.reason
            )

    def _container_status(
        self, container: Mapping[str, Any], state: dict[str, Any], ready: bool
    ) -> dict[str, Any]:
        return {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": "local://" + container.get("image", ""),
            "containerID": "local://" + container["name"],
            "ready": ready,
            "started": "running" in state,
            "restartCount": 0,
            "state": state,
        }

    def _run(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        key = f"{meta['namespace']}_{meta['name']}"
        container = pod["spec"]["containers"][0]
        sandbox = self.pod_dir / key
        sandbox.mkdir(parents=True, exist_ok=True)
        term_path = container.get("terminationMessagePath") or "/dev/termination-log"
        term_file = sandbox / "termination-log"
        term_file.write_text("")
        try:
            pod_env = self._resolve_env(pod, container)
        except PodConfigError as e:
            self._event(pod, "Failed", f"Error: {e}", "Warning")
            self._patch_status(
                pod,
                {
                    "phase": "Pending",
                    "containerStatuses": [
                        self._container_status(
                            container,
                            {
                                "waiting": {
                                    "reason": "CreateContainerConfigError",
                                    "message": str(e),
                                }
                            },
                            False,
                        )
                    ],
                },
            )
            with self._lock:
                self._handled.discard(uid)  # retried on the next resync (the Secret may appear)
            return
        argv = [*(container.get("command") or []), *(container.get("args") or [])]
        if not argv:
            self._event(
                pod,
                "Failed",
                "container has no command: the local executor cannot use the image's entrypoint",
                "Warning",
            )
            self._finish(pod, 128, "ContainerCannotRun", "no command in the pod spec")
            return
        argv = [
            re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: pod_env.get(m.group(1), m.group(0)), a
            )
            for a in argv
        ]
        env = {
            "PATH": os.pathsep.join(
                [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
            ),
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "HOSTNAME": meta["name"],
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        }
        if self.code_paths:
            env["PYTHONPATH"] = os.pathsep.join(str(p) for p in self.code_paths)
        if os.environ.get("ASSETCRON_DEV_PLANE"):
            env["ASSETCRON_DEV_PLANE"] = os.environ["ASSETCRON_DEV_PLANE"]
        for name, value in pod_env.items():
            env[name] = str(term_file) if value == term_path else value
        log_file = self.log_dir / f"{key}.log"
        started = _now()
        try:
            with log_file.open("ab") as fh:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                    cwd=container.get("workingDir") or self.workdir,
                    env=env,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, async-signal-safe
                )
        except OSError as e:
            self._event(pod, "Failed", f"Error: cannot start {argv[0]!r}: {e.strerror}", "Warning")
            self._finish(pod, 127, "StartError", f"cannot start {argv[0]!r}: {e.strerror}")
            return
        with self._lock:
            self._procs[uid] = proc
        self._event(
            pod, "Started", f"Started container {container['name']} as local process {proc.pid}"
        )
        self._patch_status(
            pod,
            {
                "phase": "Running",
                "startTime": started,
                "hostIP": "127.0.0.1",
                "podIP": "127.0.0.1",
                "podIPs": [{"ip": "127.0.0.1"}],
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": started},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": started},
                    {"type": "Ready", "status": "True", "lastTransitionTime": started},
                ],
                "containerStatuses": [
                    self._container_status(container, {"running": {"startedAt": started}}, True)
                ],
            },
        )
        code = proc.wait()
        with self._lock:
            self._procs.pop(uid, None)
        message = term_file.read_bytes()[:TERMINATION_MESSAGE_LIMIT].decode(errors="replace")
        if (
            not message
            and container.get("terminationMessagePolicy") == "FallbackToLogsOnError"
            and code
        ):
            lines = log_file.read_bytes()[-TERMINATION_MESSAGE_LIMIT:].decode(errors="replace")
            message = "\n".join(lines.splitlines()[-80:])
        reason = "Completed" if code == 0 else "Error"
        if code < 0:  # killed by a signal: report like a container runtime (128 + signal)
            code = 128 - code
        self._finish(pod, code, reason, message, started)
        self._event(
            pod,
            reason,
            f"container {container['name']} exited with code {code}",
            "Normal" if code == 0 else "Warning",
        )

    def _finish(
        self,
        pod: Mapping[str, Any],
        code: int,
        reason: str,
        message: str,
        started: str | None = None,
    ) -> None:
        container = pod["spec"]["containers"][0]
        now = _now()
        terminated = {
            "exitCode": code,
            "reason": reason,
            "startedAt": started or now,
            "finishedAt": now,
        }
        if message:
            terminated["message"] = message
        self._patch_status(
            pod,
            {
                "phase": "Succeeded" if code == 0 else "Failed",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "PodCompleted",
                        "lastTransitionTime": now,
                    },
                    {
                        "type": "ContainersReady",
                        "status": "False",
                        "reason": "PodCompleted",
                        "lastTransitionTime": now,
                    },
                ],
                "containerStatuses": [
                    self._container_status(container, {"terminated": terminated}, False)
                ],
            },
        )

    def _kill(self, uid: str) -> None:
        with self._lock:
            proc = self._procs.get(uid)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

    def kill_all(self) -> None:
        """Terminate every running pod process (on executor shutdown)."""
        with self._lock:
            uids = list(self._procs)
        for uid in uids:
            self._kill(uid)

    # ------------------------------------------------------------------ loop
    def resync(self) -> None:
        """List all pods and handle each (covers anything a watch missed)."""
        pods = self.api.list_pod_for_all_namespaces(_preload_content=False)
        for item in json.loads(pods.data)["items"]:
            self.handle(item)

    def run_forever(self) -> None:
        """Watch pods until stopped; resync after every watch timeout or error."""
        self.register_node()
        while not self._stop.is_set():
            try:
                self.resync()
                w: Any = watch_module.Watch()
                for event in w.stream(
                    self.api.list_pod_for_all_namespaces, timeout_seconds=15, _request_timeout=30
                ):
                    if self._stop.is_set():
                        w.stop()
                        break
                    obj = self.api.api_client.sanitize_for_serialization(event["object"])
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self.handle(obj)
            except Exception:  # keep the node alive across API hiccups
                log.exception("watch failed; resyncing")
                time.sleep(1)

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return."""
        self._stop.set()


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGKILL when the executor dies (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    """``python -m assetcron_dev.executor --kubeconfig K --state-dir S ...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--image-pattern", default="*assetcron*")
    parser.add_argument("--code-path", action="append", type=Path, default=[])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    api_client = config_module.new_client_from_config(config_file=args.kubeconfig)
    executor = Executor(
        client.CoreV1Api(api_client),
        state_dir=args.state_dir,
        image_pattern=args.image_pattern,
        code_paths=args.code_path,
    )

    def on_signal(signum: int, _frame: object) -> None:
        executor.stop()
        executor.kill_all()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("local pod executor: node %s, images %r", NODE_NAME, args.image_pattern)
    executor.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
