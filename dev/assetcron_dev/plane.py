"""The local control plane behind ``assetcron dev``: real Kubernetes parts on one machine.

Components, started in this order and stopped in reverse:

1. ``etcd`` (client and peer URLs on loopback, ``--unsafe-no-fsync``: a dev store);
2. ``kube-apiserver`` (secure port on 127.0.0.1, generated certificates, client-cert
   authentication, the RBAC authorizer, service-account token signing);
3. ``kube-controller-manager`` with the controllers assetcron relies on: cronjob, job,
   garbage-collector, serviceaccount, serviceaccount-token, namespace,
   ttl-after-finished, the root-CA publisher and clusterrole aggregation (no
   node-lifecycle controller: the local
   node sends no heartbeats);
4. optionally the local pod executor (:mod:`assetcron_dev.executor`), which
   stands in for a node because no kubelet or container runtime runs here;
5. optionally the assetcron operator, as a local process.

Everything lives in a state directory: ``pki/``, ``etcd/``, ``logs/<component>.log``,
``kubeconfig`` (admin) and ``plane.json`` (ports and the PID + start time of every
process we started, so ``down`` signals exactly those and never a recycled PID). Every
process we start carries ``ASSETCRON_DEV_PLANE=<state dir>`` in its environment (pod
processes too), which lets ``down`` find stragglers and lets tests prove none are left.

This is a development and test tool; on a real cluster the same objects are handled by
the cluster's own control plane and kubelets.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assetcron_dev import certs
from assetcron_dev.binaries import Binaries, ensure_binaries

#: Environment variable marking every process that belongs to one plane (value: state dir).
PLANE_MARKER = "ASSETCRON_DEV_PLANE"

#: Controllers kube-controller-manager runs (names per ``--controllers`` in Kubernetes 1.36).
CONTROLLERS = (
    "cronjob-controller",
    "job-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "namespace-controller",
    "ttl-after-finished-controller",
    "root-ca-certificate-publisher-controller",
    # Fills the default view/edit/admin ClusterRoles from aggregated ones (the chart's).
    "clusterrole-aggregation-controller",
)

DEFAULT_APISERVER_PORT = 16443
DEFAULT_ETCD_PORT = 12379


class PlaneError(RuntimeError):
    """The plane cannot start or be reached. ``str()`` is one line saying what to do."""


def _to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


def default_state_dir() -> Path:
    """``$ASSETCRON_DEV_STATE_DIR``, else ``$XDG_STATE_HOME/assetcron/dev`` (~/.local/state)."""
    if env := os.environ.get("ASSETCRON_DEV_STATE_DIR"):
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "assetcron" / "dev"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1 (for tests that run several planes)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_port_pair() -> int:
    """A port ``p`` on 127.0.0.1 with ``p`` and ``p + 1`` both unused (etcd client + peer)."""
    for _ in range(100):
        port = free_port()
        if port < 65535 and _port_free(port + 1):
            return port
    raise PlaneError("no two consecutive free ports on 127.0.0.1")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _proc_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; it is wrapped in parentheses.
    rest = stat.rsplit(")", 1)[1].split()
    return int(rest[19])


def _alive(pid: int, start_time: int | None) -> bool:
    actual = _proc_start_time(pid)
    if actual is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and (start_time is None or actual == start_time)


def marked_processes(state_dir: Path) -> list[int]:
    """PIDs of live processes whose environment carries this plane's marker (Linux /proc)."""
    needle = f"{PLANE_MARKER}={state_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and _alive(int(entry.name), None):
            pids.append(int(entry.name))
    return pids


@dataclass
class PlaneConfig:
    """How to run one plane. Ports are TCP ports on 127.0.0.1; etcd's peer port is +1."""

    state_dir: Path = field(default_factory=default_state_dir)
    apiserver_port: int = DEFAULT_APISERVER_PORT
    etcd_port: int = DEFAULT_ETCD_PORT
    executor: bool = True
    operator: bool = True
    #: fnmatch pattern of container images the executor runs as local processes.
    image_pattern: str = "*assetcron*"
    #: Directories put on pods' PYTHONPATH: what the image would contain (code locations).
    code_paths: Sequence[Path] = ()
    #: Extra environment for the operator process (e.g. ASSETCRON_WATCH_NAMESPACES).
    operator_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Component:
    """One started process, as recorded in ``plane.json``."""

    name: str
    pid: int
    start_time: int | None
    log: str


