"""The local cluster behind ``assetcron dev``: real Kubernetes parts on one machine.

Components, started in this order and stopped in reverse:

1. ``etcd`` (client and peer URLs on loopback, ``--unsafe-no-fsync``: a dev store);
   then SeaweedFS (:mod:`assetcron_dev.s3`), the S3 endpoint on ``http://10.244.<N>.1:8333``,
   the node's address, where both the host and the pods reach it; it starts alongside
   the rest and ``up`` waits for its bucket before the node;
2. ``kube-apiserver`` on ``https://10.96.<N>.1:443``, the ClusterIP of the ``kubernetes``
   Service, held by the node's bridge (:class:`assetcron_dev.node.Network`), so pods use
   the in-cluster configuration unchanged with no kube-proxy (generated certificates,
   client-cert authentication, the RBAC authorizer, service-account token signing);
3. ``kube-controller-manager`` with the controllers a cluster needs for assetcron and
   for Deployments and Services (:data:`CONTROLLERS`);
4. ``kube-scheduler``;
5. the node (:mod:`assetcron_dev.node`): ``containerd`` with runc and the CNI bridge,
   and a ``kubelet`` registered as Node ``assetcron-dev``; the images found in the
   build storage (``make images``) are loaded into its containerd.

The operator runs in the cluster from its image, installed with the Helm chart by
``make demo`` / ``assetcron dev up --operator`` (:func:`install_operator`).

Everything lives in a state directory: ``pki/``, ``etcd/``, ``node/``, ``s3/`` (data,
generated credentials), ``logs/<component>.log``, ``kubeconfig`` (admin) and
``plane.json`` (the network, the ports, and the PID + start time of every process we
started, so ``down`` signals exactly those and never a recycled PID). Every process we
start carries ``ASSETCRON_DEV_PLANE=<state dir>`` in its environment (containerd's shims
too), which lets ``down`` find stragglers and lets tests prove none are left; ``down``
then removes the node's pods, mounts, cgroups and bridge (:meth:`assetcron_dev.node.Node.cleanup`).

This is a development and test tool; on any other cluster the same images, chart and
manifests apply unchanged.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assetcron_dev import certs
from assetcron_dev.binaries import Binaries, ensure_binaries
from assetcron_dev.locks import file_lock
from assetcron_dev.node import NODE_NAME, Network, Node, NodeError, check_host
from assetcron_dev.s3 import S3_PORT, S3Settings, SeaweedFS, WeedPorts, port_free

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
    # A node and Deployments (the operator's): the node-lifecycle controller removes the
    # node's not-ready taint; pod GC deletes pods of a node that went away.
    "node-lifecycle-controller",
    "deployment-controller",
    "replicaset-controller",
    "pod-garbage-collector-controller",
    # PersistentVolumeClaims (the weather example's storage) bind to the plane's volumes.
    "persistentvolume-binder-controller",
    "persistentvolume-protection-controller",
    "persistentvolumeclaim-protection-controller",
    # Services: their Endpoints/EndpointSlices, which the API server's service proxy
    # (/api/v1/namespaces/NS/services/NAME:PORT/proxy/..., how the operator's /metrics is
    # read without kube-proxy) resolves a Service to a pod through.
    "endpoints-controller",
    "endpointslice-controller",
)

#: Kubernetes' name rules (RFC 1123), for names that become paths here.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)

#: The user and group the Dockerfile's images run as.
IMAGE_UID = 10001

#: The API server's port on the ``kubernetes`` Service address (the Service's own port).
APISERVER_PORT = 443
DEFAULT_ETCD_PORT = 12379


#: Seconds a component gets between SIGTERM and SIGKILL, where not the default 10.
#: ``weed server`` stops its volume server before its filer, whose metadata-log flush then
#: retries for a fixed 15 s against volumes that are gone; by then the volumes are closed
#: and the filer store's writes are in its journal, so 3 s is enough.
_STOP_GRACE = {"seaweedfs": 3.0}


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
    """How to run one plane. ``etcd_port`` is a TCP port on 127.0.0.1; its peer port is +1."""

    state_dir: Path = field(default_factory=default_state_dir)
    etcd_port: int = DEFAULT_ETCD_PORT
    #: Run the node (containerd + kubelet). Without it the plane serves the API only
    #: (benchmarks of the operator against the API): pods stay Pending.
    node: bool = True
    #: The S3 endpoint's port on the node's address (each plane has its own address).
    s3_port: int = S3_PORT


@dataclass
class Component:
    """One started process, as recorded in ``plane.json``."""

    name: str
    pid: int
    start_time: int | None
    log: str


class ControlPlane:
    """Start, inspect and stop one local cluster. Methods raise :class:`PlaneError`."""

    def __init__(self, config: PlaneConfig, binaries: Binaries | None = None) -> None:
        self.config = config
        self.state_dir = config.state_dir.resolve()
        self._binaries = binaries
        self._network: Network | None = None
        self._weed_ports: WeedPorts | None = None
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
        """``<state>/logs``: one ``<component>.log`` each."""
        return self.state_dir / "logs"

    @property
    def network(self) -> Network:
        """The plane's addresses, as claimed by ``up`` (recorded in ``plane.json``).

        Raises:
            PlaneError: the plane has not been started.
        """
        if self._network is None:
            index = (self._read_record() or {}).get("networkIndex")
            if index is None:
                raise PlaneError("the dev cluster is not running: `assetcron dev up` first")
            self._network = Network(int(index))
        return self._network

    @property
    def node(self) -> Node:
        """The node's files and clean-up (:class:`assetcron_dev.node.Node`)."""
        return Node(self.state_dir, self.network)

    @property
    def seaweedfs(self) -> SeaweedFS:
        """The S3 endpoint's files and requests (:class:`assetcron_dev.s3.SeaweedFS`), at
        the port ``up`` recorded."""
        port = (self._read_record() or {}).get("s3Port", self.config.s3_port)
        return SeaweedFS(self.state_dir, self.network.node_ip, int(port))

    @property
    def s3(self) -> S3Settings:
        """Endpoint, bucket and credentials of the plane's S3 (:class:`S3Settings`).

        Raises:
            PlaneError: the plane has not been started.
        """
        settings = self.seaweedfs.settings()
        if settings is None:
            raise PlaneError("the dev cluster is not running: `assetcron dev up` first")
        return settings

    def exports(self) -> dict[str, str]:
        """What a shell or a test needs to use the plane: ``KUBECONFIG`` and the S3
        variables (:meth:`S3Settings.env`). ``up`` prints them as ``export`` lines.

        Raises:
            PlaneError: the plane has not been started.
        """
        return {"KUBECONFIG": str(self.kubeconfig), **self.s3.env()}

    @property
    def server(self) -> str:
        """The API server URL (the ``kubernetes`` Service's ClusterIP, port 443)."""
        return f"https://{self.network.apiserver_ip}:{APISERVER_PORT}"

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
        req = urllib.request.Request(self.server + path)  # noqa: S310 - https to our own address
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ssl_context()) as r:  # noqa: S310
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except (OSError, ssl.SSLError) as e:
            return 0, str(e)

    def ready(self) -> bool:
        """True when kube-apiserver's ``/readyz`` answers ok."""
        if not (self.state_dir / "pki" / "admin.crt").exists() or self._read_record() is None:
            return False
        code, _ = self._get("/readyz")
        return code == 200

    def status(self) -> dict[str, Any]:
        """``{"stateDir", "server", "kubeconfig", "s3", "ready", "components": {name:
        running}}`` (``s3``: the S3 endpoint URL)."""
        record = self._read_record()
        return {
            "stateDir": str(self.state_dir),
            "server": self.server if record else None,
            "kubeconfig": str(self.kubeconfig),
            "s3": self.seaweedfs.endpoint if record else None,
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
            (c.etcd_port, "etcd (--etcd-port)"),
            (c.etcd_port + 1, "etcd peer (--etcd-port + 1)"),
        ):
            if not _port_free(port):
                raise PlaneError(
                    f"port {port} for {what} is already in use on 127.0.0.1: stop what uses it "
                    "(`ss -ltnp`) or pick another port"
                )

    def env(self) -> dict[str, str]:
        """The environment for processes of this plane: its marker, KUBECONFIG, its binaries
        first on PATH. The S3 credentials are not in it (the plane's own processes need
        none); :meth:`exports` has them."""
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
                env=env or self.env(),
                cwd=self.state_dir,
                start_new_session=True,  # survives the CLI; its own process group for down
            )
        self._popen[proc.pid] = proc
        return Component(name, proc.pid, _proc_start_time(proc.pid), str(log))

    def _save(self, comps: list[Component]) -> None:
        record = {
            "server": self.server,
            "networkIndex": self.network.index,
            "etcdPort": self.config.etcd_port,
            "s3Port": self.config.s3_port,
            "s3Ports": self._weed_ports.__dict__ if self._weed_ports else None,
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

    def _write_kubeconfig(self, path: Path, stem: str, user: str) -> None:
        """A kubeconfig for client certificate ``pki/<stem>.crt`` (embedded), mode 0600."""
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
                    "name": user,
                    "user": {
                        "client-certificate-data": b64(f"{stem}.crt"),
                        "client-key-data": b64(f"{stem}.key"),
                    },
                }
            ],
            "contexts": [
                {"name": "assetcron-dev", "context": {"cluster": "assetcron-dev", "user": user}}
            ],
            "current-context": "assetcron-dev",
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        path.chmod(0o600)

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
        """Start the cluster, or reuse it when it is already running (idempotent).

        Returns True when it started the cluster, False when it reused a running one.
        Blocks until kube-apiserver ``/readyz`` is ok, the controller manager has created
        the ``default`` ServiceAccount, the CRDs are established and, with the node, the
        Node is Ready with the images of the build storage loaded. On any failure every
        process it started is stopped and the node's traces removed before
        :class:`PlaneError` is raised, so nothing is left half-started.

        Raises:
            PlaneError: the machine cannot run it (not root, packages missing: one line
                saying what to do), a port is taken, or a component failed to start.
        """
        say = log or (_to_stderr)
        self._check_writable()
        with self._lock():
            if self.running():
                return False
            if self._read_record() is not None:  # a previous plane died partly: clean up
                self._down_locked()
            try:
                check_host()
            except NodeError as e:
                raise PlaneError(str(e)) from e
            self._check_ports()
            self._start(timeout, say)
        return True

    def _start(self, timeout: float, say: Callable[[str], None]) -> None:
        binaries = self.binaries
        started: list[Component] = []
        t0 = time.monotonic()
        node: Node | None = None
        try:
            self._network = Network.claim(self.state_dir)
            node = self.node
            self._save(started)
            node.prepare_host()
            certs.generate(self.state_dir / "pki", (self.network.apiserver_ip,))
            self._write_kubeconfig(self.kubeconfig, "admin", "assetcron-dev-admin")
            started.append(self._start_etcd(binaries))
            self._save(started)
            self._wait("etcd", started[-1], self._etcd_healthy, 30)
            say(f"assetcron dev: etcd ready ({time.monotonic() - t0:.1f}s)")
            started.append(self._start_seaweedfs(binaries))
            weed = started[-1]
            self._save(started)
            started.append(self._start_apiserver(binaries))
            self._save(started)
            self._wait("kube-apiserver /readyz", started[-1], self.ready, timeout)
            say(f"assetcron dev: kube-apiserver ready ({time.monotonic() - t0:.1f}s)")
            started.append(self._start_controller_manager(binaries))
            started.append(self._start_scheduler(binaries))
            self._save(started)
            self._wait(
                "kube-controller-manager", started[-2], self._default_service_account, timeout
            )
            say(f"assetcron dev: controllers and scheduler ready ({time.monotonic() - t0:.1f}s)")
            self._apply_crds()
            self._wait("SeaweedFS S3 (its bucket)", weed, self.seaweedfs.create_bucket, 90)
            say(
                f"assetcron dev: S3 ready at {self.seaweedfs.endpoint}, bucket {self.s3.bucket} "
                f"({time.monotonic() - t0:.1f}s)"
            )
            if self.config.node:
                self._start_node(node, binaries, started, say)
                self._wait("the node", started[-1], self._node_ready, 60)
                say(f"assetcron dev: node {NODE_NAME} Ready ({time.monotonic() - t0:.1f}s)")
        except BaseException as e:
            self._stop(started)
            if node is not None:
                node.cleanup()
            self._record_path().unlink(missing_ok=True)
            self._network = None
            self._weed_ports = None
            if isinstance(e, NodeError | OSError):
                raise PlaneError(f"the node could not be set up: {e}") from e
            raise

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        """One ``up`` or ``down`` at a time per state directory."""
        return file_lock(self.state_dir / ".lock")

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

    def _start_seaweedfs(self, b: Binaries) -> Component:
        weed = self.seaweedfs
        if not port_free(weed.node_ip, weed.port):
            raise PlaneError(
                f"port {weed.port} for S3 is already in use on {weed.node_ip} (a listener on "
                "all addresses?): stop what uses it (`ss -ltnp`) or pick another (--s3-port)"
            )
        weed.prepare()
        self._weed_ports = weed.pick_ports()
        return self._spawn("seaweedfs", weed.argv(b.weed, self._weed_ports))

    def _start_apiserver(self, b: Binaries) -> Component:
        pki = self.state_dir / "pki"
        net = self.network
        return self._spawn(
            "kube-apiserver",
            [
                str(b.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{self.config.etcd_port}",
                f"--bind-address={net.apiserver_ip}",
                f"--advertise-address={net.apiserver_ip}",
                f"--secure-port={APISERVER_PORT}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--api-audiences=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={net.service_range}",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                # kubectl logs/exec: the API server calls the kubelet as a system:masters
                # client, at the node's InternalIP.
                f"--kubelet-client-certificate={pki / 'admin.crt'}",
                f"--kubelet-client-key={pki / 'admin.key'}",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
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

    def _start_scheduler(self, b: Binaries) -> Component:
        return self._spawn(
            "kube-scheduler",
            [
                str(b.kube_scheduler),
                f"--kubeconfig={self.kubeconfig}",
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--secure-port=0",
                "--profiling=false",
                "--v=1",
            ],
        )

    def _start_node(
        self, node: Node, b: Binaries, started: list[Component], say: Callable[[str], None]
    ) -> None:
        """containerd, the images, then the kubelet (its identity bound to system:node);
        each process is appended to ``started`` as soon as it runs."""
        from assetcron_dev import images  # noqa: PLC0415 - only a plane with a node loads images

        pki = self.state_dir / "pki"
        node.write_configs(pki / "ca.crt")
        self._write_kubeconfig(node.kubeconfig, "node", f"system:node:{NODE_NAME}")
        # The plane has the RBAC authorizer only (no Node authorizer): the nodes' group
        # gets the ClusterRole Kubernetes defines for kubelets.
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "assetcron-dev:nodes"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:node",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:nodes"}
            ],
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(binding))
        started.append(
            self._spawn("containerd", node.containerd_argv(), node.containerd_env(self.env()))
        )
        self._save(started)
        self._wait("containerd", started[-1], node.containerd_address.exists, 30)
        t0 = time.monotonic()
        try:
            loaded = images.load_available(node.containerd_address, _to_stderr)
        except images.ImagesError as e:
            raise PlaneError(str(e)) from e
        say(
            f"assetcron dev: images loaded into the node ({', '.join(loaded)}; "
            f"{time.monotonic() - t0:.1f}s)"
        )
        started.append(self._spawn("kubelet", node.kubelet_argv(b.kubelet)))
        self._save(started)

    def _node_ready(self) -> bool:
        code, body = self._get(f"/api/v1/nodes/{NODE_NAME}")
        if code != 200:
            return False
        node = json.loads(body)
        conds = node.get("status", {}).get("conditions", [])
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
        # Schedulable once the node-lifecycle controller has removed the not-ready taint.
        taints = node.get("spec", {}).get("taints") or []
        return ready and not any(t.get("key") == "node.kubernetes.io/not-ready" for t in taints)

    def load_images(self, log: Callable[[str], None] = _to_stderr) -> list[str]:
        """Load the images of the build storage into the running node; return their names.

        Raises:
            PlaneError: the node is not running, or an import failed.
        """
        from assetcron_dev import images  # noqa: PLC0415 - see _start_node

        if not self.running() or not self.node.containerd_address.exists():
            raise PlaneError("the dev cluster is not running: `assetcron dev up` first")
        try:
            return images.load_available(self.node.containerd_address, log)
        except images.ImagesError as e:
            raise PlaneError(str(e)) from e

    def provide_volume(self, namespace: str, claim: str, size: str = "1Gi") -> Path:
        """A PersistentVolume for claim ``namespace/claim``: a directory of the state dir.

        The dev cluster has no storage provisioner; this stands where a cluster's would:
        a ``hostPath`` PersistentVolume reserved for that claim (``claimRef``) whose
        directory, ``<state>/volumes/<namespace>/<claim>``, is owned by the images'
        user (pods run as their image's non-root user). Idempotent. Returns the directory.

        Raises:
            PlaneError: ``namespace`` is not a DNS label or ``claim`` not a DNS subdomain
                (so neither can leave the volumes directory), or the API refused the volume.
        """
        if not _DNS_LABEL.fullmatch(namespace) or not _DNS_SUBDOMAIN.fullmatch(claim):
            raise PlaneError(
                f"{namespace}/{claim}: a namespace is a DNS label and a claim a DNS subdomain"
                " (lower-case letters, digits, '-' and, in claims, '.')"
            )
        path = self.state_dir / "volumes" / namespace / claim
        path.mkdir(parents=True, exist_ok=True)
        # Written by pods as the images' user (10001, the Dockerfile's), like a volume a
        # provisioner makes writable through the pod's fsGroup.
        os.chown(path, IMAGE_UID, IMAGE_UID)
        path.chmod(0o770)
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                # Namespaces have no dots: one name per claim.
                "name": f"{namespace}.{claim}",
                "labels": {"app.kubernetes.io/managed-by": "assetcron-dev"},
            },
            "spec": {
                "capacity": {"storage": size},
                "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "claimRef": {"namespace": namespace, "name": claim},
                "hostPath": {"path": str(path), "type": "Directory"},
            },
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(pv))
        return path

    def _apply_crds(self) -> None:
        from assetcron_operator import admission, crdgen  # noqa: PLC0415 - crdgen imports the models only when CRDs are applied

        crds = [crdgen.crd_document(kind) for kind in crdgen.KINDS]
        docs = crds + admission.documents()  # the policy ships with the CRDs
        text = "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)
        self.kubectl(
            "apply", "--server-side", "--field-manager=assetcron-dev", "-f", "-", input=text
        )
        for d in crds:
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
            env=self.env(),
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
            deadline = time.monotonic() + _STOP_GRACE.get(c.name, grace)
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
        # Anything else of this plane (containerd's shims) goes too.
        for pid in marked_processes(self.state_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return stopped

    @contextlib.contextmanager
    def controllers_stopped(self, grace: float = 10.0) -> Iterator[None]:
        """kube-controller-manager stopped for the ``with`` body, then started again.

        A cluster whose controllers were down (the CronJob controller misses ticks, as
        after a night with the cluster off) while etcd, the API server, the node and
        its running pods stay up. The new process is recorded in ``plane.json`` in
        place of the old, so ``down`` stops it. For tests.

        Raises:
            PlaneError: the plane records no kube-controller-manager.
        """
        name = "kube-controller-manager"
        comps = self.components()
        index = next((i for i, c in enumerate(comps) if c.name == name), None)
        if index is None:
            raise PlaneError(f"this plane runs no {name}")
        old = comps[index]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(old.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _alive(old.pid, old.start_time):
            time.sleep(0.1)
        if _alive(old.pid, old.start_time):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(old.pid, signal.SIGKILL)
        proc = self._popen.pop(old.pid, None)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        try:
            yield
        finally:
            comps[index] = self._start_controller_manager(self.binaries)
            self._save(comps)

    def down(self) -> list[str]:
        """Stop every process this plane started and remove the node's traces.

        Processes go by recorded PID, then by marker; then the node's pods, mounts,
        cgroups and bridge (:meth:`assetcron_dev.node.Node.cleanup`). Returns the names of
        the components that were running. Keeps the state directory (certificates, etcd
        data, logs, the node's image store), so a later ``up`` is fast.
        """
        if not self.state_dir.is_dir():
            return []
        with self._lock():
            return self._down_locked()

    def _down_locked(self) -> list[str]:
        record = self._read_record()
        stopped = self._stop(self.components())
        deadline = time.monotonic() + 5
        while marked_processes(self.state_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        if record is not None and record.get("networkIndex") is not None:
            self.node.cleanup()
        self._record_path().unlink(missing_ok=True)
        self._network = None
        self._weed_ports = None
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
