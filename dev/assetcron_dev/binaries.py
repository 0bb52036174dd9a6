"""Kubernetes binaries for the local control plane, built from their Go modules.

``assetcron dev`` runs the real etcd, kube-apiserver and kube-controller-manager, plus
kubectl and helm. They are built once from their Go modules at one pinned release and
cached under ``~/.cache/assetcron/k8s/v<version>/bin`` (``$ASSETCRON_CACHE_DIR``
overrides ``~/.cache/assetcron``), keyed by version so that a version bump builds anew.

``k8s.io/kubernetes`` cannot be ``go install``-ed directly: its go.mod ``replace``-s every
staging module (``k8s.io/api``, ``k8s.io/client-go``, …) with a local ``./staging`` path.
We write a small build module that requires ``k8s.io/kubernetes`` and pins each staging
module to the matching published ``v0.X.Y`` tag, the approach the Kubernetes docs give
for depending on k8s.io/kubernetes ("Using k8s.io/kubernetes as a library is not
supported", kubernetes/kubernetes#79384). helm is ``go install``-ed at its pinned
version; etcd's server module also ``replace``-s its siblings, so it gets a one-line
build module of its own. The builds use ``GOTOOLCHAIN=local`` (never download a
toolchain) and ``GOFLAGS=-mod=mod``.

SeaweedFS's ``weed`` (the plane's S3 server, Apache-2.0) is built the same way at one
pinned commit of ``github.com/seaweedfs/seaweedfs`` (a pseudo-version: its tags are not
module versions) into ``~/.cache/assetcron/seaweedfs/<pseudo-version>/weed``. Its go.mod
``replace``-s ``github.com/tyler-smith/go-bip39`` with ``github.com/cosmos/go-bip39``, and
a dependency's ``replace`` does not apply to the module that requires it, so
``go install …/weed@<version>`` refuses and the module is built from a small build module
(``assetcron.dev/seaweedfs-build``) that requires it and repeats every non-local
``replace`` of its go.mod (:func:`weed_build_module_text`; that one line at this commit),
declaring the ``go`` version it declares (1.26.6 here, so Go >= 1.26.6 is needed).
``go build`` with ``-mod=mod`` then resolves the rest and writes go.sum: no
``go mod tidy`` step is needed. The commit is stamped into ``weed version`` with
``-X …/weed/util/version.COMMIT``, and the freshly built binary must report it before it
is moved into the cache. Measured on 2 cores: 7 min (``nice``-d; a Go build cache that
already held the Kubernetes builds' packages) to 14 min (a loaded machine); 164 MB
stripped (``-s -w``).

Binaries already present in ``$KUBEBUILDER_ASSETS`` (the controller-runtime envtest
layout) or on ``PATH`` are used instead when their version has the same minor release.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from assetcron_dev.locks import file_lock

#: The pinned Kubernetes release (kube-apiserver, kube-controller-manager, kubectl).
KUBERNETES_VERSION = "1.36.3"
#: The etcd release Kubernetes 1.36 is tested with (its go.mod requires etcd client v3.6.8).
ETCD_VERSION = "3.6.8"
#: The helm release.
HELM_VERSION = "3.22.0"
#: The Go language version the build module declares (k8s.io/kubernetes 1.36 needs 1.26).
GO_VERSION = "1.26.0"
#: SeaweedFS (the dev plane's S3 server): its module and the pinned commit's pseudo-version.
SEAWEEDFS_MODULE = "github.com/seaweedfs/seaweedfs"
SEAWEEDFS_VERSION = "v0.0.0-20261109003541-7506e5f91cd6"
#: The commit (the pseudo-version's last part), stamped into and checked in ``weed version``.
SEAWEEDFS_COMMIT = SEAWEEDFS_VERSION.rsplit("-", 1)[1]

KUBE_BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kubectl",
)
K8S_BINARIES = ("etcd", *KUBE_BINARIES, "helm")
ALL_BINARIES = (*K8S_BINARIES, "weed")


class BinariesError(RuntimeError):
    """The binaries are missing and cannot be built; ``str()`` says what to do."""


def cache_root() -> Path:
    """``$ASSETCRON_CACHE_DIR`` or ``~/.cache/assetcron`` (XDG cache home honoured)."""
    if env := os.environ.get("ASSETCRON_CACHE_DIR"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "assetcron"


def cache_bin_dir(version: str = KUBERNETES_VERSION) -> Path:
    """Directory holding the cached binaries of ``version``."""
    return cache_root() / "k8s" / f"v{version}" / "bin"


def seaweedfs_dir(version: str = SEAWEEDFS_VERSION) -> Path:
    """Directory holding the cached ``weed`` of ``version`` (and its build module)."""
    return cache_root() / "seaweedfs" / version


def _cached(name: str) -> Path:
    return seaweedfs_dir() / "weed" if name == "weed" else cache_bin_dir() / name


@dataclass(frozen=True)
class Binaries:
    """Absolute paths of the dev plane's binaries (all exist when constructed)."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubelet: Path
    kubectl: Path
    helm: Path
    weed: Path

    @property
    def bin_dirs(self) -> list[Path]:
        """The distinct directories of the binaries, for prepending to ``PATH``."""
        seen: dict[Path, None] = {}
        for p in (self.etcd, self.kube_apiserver, self.kube_controller_manager, self.kubectl):
            seen.setdefault(p.parent, None)
        seen.setdefault(self.helm.parent, None)
        return list(seen)