class ControlPlane:
    """Start, inspect and stop one local plane. Methods raise :class:`PlaneError`."""

    def __init__(self, config: PlaneConfig, binaries: Binaries | None = None) -> None:
        self.config = config
        self.state_dir = config.state_dir.resolve()
        self._binaries = binaries
        # Popen objects of the processes this instance started: kept so they are reaped
        # (no zombies) when stopped; a plane started by another process is stopped by PID.
        self._popen: dict[int, subprocess.Popen[bytes]] = {}

    # ----------------------------------------------------------------- paths
    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (client certificate in group system:masters)."""
        return self.state_dir / "kubeconfig"

    @property
    def log_dir(self) -> Path:
        """``<state>/logs``: one ``<component>.log`` each, pods under ``pods/``."""
        return self.state_dir / "logs"

    @property
    def server(self) -> str:
        """The API server URL."""
        return f"https://127.0.0.1:{self.config.apiserver_port}"

    @property
    def binaries(self) -> Binaries:
        """The binaries in use (built or found on first access)."""
        if self._binaries is None:
            self._binaries = ensure_binaries(_to_stderr)
        return self._binaries

    def _record_path(self) -> Path:
        return self.state_dir / "plane.json"

    def _read_record(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self._record_path().read_text())
        except (OSError, ValueError):
            return None
        return data

    def components(self) -> list[Component]:
        """Components recorded by the last ``up`` (alive or not)."""
        record = self._read_record() or {}
        return [Component(**c) for c in record.get("components", [])]

    # ----------------------------------------------------------------- status
    def _ssl_context(self) -> ssl.SSLContext:
        pki = self.state_dir / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def _get(self, path: str, timeout: float = 3.0) -> tuple[int, str]:
        req = urllib.request.Request(self.server + path)  # noqa: S310 - https to loopback
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ssl_context()) as r:  # noqa: S310
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except (OSError, ssl.SSLError) as e:
            return 0, str(e)

    def ready(self) -> bool:
        """True when kube-apiserver's ``/readyz`` answers ok."""
        if not (self.state_dir / "pki" / "admin.crt").exists():
            return False
        code, _ = self._get("/readyz")
        return code == 200

    def status(self) -> dict[str, Any]:
        """``{"stateDir", "server", "kubeconfig", "ready", "components": {name: running}}``."""
        return {
            "stateDir": str(self.state_dir),
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "ready": self.ready(),
            "components": {c.name: _alive(c.pid, c.start_time) for c in self.components()},
        }

    def running(self) -> bool:
        """True when every recorded component is alive and the API server is ready."""
        comps = self.components()
        return bool(comps) and all(_alive(c.pid, c.start_time) for c in comps) and self.ready()

    # ----------------------------------------------------------------- up
    def _check_writable(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            probe = self.state_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise PlaneError(
                f"state directory {self.state_dir} is not writable ({e.strerror}): "
                "choose another with --state-dir or ASSETCRON_DEV_STATE_DIR"
            ) from e

    def _check_ports(self) -> None:
        c = self.config
        for port, what in (
            (c.apiserver_port, "kube-apiserver (--port)"),
            (c.etcd_port, "etcd (--etcd-port)"),
            (c.etcd_port + 1, "etcd peer (--etcd-port + 1)"),
        ):
            if not _port_free(port):
                raise PlaneError(
                    f"port {port} for {what} is already in use on 127.0.0.1: stop what uses it "
                    "(`ss -ltnp`) or pick another port"
                )

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env[PLANE_MARKER] = str(self.state_dir)
        env["KUBECONFIG"] = str(self.kubeconfig)
        path_dirs = [str(d) for d in self.binaries.bin_dirs] + [str(Path(sys.executable).parent)]
        env["PATH"] = os.pathsep.join([*path_dirs, env.get("PATH", "")])
        return env

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Component:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as fh:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env or self._env(),
                cwd=self.state_dir,
                start_new_session=True,  # survives the CLI; its own process group for down
            )
        self._popen[proc.pid] = proc
        return Component(name, proc.pid, _proc_start_time(proc.pid), str(log))

    def _save(self, comps: list[Component]) -> None:
        record = {
            "server": self.server,
            "apiserverPort": self.config.apiserver_port,
            "etcdPort": self.config.etcd_port,
            "kubeconfig": str(self.kubeconfig),
            "components": [c.__dict__ for c in comps],
        }
        tmp = self._record_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        tmp.replace(self._record_path())

    def _wait(self, what: str, comp: Component, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if not _alive(comp.pid, comp.start_time):
                tail = "\n".join(Path(comp.log).read_text(errors="replace").splitlines()[-5:])
                raise PlaneError(f"{comp.name} exited during start-up; see {comp.log}:\n{tail}")
            time.sleep(0.2)
        raise PlaneError(f"{what} not ready after {timeout:.0f}s; see {comp.log}")

    def _write_kubeconfig(self) -> None:
        pki = self.state_dir / "pki"

        def b64(name: str) -> str:
            return base64.b64encode((pki / name).read_bytes()).decode()

        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "assetcron-dev",
                    "cluster": {"server": self.server, "certificate-authority-data": b64("ca.crt")},
                }
            ],
            "users": [
                {
                    "name": "assetcron-dev-admin",
                    "user": {
                        "client-certificate-data": b64("admin.crt"),
                        "client-key-data": b64("admin.key"),
                    },
                }
            ],
            "contexts": [
                {
                    "name": "assetcron-dev",
                    "context": {"cluster": "assetcron-dev", "user": "assetcron-dev-admin"},
                }
            ],
            "current-context": "assetcron-dev",
        }
        self.kubeconfig.write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.kubeconfig.chmod(0o600)

    def _etcd_healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.config.etcd_port}/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return bool(json.loads(r.read()).get("health") == "true")
        except (OSError, ValueError):
            return False

    def _default_service_account(self) -> bool:
        code, _ = self._get("/api/v1/namespaces/default/serviceaccounts/default")
        return code == 200

    def up(self, timeout: float = 120.0, log: Callable[[str], None] | None = None) -> bool:
        """Start the plane, or reuse it when it is already running (idempotent).

        Returns True when it started the plane, False when it reused a running one.
        Blocks until kube-apiserver ``/readyz`` is ok, the controller manager has created
        the ``default`` ServiceAccount and, when enabled, the executor's Node is Ready.
        On any failure every process it started is stopped before :class:`PlaneError`
        is raised, so nothing is left half-started.
        """
        say = log or (_to_stderr)
        if self.running():
            return False
        self._check_writable()
        if self.components():  # a previous plane died partly: clean it up first
            self.down()
        self._check_ports()
        binaries = self.binaries
        certs.generate(self.state_dir / "pki")
        self._write_kubeconfig()
        started: list[Component] = []
        t0 = time.monotonic()
        try:
            started.append(self._start_etcd(binaries))
            self._save(started)
            self._wait("etcd", started[-1], self._etcd_healthy, 30)
            say(f"assetcron dev: etcd ready ({time.monotonic() - t0:.1f}s)")
            started.append(self._start_apiserver(binaries))
            self._save(started)
            self._wait("kube-apiserver /readyz", started[-1], self.ready, timeout)
            say(f"assetcron dev: kube-apiserver ready ({time.monotonic() - t0:.1f}s)")
            started.append(self._start_controller_manager(binaries))
            self._save(started)
            self._wait(
                "kube-controller-manager", started[-1], self._default_service_account, timeout
            )
            say(f"assetcron dev: kube-controller-manager ready ({time.monotonic() - t0:.1f}s)")
            if self.config.operator:
                self._apply_crds()
            if self.config.executor:
                started.append(self._start_executor())
                self._save(started)
                self._wait("local pod executor", started[-1], self._node_ready, 30)
                say(f"assetcron dev: local pod executor ready ({time.monotonic() - t0:.1f}s)")
            if self.config.operator:
                started.append(self._start_operator())
                self._save(started)
                say("assetcron dev: operator started")
        except BaseException:
            self._stop(started)
            self._record_path().unlink(missing_ok=True)
            raise
        return True

    def _start_etcd(self, b: Binaries) -> Component:
        port = self.config.etcd_port
        return self._spawn(
            "etcd",
            [
                str(b.etcd),
                "--name=assetcron-dev",
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{port}",
                f"--advertise-client-urls=http://127.0.0.1:{port}",
                f"--listen-peer-urls=http://127.0.0.1:{port + 1}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{port + 1}",
                f"--initial-cluster=assetcron-dev=http://127.0.0.1:{port + 1}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )

    def _start_apiserver(self, b: Binaries) -> Component:
        pki = self.state_dir / "pki"
        return self._spawn(
            "kube-apiserver",
            [
                str(b.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{self.config.etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.config.apiserver_port}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--api-audiences=https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                "--profiling=false",
                f"--cert-dir={pki}",
                "--v=1",
            ],
        )

    def _start_controller_manager(self, b: Binaries) -> Component:
        pki = self.state_dir / "pki"
        return self._spawn(
            "kube-controller-manager",
            [
                str(b.kube_controller_manager),
                f"--kubeconfig={self.kubeconfig}",
                f"--controllers={','.join(CONTROLLERS)}",
                "--leader-elect=false",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                "--use-service-account-credentials=false",
                "--secure-port=0",
                "--profiling=false",
                "--v=1",
            ],
        )

    def _start_executor(self) -> Component:
        argv = [
            sys.executable,
            "-m",
            "assetcron_dev.executor",
            f"--kubeconfig={self.kubeconfig}",
            f"--state-dir={self.state_dir}",
            f"--image-pattern={self.config.image_pattern}",
        ]
        argv += [f"--code-path={p.resolve()}" for p in self.config.code_paths]
        return self._spawn("executor", argv)

    def _start_operator(self) -> Component:
        env = self._env()
        env.update(self.config.operator_env)
        env.setdefault("ASSETCRON_LIVENESS_ENDPOINT", f"http://127.0.0.1:{free_port()}/healthz")
        return self._spawn("operator", [sys.executable, "-m", "assetcron_operator.cli"], env)

    def _node_ready(self) -> bool:
        from assetcron_dev.executor import NODE_NAME  # noqa: PLC0415 - executor imports the client; only needed here

        code, body = self._get(f"/api/v1/nodes/{NODE_NAME}")
        if code != 200:
            return False
        conds = json.loads(body).get("status", {}).get("conditions", [])
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)

    def _apply_crds(self) -> None:
        from assetcron_operator import crdgen  # noqa: PLC0415 - crdgen imports the models only when CRDs are applied

        docs = [crdgen.crd_document(kind) for kind in crdgen.KINDS]
        text = "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)
        self.kubectl(
            "apply", "--server-side", "--field-manager=assetcron-dev", "-f", "-", input=text
        )
        for d in docs:
            self.kubectl(
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                f"crd/{d['metadata']['name']}",
            )

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run this plane's kubectl against it; raises PlaneError when ``check`` fails."""
        proc = subprocess.run(
            [str(self.binaries.kubectl), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            check=False,
            env=self._env(),
        )
        if check and proc.returncode != 0:
            raise PlaneError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    # ----------------------------------------------------------------- down
    def _stop(self, comps: list[Component], grace: float = 10.0) -> list[str]:
        stopped = []
        for c in reversed(comps):
            if not _alive(c.pid, c.start_time):
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(c.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _alive(c.pid, c.start_time):
                time.sleep(0.1)
            if _alive(c.pid, c.start_time):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(c.pid, signal.SIGKILL)
            stopped.append(c.name)
        for pid, proc in list(self._popen.items()):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            del self._popen[pid]
        # Anything else of this plane (pod processes whose executor died) goes too.
        for pid in marked_processes(self.state_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return stopped

    def down(self) -> list[str]:
        """Stop every process this plane started (by recorded PID, then by marker).

        Returns the names of the components that were running. Keeps the state
        directory (certificates, etcd data, logs), so a later ``up`` is fast.
        """
        stopped = self._stop(self.components())
        deadline = time.monotonic() + 5
        while marked_processes(self.state_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._record_path().unlink(missing_ok=True)
        return stopped


@contextlib.contextmanager
def running_plane(config: PlaneConfig, binaries: Binaries | None = None) -> Iterator[ControlPlane]:
    """Context manager: a started plane that is stopped on exit (tests, benchmarks)."""
    plane = ControlPlane(config, binaries)
    plane.up()
    try:
        yield plane
    finally:
        plane.down()
