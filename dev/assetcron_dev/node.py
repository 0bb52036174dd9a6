"""The real node of ``assetcron dev``: containerd + runc + a kubelet, on this machine.

The node runs the plane's pods from images built from the Dockerfile, exactly as a
cluster's node would: kubelet v1.36 (built from its Go module with the other binaries),
containerd and runc (Debian's packages), Debian's CNI plugins for pod networking.

Everything it makes lives under the plane's state directory or under names of its own, and
:meth:`Node.cleanup` removes every trace (``assetcron dev down``):

- files, sockets, logs and the IPAM data: ``<state>/node/``; containerd's root/state and
  runc's state are there too, so image layers and pod sandboxes never touch
  ``/var/lib/containerd`` (the shims' sockets, which containerd 1.6 always puts in
  ``/run/containerd/s/``, are removed by name, and that directory with the last dev
  cluster when one created it);
- the network: one bridge ``acdev<N>`` holding the node's address ``10.244.<N>.1`` (pods
  get ``10.244.<N>.0/24``) and the ``kubernetes`` Service address ``10.96.<N>.1`` on which
  kube-apiserver listens (port 443), so pods reach the API through the in-cluster
  configuration unchanged without kube-proxy. No iptables rule, no sysctl: the CNI bridge
  plugin runs with ``isGateway: false`` and ``ipMasq: false`` (the gateway address is
  ours); pods have a route to the API server only and no name server, so they reach
  nothing but the node and the API server;
- cgroups: ``/assetcron-dev-<N>`` in every cgroup v1 hierarchy (the kubelet's
  ``cgroupRoot``; the cgroupfs driver, since there is no systemd);
- the kubelet runs in a private mount namespace: the kernel tunables it insists on
  (``vm.overcommit_memory``, ``kernel.panic``, …) are files bind-mounted over their
  ``/proc/sys`` entries there, so the host's values are never rewritten, and its
  hard-coded ``/var/lib/kubelet`` is a private tmpfs. Its root directory is a shared bind
  mount, so the volumes it mounts (service-account tokens) reach containerd.

Facts this rests on were measured on this kind of machine (Debian 12, root, cgroup v1
hybrid, no Docker): crun refuses hybrid cgroups (runc is used), root lacks
CAP_SYS_RESOURCE (``restrict_oom_score_adj``), kubelet refuses cgroup v1 unless
``failCgroupV1: false``. See ``docs/architecture.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from assetcron_dev.locks import file_lock

#: Debian packages the node and the image builds need, with a file each one installs.
OS_PACKAGES = {
    "containerd": "/usr/bin/containerd",
    "runc": "/usr/bin/runc",
    "containernetworking-plugins": "/usr/lib/cni/bridge",
    "buildah": "/usr/bin/buildah",
    "mmdebstrap": "/usr/bin/mmdebstrap",
}
CNI_BIN_DIR = Path("/usr/lib/cni")
RUNC = Path("/usr/bin/runc")

#: The node's name (one node per plane; planes never share an API server).
NODE_NAME = "assetcron-dev"

_CGROUP_FS = Path("/sys/fs/cgroup")


def _cgroup_hierarchies() -> list[Path]:
    """The mounted cgroup hierarchies: each v1 controller's directory (and ``unified``),
    or ``/sys/fs/cgroup`` itself on a v2-only host."""
    if (_CGROUP_FS / "cgroup.controllers").exists():
        return [_CGROUP_FS]
    return sorted(d for d in _CGROUP_FS.iterdir() if d.is_dir() and not d.is_symlink())


#: Tunables kubelet checks and would otherwise rewrite on the host (kubelet's
#: ``setupKernelTunables`` and the keyring limits); the values it wants.
_KERNEL_TUNABLES = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}

#: Where registry requests go (see :meth:`Node.containerd_env`).
_NO_REGISTRY = "http://127.0.0.1:9"
_PROXY_VARS = {"http_proxy", "https_proxy", "no_proxy", "all_proxy"}

#: The bridge index range (``N`` in ``acdev<N>``, ``10.244.<N>.0/24``, ``10.96.<N>.1``).
_INDEX_RANGE = range(10, 250)


class NodeError(RuntimeError):
    """The node cannot run on this machine. ``str()`` is one line saying why and what to do."""


def missing_os_packages(packages: Mapping[str, str] = OS_PACKAGES) -> list[str]:
    """Names of ``packages`` (Debian package -> a file it installs) whose file is absent,
    sorted."""
    return sorted(name for name, path in packages.items() if not Path(path).exists())


def install_os_packages(log: Callable[[str], None]) -> list[str]:
    """Install the missing :data:`OS_PACKAGES` with ``apt-get`` (as root); return their names.

    Raises:
        NodeError: not root, no ``apt-get``, or apt failed (its last line is included).
    """
    missing = missing_os_packages()
    if not missing:
        return []
    if os.geteuid() != 0:
        raise NodeError(
            f"Debian packages {', '.join(missing)} are missing and installing them needs root: "
            f"sudo apt-get install {' '.join(missing)}"
        )
    if shutil.which("apt-get") is None:
        raise NodeError(
            f"packages {', '.join(missing)} are missing and there is no apt-get: install "
            "containerd, runc, the CNI plugins, buildah and mmdebstrap with your package manager"
        )
    log(f"assetcron dev: installing Debian packages {' '.join(missing)} (once)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
    ):
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["?"]
            raise NodeError(f"`{' '.join(argv[:2])}` failed: {last[0]}")
    # Debian's containerd package may start its own daemon under an init system; ours
    # never uses it (own sockets and state), so nothing else is changed here.
    return missing


def check_host() -> None:
    """Raise :class:`NodeError` when this machine cannot run the node (nothing is changed).

    Checks, in order: Linux root (containerd, runc, mounts and cgroups need it), the
    Debian packages (:data:`OS_PACKAGES`), ``unshare`` and ``ip``, and cgroups mounted at
    ``/sys/fs/cgroup`` (v1 hierarchies with the memory controller, or v2).
    """
    if os.geteuid() != 0:
        raise NodeError(
            "the node (containerd, runc, kubelet) needs root for mounts, cgroups and the "
            "pod bridge: run `assetcron dev up` as root"
        )
    if missing := missing_os_packages():
        raise NodeError(
            f"Debian packages missing: {' '.join(missing)}; install them with "
            "`assetcron dev install` (or apt-get install)"
        )
    for tool in ("unshare", "ip", "mount", "umount", "findmnt"):
        if shutil.which(tool) is None:
            raise NodeError(f"`{tool}` is missing: apt-get install util-linux iproute2 mount")
    if not (_CGROUP_FS / "memory").is_dir() and not (_CGROUP_FS / "cgroup.controllers").exists():
        raise NodeError(
            "no cgroups at /sys/fs/cgroup (neither v1 with the memory controller nor v2): "
            "the kubelet cannot limit pods here"
        )


# ------------------------------------------------------------------------------ network
@dataclass(frozen=True)
class Network:
    """The node's addresses, all on one bridge of its own (``index`` is ``N``).

    ``node_ip`` is the bridge's address and the pods' gateway; ``apiserver_ip`` is the
    first address of the Service range, which Kubernetes gives the ``kubernetes`` Service.
    """

    index: int

    @property
    def bridge(self) -> str:
        """Bridge device name, e.g. ``acdev42`` (Linux allows 15 characters)."""
        return f"acdev{self.index}"

    @property
    def pod_subnet(self) -> str:
        """Pods' addresses (CIDR)."""
        return f"10.244.{self.index}.0/24"

    @property
    def node_ip(self) -> str:
        """The node's InternalIP: the bridge's address and the pods' default gateway."""
        return f"10.244.{self.index}.1"

    @property
    def service_range(self) -> str:
        """kube-apiserver's ``--service-cluster-ip-range``."""
        return f"10.96.{self.index}.0/24"

    @property
    def apiserver_ip(self) -> str:
        """The ``kubernetes`` Service's ClusterIP, where kube-apiserver listens (port 443)."""
        return f"10.96.{self.index}.1"

    @staticmethod
    def claim(state_dir: Path) -> Network:
        """Create the bridge of a free index for ``state_dir``, with both addresses, up.

        Starts from a hash of the state directory, so one plane tends to keep its
        numbers; skips an index whose addresses or bridge exist. Planes starting at once
        take turns (a lock file in the cache directory), and a bridge created meanwhile
        by anyone else is never taken over: ``ip link add`` fails and the next index is
        tried.

        Raises:
            NodeError: every index is in use, or ``ip`` failed otherwise.
        """
        from assetcron_dev.binaries import cache_root  # noqa: PLC0415 - the lock's place

        start = int(hashlib.sha256(str(state_dir).encode()).hexdigest(), 16)
        span = len(_INDEX_RANGE)
        with file_lock(cache_root() / "dev-networks.lock"):
            used = _used_addresses()
            for k in range(span):
                net = Network(_INDEX_RANGE[(start + k) % span])
                if net.node_ip in used or net.apiserver_ip in used:
                    continue
                add = subprocess.run(
                    ["ip", "link", "add", net.bridge, "type", "bridge"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if add.returncode != 0:
                    if "exists" in add.stderr:
                        continue
                    raise NodeError(f"`ip link add {net.bridge}` failed: {add.stderr.strip()}")
                try:
                    _run_or_raise(["ip", "addr", "add", f"{net.node_ip}/24", "dev", net.bridge])
                    _run_or_raise(
                        ["ip", "addr", "add", f"{net.apiserver_ip}/32", "dev", net.bridge]
                    )
                    _run_or_raise(["ip", "link", "set", net.bridge, "up"])
                except NodeError:
                    net.delete()
                    raise
                return net
        raise NodeError("no free 10.244.N.0/24 for the pod bridge: stop other dev clusters")

    def delete(self) -> bool:
        """Delete the bridge (and the pods' veth ends on it); True when it existed."""
        if not Path(f"/sys/class/net/{self.bridge}").exists():
            return False
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)
        return True


def _used_addresses() -> set[str]:
    proc = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=False)
    used = set()
    for line in proc.stdout.splitlines():
        parts = line.split()
        if "inet" in parts:
            used.add(parts[parts.index("inet") + 1].split("/")[0])
    return used