def _minor(version: str) -> str:
    m = re.match(r"v?(\d+)\.(\d+)", version)
    return f"{m.group(1)}.{m.group(2)}" if m else ""


def _reported_version(path: Path, name: str) -> str:
    """The ``X.Y.Z`` release ``path`` reports; for weed ``<X.YY> <commit>`` (``weed version``
    prints ``version 30GB 4.53 7506e5f91cd6 linux amd64``)."""
    args = {
        "etcd": ["--version"],
        "kube-apiserver": ["--version"],
        "kube-controller-manager": ["--version"],
        "kube-scheduler": ["--version"],
        "kubelet": ["--version"],
        "kubectl": ["version", "--client"],
        "helm": ["version", "--short"],
        "weed": ["version"],
    }[name]
    try:
        out = subprocess.run(
            [str(path), *args], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = out.stdout + out.stderr
    if name == "weed":
        w = re.search(r"version \S+ (\d+\.\d+) ([0-9a-f]*)", text)
        return f"{w.group(1)} {w.group(2)}".strip() if w else ""
    m = re.search(r"v?(\d+\.\d+\.\d+)", text)
    return m.group(1) if m else ""


def _compatible(path: Path, name: str) -> bool:
    version = _reported_version(path, name)
    if name in KUBE_BINARIES:
        # kube-apiserver/controller-manager/kubectl of the same minor release.
        return _minor(version) == _minor(KUBERNETES_VERSION)
    if name == "etcd":
        return _minor(version) in {"3.5", "3.6"}
    if name == "weed":  # a weed elsewhere: only one built from the pinned commit
        return version.endswith(f" {SEAWEEDFS_COMMIT}")
    return version.startswith("3.")  # helm 3


def _candidates(name: str) -> Iterable[Path]:
    yield _cached(name)
    if assets := os.environ.get("KUBEBUILDER_ASSETS"):
        yield Path(assets) / name
    if found := shutil.which(name):
        yield Path(found)


def find_binaries() -> Binaries | None:
    """Return compatible binaries from the cache, ``$KUBEBUILDER_ASSETS`` or ``PATH``.

    The cache is trusted without running the binaries (it is keyed by version, and a
    build is cached only once it reports its version); other locations are accepted
    only when ``--version`` reports a compatible release. Returns ``None`` when any is
    missing.
    """
    found: dict[str, Path] = {}
    for name in ALL_BINARIES:
        for cand in _candidates(name):
            if not (cand.is_file() and os.access(cand, os.X_OK)):
                continue
            if cand == _cached(name) or _compatible(cand, name):
                found[name] = cand.resolve()
                break
        else:
            return None
    return Binaries(
        etcd=found["etcd"],
        kube_apiserver=found["kube-apiserver"],
        kube_controller_manager=found["kube-controller-manager"],
        kube_scheduler=found["kube-scheduler"],
        kubelet=found["kubelet"],
        kubectl=found["kubectl"],
        helm=found["helm"],
        weed=found["weed"],
    )


def _build_module_text(kubernetes_mod: str) -> str:
    """go.mod of the build module: require k8s.io/kubernetes, pin each staging module."""
    staging = sorted(
        set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", kubernetes_mod, re.M))
    )
    staging_version = "v0." + KUBERNETES_VERSION.split(".", 1)[1]
    lines = [
        "module assetcron.dev/k8s-build",
        "",
        f"go {GO_VERSION}",
        "",
        f"require k8s.io/kubernetes v{KUBERNETES_VERSION}",
        "",
    ]
    lines += [f"replace {m} => {m} {staging_version}" for m in staging]
    return "\n".join(lines) + "\n"


_TOOLS_GO = """//go:build tools

// Package tools pins the Kubernetes commands assetcron dev builds.
package tools

import (
\t_ "k8s.io/kubernetes/cmd/kube-apiserver"
\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"
\t_ "k8s.io/kubernetes/cmd/kubectl"
)
"""


def _go_version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def weed_build_module_text(weed_mod: str) -> str:
    """go.mod of the build module for ``weed``, from SeaweedFS's own go.mod text.

    Requires the pinned module and repeats each of its ``replace`` directives that names
    a module version (a local ``=> ./path`` one would not resolve here and none exists),
    in both the one-line and the block form; declares the higher of :data:`GO_VERSION`
    and the ``go`` version SeaweedFS declares.
    """
    go = GO_VERSION
    if m := re.search(r"^go\s+(\S+)", weed_mod, re.M):
        go = max(GO_VERSION, m.group(1), key=_go_version)
    replaces: list[str] = []
    in_block = False
    for raw in weed_mod.splitlines():
        line = raw.split("//", 1)[0].strip()
        if in_block:
            if line == ")":
                in_block = False
            elif "=>" in line:
                replaces.append(line)
            continue
        if line in {"replace (", "replace("}:
            in_block = True
        elif line.startswith("replace ") and "=>" in line:
            replaces.append(line.removeprefix("replace ").strip())
    lines = [
        "module assetcron.dev/seaweedfs-build",
        "",
        f"go {go}",
        "",
        f"require {SEAWEEDFS_MODULE} {SEAWEEDFS_VERSION}",
        "",
    ]
    for r in replaces:
        target = r.split("=>", 1)[1].split()
        if len(target) == 2 and not target[0].startswith((".", "/")):
            lines.append(f"replace {' '.join(r.split())}")
    return "\n".join(lines) + "\n"


def build_binaries(log: Callable[[str], None] = print) -> tuple[Binaries, dict[str, float]]:
    """Build the binaries into the cache (:func:`cache_bin_dir`, :func:`seaweedfs_dir`) and
    return them with timings.

    Each binary is built only if missing from the cache, so an interrupted build resumes.
    Timings are wall-clock seconds per binary (0.0 for one already cached).

    Raises:
        BinariesError: Go is not installed, or a ``go`` command failed (its output's
            last lines are included).
    """
    go = shutil.which("go")
    if go is None:
        raise BinariesError(
            "Go is needed to build the Kubernetes binaries once: install Go "
            f">= {GO_VERSION[:4]} (https://go.dev/dl) or point KUBEBUILDER_ASSETS at "
            f"etcd/kube-apiserver/kube-controller-manager/kubectl {KUBERNETES_VERSION[:4]}"
        )
    out = cache_bin_dir()
    work = out.parent / "build"
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}

    # One build at a time per cache (concurrent `make` targets share the work dirs).
    with file_lock(work / ".lock"):
        timings = _build_locked(go, out, work, env, log)
    weed_work = seaweedfs_dir() / "build"
    weed_work.mkdir(parents=True, exist_ok=True)
    with file_lock(weed_work / ".lock"):
        timings["weed"] = _build_weed_locked(go, weed_work, env, log)
    found = find_binaries()
    if found is None:  # pragma: no cover - every binary was just written
        raise BinariesError(f"binaries missing from {out} or {seaweedfs_dir()} after the build")
    return found, timings