# ------------------------------------------------------------------------------ node
class Node:
    """Files, argv and clean-up of one plane's node; the plane starts the processes.

    Args:
        state_dir: the plane's state directory (the node uses ``<state_dir>/node``).
        network: the node's :class:`Network`.
    """

    def __init__(self, state_dir: Path, network: Network) -> None:
        self.plane_dir = state_dir
        self.dir = state_dir / "node"
        self.network = network

    # ------------------------------------------------------------------ paths
    @property
    def containerd_address(self) -> Path:
        """containerd's gRPC socket (``ctr --address``; the kubelet's runtime endpoint)."""
        return self.dir / "containerd.sock"

    @property
    def cgroup_root(self) -> str:
        """The kubelet's ``cgroupRoot`` (one per plane)."""
        return f"/assetcron-dev-{self.network.index}"

    @property
    def kubelet_root(self) -> Path:
        """The kubelet's ``--root-dir`` (pods' volumes), a shared bind mount."""
        return self.dir / "kubelet"

    @property
    def pod_logs_dir(self) -> Path:
        """Where the kubelet writes container logs (``kubectl logs`` reads them)."""
        return self.dir / "pod-logs"

    # ------------------------------------------------------------------ prepare
    @property
    def kubeconfig(self) -> Path:
        """The kubelet's kubeconfig (user ``system:node:<name>``, written by the plane)."""
        return self.dir / "kubeconfig"

    def write_configs(self, client_ca: Path) -> None:
        """Write containerd's, the CNI's and the kubelet's configuration under :attr:`dir`.

        ``client_ca`` verifies the client certificates the API server presents to the
        kubelet (``kubectl logs``/``exec``).
        """
        d = self.dir
        for sub in ("containerd", "cni/net.d", "kubelet", "pod-logs", "volume-plugins", "sys"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "containerd" / "config.toml").write_text(self._containerd_config())
        (d / "cni" / "net.d" / "10-assetcron-dev.conflist").write_text(self._cni_config())
        (d / "kubelet.yaml").write_text(self._kubelet_config(client_ca))
        for key, value in _KERNEL_TUNABLES.items():
            (d / "sys" / key.replace("/", "_")).write_text(value + "\n")
        (d / "kubelet-namespace.sh").write_text(self._namespace_script())
        (d / "kubelet-namespace.sh").chmod(0o755)

    def _containerd_config(self) -> str:
        d = self.dir
        return f"""version = 2
root = "{d}/containerd/root"
state = "{d}/containerd/state"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp",
]
[grpc]
  address = "{self.containerd_address}"
[ttrpc]
  address = "{self.containerd_address}.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:3.10"
  # Root here lacks CAP_SYS_RESOURCE: runc cannot set oom_score_adj below the parent's.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{RUNC}"
        Root = "{d}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{d}/cni/net.d"
"""

    def _cni_config(self) -> str:
        net = self.network
        conf = {
            "cniVersion": "0.4.0",
            "name": "assetcron-dev",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": net.bridge,
                    # The gateway address is ours (Network.create); isGateway would make
                    # the plugin turn on the host's ip_forward, ipMasq add iptables rules.
                    "isGateway": False,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": net.pod_subnet, "gateway": net.node_ip}]],
                        # No default route: pods reach the node (their subnet) and the
                        # API server, nothing else, whatever the host's forwarding says.
                        "routes": [{"dst": f"{net.apiserver_ip}/32", "gw": net.node_ip}],
                        "dataDir": str(self.dir / "cni" / "ipam"),
                    },
                },
                {"type": "loopback"},
            ],
        }
        return json.dumps(conf, indent=2)

    def _kubelet_config(self, client_ca: Path) -> str:
        cfg = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # cgroup v1 here (hybrid): supported, but kubelet 1.35+ refuses it by default.
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": self.cgroup_root,
            "containerRuntimeEndpoint": f"unix://{self.containerd_address}",
            "address": self.network.node_ip,
            "port": 10250,
            "readOnlyPort": 0,
            "healthzBindAddress": self.network.node_ip,
            "healthzPort": 10248,
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(client_ca)},
            },
            "authorization": {"mode": "Webhook"},
            "makeIPTablesUtilChains": False,
            # Pods get no name server (the host's would be a way out); the API server is
            # reached by address (KUBERNETES_SERVICE_HOST).
            "resolvConf": "",
            "podLogsDir": str(self.pod_logs_dir),
            "volumePluginDir": str(self.dir / "volume-plugins"),
            "failSwapOn": False,
            # A shared disk: never garbage-collect the images we loaded (there is no
            # registry to pull them again) and evict only when the disk is really full.
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
                "nodefs.inodesFree": "1%",
            },
            "syncFrequency": "10s",
            "nodeStatusUpdateFrequency": "10s",
            "shutdownGracePeriod": "0s",
        }
        return json.dumps(cfg, indent=2)

    def _namespace_script(self) -> str:
        binds = "\n".join(
            f"mount --bind {self.dir / 'sys' / key.replace('/', '_')} /proc/sys/{key}"
            for key in _KERNEL_TUNABLES
        )
        return f"""#!/bin/sh
# Runs inside the kubelet's private mount namespace (unshare -m), then execs the kubelet.
# What is mounted here stays here, except under the kubelet's root dir (a shared mount):
# the mounts that hold /proc/sys and /var/lib/kubelet are made private first, in case the
# host's are shared (systemd's are), so nothing below propagates back to the host.
set -e
mount --make-private "$(findmnt -n -o TARGET -T /proc/sys)"
mount --make-private "$(findmnt -n -o TARGET -T /var/lib/kubelet)"
{binds}
mount -t tmpfs -o size=1m,mode=0755 assetcron-dev-kubelet /var/lib/kubelet
exec "$@"
"""

    def kubelet_argv(self, kubelet: Path) -> list[str]:
        """The kubelet's command line, wrapped in its private mount namespace."""
        return [
            "unshare",
            "--mount",
            "--propagation",
            "unchanged",
            str(self.dir / "kubelet-namespace.sh"),
            str(kubelet),
            f"--config={self.dir / 'kubelet.yaml'}",
            f"--kubeconfig={self.kubeconfig}",
            f"--root-dir={self.kubelet_root}",
            f"--cert-dir={self.dir / 'kubelet-pki'}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={self.network.node_ip}",
            "--v=1",
        ]

    def containerd_argv(self) -> list[str]:
        """containerd's command line (its own config, sockets and state)."""
        return ["containerd", "--config", str(self.dir / "containerd" / "config.toml")]

    @staticmethod
    def containerd_env(base: dict[str, str]) -> dict[str, str]:
        """``base`` with every registry request sent to a closed local port.

        No registry is reachable from here, and a pull of an image that was not loaded
        must fail at once on this machine (``ErrImagePull``) rather than send traffic
        anywhere: containerd's resolver honours the standard proxy variables, so they
        point at 127.0.0.1:9 (discard; nothing listens), which refuses the connection
        before any name is resolved.
        """
        env = {k: v for k, v in base.items() if k.lower() not in _PROXY_VARS}
        return env | {"HTTPS_PROXY": _NO_REGISTRY, "HTTP_PROXY": _NO_REGISTRY, "NO_PROXY": ""}

    def prepare_host(self) -> None:
        """Create the cgroup root and the kubelet's shared root mount (the bridge is
        claimed before, :meth:`Network.claim`). What it creates outside the state
        directory is recorded in ``<node>/owned.json``, and :meth:`cleanup` removes only
        what is recorded there.

        Raises:
            NodeError: a mount failed (the caller cleans up with :meth:`cleanup`).
            OSError: a cgroup or directory could not be created.
        """
        self._own(bridge=self.network.bridge)
        self._own(cgroupRoot=self.cgroup_root)
        rel = self.cgroup_root.lstrip("/")
        for hierarchy in _cgroup_hierarchies():
            (hierarchy / rel).mkdir(exist_ok=True)
        cpuset = _CGROUP_FS / "cpuset"
        if cpuset.is_dir() and cpuset in _cgroup_hierarchies():
            for f in ("cpuset.cpus", "cpuset.mems"):  # empty in a new v1 cpuset cgroup
                (cpuset / rel / f).write_text((cpuset / f).read_text())
        root = self.kubelet_root
        root.mkdir(parents=True, exist_ok=True)
        if not _is_mountpoint(root):
            _run_or_raise(["mount", "--bind", str(root), str(root)])
            _run_or_raise(["mount", "--make-rshared", str(root)])
        # The kubelet's namespace mounts a tmpfs on /var/lib/kubelet (its device-plugin
        # path is hard-coded), so the directory must exist on the host. Shared by every
        # dev cluster of this machine: the one that created it says so in the cache.
        _shared_dir(VAR_LIB_KUBELET, create=True)
        _shared_dir(RUN_CONTAINERD, create=False)

    def _own(self, **what: str) -> None:
        owned = self._owned()
        owned.update(what)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "owned.json").write_text(json.dumps(owned))

    def _owned(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads((self.dir / "owned.json").read_text())
        except (OSError, ValueError):
            return {}
        return data

    def shim_sockets(self) -> list[Path]:
        """The sockets of this containerd's shims (containerd 1.6 puts them in
        ``/run/containerd/s/``), read from its task state; empty when it ran none."""
        task_dir = self.dir / "containerd" / "state" / "io.containerd.runtime.v2.task"
        sockets = []
        for address in task_dir.glob("*/*/address"):
            with contextlib.suppress(OSError):
                sockets.append(Path(address.read_text().strip().removeprefix("unix://")))
        return sockets

    def cleanup(self, log: Callable[[str], None] | None = None) -> list[str]:
        """Remove every trace of the node from the host; return what was found.

        Order: the pods' processes (everything in the node's cgroups, killed), the shims
        started by this containerd (found by its socket in their command line) and their
        sockets, mounts under the node's directory (deepest first), the cgroups below the
        cgroup root (deepest first), the bridge, and ``/var/lib/kubelet`` and
        ``/run/containerd`` when a dev cluster created them and no other one runs. Only
        what ``owned.json`` records is removed, so a failed start never touches another
        cluster's bridge or cgroups. Idempotent. The kubelet and containerd processes are
        stopped by the plane before.

        Returns:
            What was removed, e.g. ``["3 pod processes", "2 shims", "bridge acdev42"]``.
        """
        owned = self._owned()
        found: list[str] = []
        cgroup_root = owned.get("cgroupRoot")
        pids = _pids_under_cgroup(cgroup_root) if cgroup_root else []
        shims = _shim_pids(self.containerd_address)
        for pid in pids + shims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if pids:
            found.append(f"{len(pids)} pod processes")
        if shims:
            found.append(f"{len(shims)} shims")
        _wait_gone(pids + shims, 5.0)
        sockets = [p for p in self.shim_sockets() if p.exists()]
        for sock in sockets:
            sock.unlink(missing_ok=True)
        if sockets:
            found.append(f"{len(sockets)} shim sockets")
        mounts = mounts_under(self.dir)
        for m in mounts:
            subprocess.run(["umount", "-l", m], capture_output=True, check=False)
        if mounts:
            found.append(f"{len(mounts)} mounts")
        if cgroup_root and (removed := _remove_cgroups(cgroup_root)):
            found.append(f"{removed} cgroups")
        if owned.get("bridge") == self.network.bridge and self.network.delete():
            found.append(f"bridge {self.network.bridge}")
        # Pod sandboxes' state (netns files, runc state) is meaningless once they are gone.
        for sub in ("containerd/state", "runc", "kubelet/pods", "cni/ipam"):
            shutil.rmtree(self.dir / sub, ignore_errors=True)
        (self.dir / "owned.json").unlink(missing_ok=True)
        if not _other_nodes_running():
            for shared in (VAR_LIB_KUBELET, RUN_CONTAINERD):
                if _release_shared_dir(shared):
                    found.append(str(shared))
        if log and found:
            log(f"assetcron dev: removed {', '.join(found)}")
        return found

    def traces(self) -> list[str]:
        """What of this node is still on the host (empty when it is clean): the bridge,
        mounts under its directory, its cgroups and its shims' processes."""
        left = []
        if Path(f"/sys/class/net/{self.network.bridge}").exists():
            left.append(f"bridge {self.network.bridge}")
        left += [f"mount {m}" for m in mounts_under(self.dir)]
        left += [f"cgroup {c}" for c in _cgroup_dirs(self.cgroup_root)]
        left += [f"shim {p}" for p in _shim_pids(self.containerd_address)]
        return left


#: Host directories every dev node needs (see :meth:`Node.prepare_host`).
VAR_LIB_KUBELET = Path("/var/lib/kubelet")
RUN_CONTAINERD = Path("/run/containerd")


def _shared_marker(path: Path) -> Path:
    from assetcron_dev.binaries import cache_root  # noqa: PLC0415 - where markers live

    return cache_root() / "dev-created" / path.as_posix().strip("/").replace("/", "_")


def _shared_dir(path: Path, *, create: bool) -> None:
    """Note that dev clusters made ``path`` when it does not exist yet (and make it when
    ``create``; otherwise containerd will)."""
    if path.exists():
        return
    marker = _shared_marker(path)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("created by assetcron dev\n")
    if create:
        path.mkdir(parents=True)


def _release_shared_dir(path: Path) -> bool:
    """Remove ``path`` (empty directories only) when a dev cluster created it; True when
    it is gone now."""
    marker = _shared_marker(path)
    if not marker.exists():
        return False
    _remove_empty_tree(path)
    if not path.exists():
        marker.unlink()
        return True
    return False


def _other_nodes_running() -> bool:
    """True when a kubelet or containerd of another dev cluster still runs here (they
    share ``/var/lib/kubelet`` and ``/run/containerd``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = (entry / "cmdline").read_bytes()
            if b"kubelet-namespace.sh" in cmd or b"/node/containerd/config.toml" in cmd:
                return True
    return False


def _is_mountpoint(path: Path) -> bool:
    return str(path) in mounts_under(path)


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` in this mount namespace, deepest first."""
    prefix = str(path.resolve())
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


def _run_or_raise(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise NodeError(f"`{' '.join(argv)}` failed: {proc.stderr.strip()}")


def _cgroup_dirs(root: str) -> list[Path]:
    rel = root.lstrip("/")
    bases = [h / rel for h in _cgroup_hierarchies()]
    dirs = [Path(p) for base in bases if base.is_dir() for p, _, _ in os.walk(base)]
    return sorted(set(dirs), key=lambda p: -len(p.parts))


def _pids_under_cgroup(root: str) -> list[int]:
    pids: set[int] = set()
    for d in _cgroup_dirs(root):
        with contextlib.suppress(OSError):
            pids |= {int(x) for x in (d / "cgroup.procs").read_text().split()}
    return sorted(pids)


def _remove_cgroups(root: str) -> int:
    removed = 0
    for _ in range(50):  # a cgroup is busy until its last process is reaped
        left = _cgroup_dirs(root)
        for d in left:
            with contextlib.suppress(OSError):
                d.rmdir()
                removed += 1
        if not _cgroup_dirs(root):
            break
        time.sleep(0.1)
    return removed


def _shim_pids(address: Path) -> list[int]:
    needle = f"-address\0{address}\0".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = (entry / "cmdline").read_bytes()
            if b"containerd-shim" in cmd.split(b"\0", 1)[0] and needle in cmd + b"\0":
                pids.append(int(entry.name))
    return pids


def _wait_gone(pids: Iterable[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(pids)
    while pending and time.monotonic() < deadline:
        pending = {p for p in pending if Path(f"/proc/{p}").exists() and not _zombie(p)}
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _remove_empty_tree(path: Path) -> None:
    if not path.is_dir():
        return
    for p, _, _ in sorted(os.walk(path), key=lambda t: -len(Path(t[0]).parts)):
        with contextlib.suppress(OSError):
            Path(p).rmdir()