def _go_runner(go: str, env: dict[str, str]) -> Callable[..., str]:
    def go_run(*args: str, cwd: Path) -> str:
        proc = subprocess.run(
            [go, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise BinariesError(f"`go {' '.join(args)}` failed:\n{tail}")
        return proc.stdout

    return go_run


def _build_weed_locked(
    go: str, work: Path, env: dict[str, str], log: Callable[[str], None]
) -> float:
    """Build ``weed`` into :func:`seaweedfs_dir` unless cached; return the seconds taken."""
    target = _cached("weed")
    if target.exists():
        return 0.0
    t0 = time.monotonic()
    go_run = _go_runner(go, env)
    log(f"assetcron dev: building SeaweedFS weed {SEAWEEDFS_VERSION} (once; ~15 min) ...")
    info = json.loads(
        go_run("mod", "download", "-json", f"{SEAWEEDFS_MODULE}@{SEAWEEDFS_VERSION}", cwd=work)
    )
    (work / "go.mod").write_text(weed_build_module_text(Path(info["GoMod"]).read_text()))
    tmp = target.parent / ".weed.tmp"
    go_run(
        "build",
        "-trimpath",
        "-ldflags",
        f"-s -w -X {SEAWEEDFS_MODULE}/weed/util/version.COMMIT={SEAWEEDFS_COMMIT}",
        "-o",
        str(tmp),
        f"{SEAWEEDFS_MODULE}/weed",
        cwd=work,
    )
    reported = _reported_version(tmp, "weed")
    if not reported.endswith(f" {SEAWEEDFS_COMMIT}"):
        raise BinariesError(
            f"the weed just built reports version {reported!r}, not commit {SEAWEEDFS_COMMIT}"
        )
    tmp.replace(target)  # atomic: a half-built binary is never taken for a cached one
    seconds = time.monotonic() - t0
    log(f"assetcron dev: built weed ({reported}) in {seconds:.0f}s")
    return seconds


def _build_locked(
    go: str, out: Path, work: Path, env: dict[str, str], log: Callable[[str], None]
) -> dict[str, float]:
    run = _go_runner(go, env)

    def go_run(*args: str, cwd: Path = work) -> str:
        return run(*args, cwd=cwd)

    timings: dict[str, float] = {}
    kube_missing = [b for b in KUBE_BINARIES if not (out / b).exists()]
    if kube_missing:
        log(f"assetcron dev: building Kubernetes v{KUBERNETES_VERSION} from its Go modules (once)")
        go_run("mod", "download", f"k8s.io/kubernetes@v{KUBERNETES_VERSION}")
        modcache = Path(go_run("env", "GOMODCACHE").strip())
        mod = modcache / "cache/download/k8s.io/kubernetes/@v" / f"v{KUBERNETES_VERSION}.mod"
        (work / "go.mod").write_text(_build_module_text(mod.read_text()))
        (work / "tools.go").write_text(_TOOLS_GO)
        go_run("mod", "tidy")
    ldflags = (
        "-s -w"
        f" -X k8s.io/component-base/version.gitVersion=v{KUBERNETES_VERSION}"
        f" -X k8s.io/client-go/pkg/version.gitVersion=v{KUBERNETES_VERSION}"
        " -X k8s.io/component-base/version.gitMajor=1"
        f" -X k8s.io/component-base/version.gitMinor={KUBERNETES_VERSION.split('.')[1]}"
    )
    for name in K8S_BINARIES:
        target = out / name
        if target.exists():
            timings[name] = 0.0
            continue
        t0 = time.monotonic()
        log(f"assetcron dev: building {name} ...")
        tmp = out / f".{name}.tmp"
        if name in KUBE_BINARIES:
            go_run(
                "build",
                "-trimpath",
                "-ldflags",
                ldflags,
                "-o",
                str(tmp),
                f"k8s.io/kubernetes/cmd/{name}",
            )
        elif name == "etcd":
            # etcd's server module replaces its sibling modules with ../ paths, so it
            # cannot be `go install`-ed either; a module that requires it builds it.
            etcd_work = work / "etcd"
            etcd_work.mkdir(exist_ok=True)
            (etcd_work / "go.mod").write_text(
                "module assetcron.dev/etcd-build\n\n"
                f"go {GO_VERSION}\n\nrequire go.etcd.io/etcd/server/v3 v{ETCD_VERSION}\n"
            )
            go_run(
                "build",
                "-trimpath",
                "-ldflags",
                "-s -w",
                "-o",
                str(tmp),
                "go.etcd.io/etcd/server/v3",
                cwd=etcd_work,
            )
        else:
            gobin = work / "gobin-helm"
            gobin.mkdir(exist_ok=True)
            env["GOBIN"] = str(gobin)
            # helm's offline `helm template` assumes the Kubernetes version stamped here
            # (otherwise 1.20, which fails charts' kubeVersion constraints).
            major, minor = KUBERNETES_VERSION.split(".")[:2]
            go_run(
                "install",
                "-trimpath",
                "-ldflags",
                f"-s -w -X helm.sh/helm/v3/internal/version.version=v{HELM_VERSION}"
                f" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor={major}"
                f" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor={minor}",
                f"helm.sh/helm/v3/cmd/helm@v{HELM_VERSION}",
                cwd=out.parent,
            )
            del env["GOBIN"]
            (gobin / "helm").replace(tmp)
        tmp.replace(target)  # atomic: a half-built binary is never taken for a cached one
        timings[name] = time.monotonic() - t0
        log(f"assetcron dev: built {name} in {timings[name]:.0f}s")
    return timings


def ensure_binaries(log: Callable[[str], None] = print) -> Binaries:
    """Compatible binaries from cache/``KUBEBUILDER_ASSETS``/``PATH``, else build them.

    Raises:
        BinariesError: as :func:`build_binaries`.
    """
    found = find_binaries()
    if found is not None:
        return found
    return build_binaries(log)[0]
