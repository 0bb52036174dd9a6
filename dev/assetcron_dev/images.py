"""The images a dev node runs, built from the Dockerfile with buildah: no Docker, no registry.

A real node (containerd + kubelet) needs the project's images in its containerd, and this
machine has neither a Docker engine nor a reachable registry. Five images, all in
buildah's own storage under ``<cache>/buildah`` (:func:`buildah_storage`; never
``/var/lib/containers``), which outlives every dev plane:

* :data:`BASE_IMAGE`, the Dockerfile's ``FROM``: a stand-in for the official
  ``python:3.11-slim-bookworm`` built from Debian packages by ``mmdebstrap`` (Debian's
  python3 3.11, pip, venv, CA certificates; documentation and locales left out as in
  Debian's slim images), committed from scratch under the official name so that the
  Dockerfile builds unchanged (``--pull=never``).
* :data:`PAUSE_IMAGE`, the pod sandbox: a static Go program that reaps children and exits
  on SIGTERM/SIGINT, committed from scratch as ``/pause``.
* :data:`RUNTIME_IMAGE` (the Dockerfile's default target), :data:`WEATHER_IMAGE`
  (``--target weather``) and :data:`DAGSTER_EXAMPLE_IMAGE` (``--target dagster-example``),
  the :data:`TARGETS`, by ``buildah bud --layers``: only changed steps rebuild. Nothing
  in the build reaches the network: the wheels of every dependency, of the
  :data:`IMAGE_EXTRAS`, of the projects the images install besides assetcron
  (:data:`IMAGE_PROJECTS`) and of the build backends are downloaded on the host into
  ``.wheelhouse/`` (inside the build context) and the build installs from them
  (``PIP_NO_INDEX``/``PIP_FIND_LINKS`` build arguments). ``RUN`` steps use the host
  network namespace, so buildah creates no bridge and no iptables rules.

:func:`load_images` copies images into a containerd (CRI namespace ``k8s.io``) through an
OCI archive, skipping those whose config digest containerd already has.

Each base/pause image carries a label with the digest of its recipe (the mmdebstrap
command, the Go source); a changed recipe rebuilds it. Everything here needs root
(overlay storage, mmdebstrap's root mode).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assetcron_dev.binaries import cache_root
from assetcron_dev.locks import file_lock

#: The Dockerfile's ``ARG PYTHON_IMAGE`` default, fully qualified (a unit test keeps them equal).
BASE_IMAGE = "docker.io/library/python:3.11-slim-bookworm"
#: The pod sandbox image the node's containerd is configured with.
PAUSE_IMAGE = "localhost/pause:3.10"
#: The Dockerfile's default target: the operator and the runner.
RUNTIME_IMAGE = "ghcr.io/assetcron/assetcron:0.1.0"
#: The Dockerfile's ``weather`` target: the example code location of examples/weather.
WEATHER_IMAGE = "ghcr.io/assetcron/assetcron-weather:0.1.0"
#: The Dockerfile's ``dagster-example`` target: the Dagster project of examples/dagster_project.
DAGSTER_EXAMPLE_IMAGE = "ghcr.io/assetcron/assetcron-dagster-example:0.1.0"
#: (image, Dockerfile target) in build order; ``None`` is the default (last) stage.
TARGETS: tuple[tuple[str, str | None], ...] = (
    (WEATHER_IMAGE, "weather"),
    (DAGSTER_EXAMPLE_IMAGE, "dagster-example"),
    (RUNTIME_IMAGE, None),
)
#: assetcron's extras that some image installs (weather: ``examples``; dagster-example:
#: ``dagster``).
IMAGE_EXTRAS = ("examples", "dagster")
#: pyproject.toml files (relative to the checkout) of the projects an image pip-installs
#: besides assetcron: their dependencies and build backends go into the wheelhouse too.
IMAGE_PROJECTS = ("examples/dagster_project/pyproject.toml",)

#: The Debian release of the base image, and the packages installed into it.
DEBIAN_SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "python-is-python3", "ca-certificates")
#: The base image's CPython (``major.minor``) and glibc (bookworm's 2.36): the wheels
#: downloaded for the build must install there, whatever the host runs.
IMAGE_PYTHON = "3.11"
IMAGE_GLIBC = (2, 36)

#: The wheelhouse, relative to the build context, and where the Dockerfile COPYs it.
WHEELHOUSE = ".wheelhouse"
WHEELHOUSE_IN_IMAGE = "/wheelhouse"
#: containerd namespace of the CRI plugin (what the kubelet sees).
CRI_NAMESPACE = "k8s.io"
#: Image label holding the digest of what a locally made image was made from.
RECIPE_LABEL = "dev.assetcron.recipe"

PAUSE_GO = """\
// pause: the pod sandbox's process. It holds the pod's namespaces, reaps the children
// re-parented to it (PID 1 of a shared PID namespace) and exits 0 on SIGTERM or SIGINT.
package main

import (
\t"os"
\t"os/signal"
\t"syscall"
)

func main() {
\tsignals := make(chan os.Signal, 16)
\tsignal.Notify(signals, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT)
\tfor s := range signals {
\t\tif s != syscall.SIGCHLD {
\t\t\tos.Exit(0)
\t\t}
\t\tfor {
\t\t\tvar status syscall.WaitStatus
\t\t\tpid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
\t\t\tif pid <= 0 || err != nil {
\t\t\t\tbreak
\t\t\t}
\t\t}
\t}
}
"""
PAUSE_GO_MOD = "module assetcron.dev/pause\n\ngo 1.21\n"

_SLIM_DPKG_OPTIONS = (
    # What Debian's slim images leave out (copyright files stay).
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
)
_MERGED_USR_HOOKS = "/usr/share/mmdebstrap/hooks/merged-usr"
_BASE_ENV = (
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C.UTF-8",
)


class ImagesError(RuntimeError):
    """An image cannot be built or loaded; ``str()`` is one line saying what to do."""


# ------------------------------------------------------------------ pure parts


def buildah_storage() -> Path:
    """Directory of buildah's storage: ``<cache_root>/buildah``.

    Holds ``root/`` (images and layers, overlay driver), ``run/`` (buildah's run root),
    ``tmp/`` (temporary archives, removed after use), ``logs/`` (the output of the last
    run of each step) and ``pause/`` (the pause program's Go module). It belongs to no
    plane: ``assetcron dev down`` leaves it, so the next plane loads images in seconds.
    """
    return cache_root() / "buildah"


def buildah_argv(*args: str, storage: Path | None = None) -> list[str]:
    """``buildah`` with this module's storage options, then ``args``.

    Every call passes ``--root``, ``--runroot`` and ``--storage-driver overlay`` so that
    no configuration file can send it to ``/var/lib/containers``.
    """
    s = buildah_storage() if storage is None else storage
    return [
        "buildah",
        "--root",
        str(s / "root"),
        "--runroot",
        str(s / "run"),
        "--storage-driver",
        "overlay",
        *args,
    ]


def mmdebstrap_argv(tarball: Path) -> list[str]:
    """The command that writes the base image's root file system to ``tarball`` (a tar)."""
    return [
        "mmdebstrap",
        "--variant=minbase",
        f"--include={','.join(BASE_PACKAGES)}",
        # merged /usr by directory symlinks, as debootstrap and Debian's official images
        # do; without it the usrmerge package is installed, and with it perl (~50 MB).
        f"--hook-dir={_MERGED_USR_HOOKS}",
        *(f"--dpkgopt={o}" for o in _SLIM_DPKG_OPTIONS),
        DEBIAN_SUITE,
        str(tarball),
    ]


def recipe_digest(*parts: str) -> str:
    """sha256 hex digest of ``parts`` (NUL-separated): the label value of a made image."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def wheel_requirements(
    pyproject: Mapping[str, Any],
    extras: Sequence[str] = IMAGE_EXTRAS,
    projects: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """Requirements the images install: dependencies, ``extras``, the build backend, and
    the dependencies and build backends of the other ``projects`` they install.

    Args:
        pyproject: the parsed ``pyproject.toml``.
        extras: names of ``[project.optional-dependencies]`` entries to include.
        projects: the parsed ``pyproject.toml`` of each other project an image installs
            (:data:`IMAGE_PROJECTS`); their own extras are left out.

    Returns:
        PEP 508 strings, in pyproject order (assetcron's first), without duplicates.

    Raises:
        ImagesError: an extra is not defined.
    """
    project = pyproject["project"]
    optional = project.get("optional-dependencies", {})
    reqs: list[str] = list(project.get("dependencies", []))
    for extra in extras:
        if extra not in optional:
            raise ImagesError(f"pyproject.toml defines no extra {extra!r}: fix the image's extras")
        reqs += optional[extra]
    reqs += pyproject.get("build-system", {}).get("requires", [])
    for other in projects:
        reqs += other["project"].get("dependencies", [])
        reqs += other.get("build-system", {}).get("requires", [])
    return list(dict.fromkeys(reqs))


def manylinux_platforms(glibc: tuple[int, int] = IMAGE_GLIBC, arch: str | None = None) -> list[str]:
    """pip ``--platform`` tags of binary wheels that install on a glibc ``glibc`` system.

    pip does not expand one ``manylinux_2_X`` tag to the older compatible ones, so all are
    listed, newest first, with the legacy aliases (``manylinux2014`` = 2.17,
    ``manylinux2010`` = 2.12, ``manylinux1`` = 2.5). ``arch`` defaults to the host's.
    """
    machine = arch or platform.machine()
    major, minor = glibc
    tags = [f"manylinux_{major}_{m}_{machine}" for m in range(minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{name}_{machine}" for m, name in legacy.items() if m <= minor]
    return tags


def pip_download_argv(
    python: str, dest: Path, requirements: Sequence[str], *, offline: bool
) -> list[str]:
    """``pip download`` of binary wheels for the image's Python into ``dest``.

    ``offline`` resolves from ``dest`` alone (``--no-index``): it succeeds, in about a
    second, when every requirement is already there, so a rebuild asks no index.
    Otherwise the index is used and only missing files are downloaded (pip skips a file
    already in ``dest``: "File was already downloaded").
    """
    argv = [
        python,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
        "--find-links",
        str(dest),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        IMAGE_PYTHON,
        "--abi",
        "cp" + IMAGE_PYTHON.replace(".", ""),
    ]
    for tag in manylinux_platforms():
        argv += ["--platform", tag]
    if offline:
        argv.append("--no-index")
    return [*argv, *requirements]


def bud_argv(root: Path, image: str, target: str | None, runtime: str) -> list[str]:
    """The ``buildah bud`` command that builds ``image`` from ``root``'s Dockerfile."""
    args = [
        "bud",
        "--runtime",
        runtime,
        "--network",
        "host",
        "--pull=never",
        "--layers",
        "--build-arg",
        "PIP_NO_INDEX=1",
        "--build-arg",
        f"PIP_FIND_LINKS={WHEELHOUSE_IN_IMAGE}",
        "--file",
        str(root / "Dockerfile"),
        "--tag",
        image,
    ]
    if target:
        args += ["--target", target]
    return buildah_argv(*args, str(root))


def parse_ctr_images(text: str) -> dict[str, str]:
    """``ctr images ls`` output → ``{ref: target digest}`` (the header line is skipped)."""
    out: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[2].startswith("sha256:"):
            out[fields[0]] = fields[2]
    return out


def config_digest(digest: str, blob: Callable[[str], bytes]) -> str | None:
    """The config digest of the image whose manifest (or index) is ``digest``.

    ``blob(digest)`` returns a content blob. An index is followed to its first manifest
    (buildah writes one). Returns ``None`` when the JSON is neither.
    """
    doc = json.loads(blob(digest))
    if doc.get("manifests"):
        doc = json.loads(blob(doc["manifests"][0]["digest"]))
    config = doc.get("config", {}).get("digest")
    return config if isinstance(config, str) else None


def image_facts(inspect: Mapping[str, Any]) -> dict[str, Any]:
    """``{"id": image ID (hex), "labels": {...}}`` from ``buildah inspect --type image``."""
    config = (inspect.get("OCIv1") or {}).get("config") or {}
    return {"id": inspect["FromImageID"], "labels": config.get("Labels") or {}}


def orphaned_id_ref(targets: Mapping[str, str], id_ref: str) -> bool:
    """Whether ``id_ref`` (``sha256:<config digest>``) names an image nothing else names.

    ``targets`` maps every image reference of the containerd to its manifest digest
    (:func:`parse_ctr_images`). ``False`` when ``id_ref`` is not listed.
    """
    target = targets.get(id_ref)
    if target is None:
        return False
    return not any(ref != id_ref and digest == target for ref, digest in targets.items())


# ------------------------------------------------------------------ running things


def _require(tool: str, hint: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise ImagesError(f"{tool} is not installed: {hint}")
    return found


def _require_root() -> None:
    if os.geteuid() != 0:
        raise ImagesError(
            "building and loading images needs root (overlay storage, mmdebstrap, containerd):"
            " run it as root"
        )


def _run(
    argv: Sequence[str],
    step: str,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; its output goes to ``logs/<step>.log``; on failure raise one line.

    Raises:
        ImagesError: exit status ≠ 0 and ``check``; names the log and its last line.
    """
    logs = buildah_storage() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"{step}.log"
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else _env(),
        capture_output=True,
        text=True,
        check=False,
    )
    log_file.write_text(f"$ {' '.join(argv)}\n{proc.stdout}{proc.stderr}")
    if check and proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        last = lines[-1].strip() if lines else "no output"
        name = Path(argv[0]).name
        command = " ".join([name, *argv[7:8]] if name == "buildah" else [name, *argv[1:2]])
        raise ImagesError(
            f"{step}: `{command}` failed (exit {proc.returncode}): {last};"
            f" fix that and run it again (output: {log_file})"
        )
    return proc


def _env() -> dict[str, str]:
    """The environment of every command: temporary files under the storage, not /var/tmp."""
    tmp = buildah_storage() / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp)}


def _storage_lock() -> contextlib.AbstractContextManager[None]:
    """One build or load at a time per storage (they tag, remove and share temp files)."""
    return file_lock(buildah_storage() / ".lock")


def _image_inspect(image: str) -> dict[str, Any] | None:
    """buildah's view of a local image: ``{"id": hex, "labels": {...}}``, or ``None``."""
    proc = _run(buildah_argv("inspect", "--type", "image", image), "inspect", check=False)
    if proc.returncode != 0:
        return None
    return image_facts(json.loads(proc.stdout))


def _commit_from_scratch(
    image: str, step: str, add: Sequence[tuple[Path, str]], config: Sequence[str]
) -> None:
    """``buildah from scratch``, add files (tar archives are extracted), configure, commit."""
    ctr = _run(buildah_argv("from", "--pull=never", "scratch"), step).stdout.strip()
    try:
        for src, dest in add:
            _run(buildah_argv("add", ctr, str(src), dest), step)
        _run(buildah_argv("config", *config, ctr), step)
        _run(buildah_argv("commit", "--quiet", "--rm", ctr, image), step)
    except BaseException:
        _run(buildah_argv("rm", ctr), f"{step}-cleanup", check=False)  # keeps step's log
        raise


def _ensure_base(log: Callable[[str], None]) -> None:
    work = buildah_storage() / "tmp"
    recipe = recipe_digest(*mmdebstrap_argv(Path("rootfs.tar")), *_BASE_ENV)
    found = _image_inspect(BASE_IMAGE)
    if found is not None and found["labels"].get(RECIPE_LABEL) == recipe:
        log(f"assetcron dev: {BASE_IMAGE} is up to date")
        return
    _require("mmdebstrap", "apt-get install mmdebstrap (it builds the Python base image)")
    log(
        f"assetcron dev: building {BASE_IMAGE} from Debian {DEBIAN_SUITE} packages"
        " (mmdebstrap, ~2-3 min, once) ..."
    )
    tarball = work / "base-rootfs.tar"
    try:
        _run(mmdebstrap_argv(tarball), "base-mmdebstrap")
        config = ["--cmd", '["python3"]', "--label", f"{RECIPE_LABEL}={recipe}"]
        for kv in _BASE_ENV:
            config += ["--env", kv]
        config += [
            "--label",
            "org.opencontainers.image.description=Debian "
            f"{DEBIAN_SUITE} python3 (minbase) standing in for {BASE_IMAGE}",
        ]
        _commit_from_scratch(BASE_IMAGE, "base-commit", [(tarball, "/")], config)
    finally:
        tarball.unlink(missing_ok=True)


def _ensure_pause(log: Callable[[str], None]) -> None:
    recipe = recipe_digest(PAUSE_GO_MOD, PAUSE_GO)
    found = _image_inspect(PAUSE_IMAGE)
    if found is not None and found["labels"].get(RECIPE_LABEL) == recipe:
        log(f"assetcron dev: {PAUSE_IMAGE} is up to date")
        return
    go = _require("go", "install Go (https://go.dev/dl): it builds the pause image")
    log(f"assetcron dev: building {PAUSE_IMAGE} (static Go) ...")
    module = buildah_storage() / "pause"
    module.mkdir(parents=True, exist_ok=True)
    (module / "go.mod").write_text(PAUSE_GO_MOD)
    (module / "main.go").write_text(PAUSE_GO)
    env = {
        **_env(),
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
    }
    binary = module / "pause"
    _run(
        [go, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(binary), "."],
        "pause-go-build",
        cwd=module,
        env=env,
    )
    binary.chmod(0o755)
    config = [
        "--entrypoint",
        '["/pause"]',
        "--cmd",
        "",
        "--user",
        "65535:65535",
        "--label",
        f"{RECIPE_LABEL}={recipe}",
    ]
    _commit_from_scratch(PAUSE_IMAGE, "pause-commit", [(binary, "/pause")], config)


def _ensure_wheelhouse(root: Path, log: Callable[[str], None]) -> None:
    """Fill ``root/.wheelhouse`` with the wheels the Dockerfile installs offline."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    projects = [tomllib.loads((root / p).read_text()) for p in IMAGE_PROJECTS]
    reqs = wheel_requirements(pyproject, projects=projects)
    dest = root / WHEELHOUSE
    dest.mkdir(exist_ok=True)
    # The host's pip settings must not decide what goes into the image.
    env = {k: v for k, v in _env().items() if k not in {"PIP_FIND_LINKS", "PIP_NO_INDEX"}}
    python = sys.executable
    offline = _run(
        pip_download_argv(python, dest, reqs, offline=True), "wheelhouse", env=env, check=False
    )
    if offline.returncode == 0:
        return
    log(f"assetcron dev: downloading wheels for the images into {dest} ...")
    _run(pip_download_argv(python, dest, reqs, offline=False), "wheelhouse", env=env)


def build_images(root: Path, log: Callable[[str], None] = print) -> dict[str, float]:
    """Build (or find up to date) the base, pause, weather, dagster-example and runtime images.

    Only what is missing or changed is rebuilt: the base and pause images when absent or
    their recipe changed, the Dockerfile's targets through buildah's layer cache (seconds
    when nothing changed). Builds run in buildah's storage (:func:`buildah_storage`);
    the wheels they install are downloaded on the host into ``root/.wheelhouse`` first.
    A target image that a rebuild replaced is removed (the builder stages' cache stays).

    Args:
        root: the checkout (holds ``Dockerfile``, ``pyproject.toml``, the build context).
        log: receives one progress line at a time.

    Returns:
        Wall-clock seconds per image name (:data:`BASE_IMAGE`, :data:`PAUSE_IMAGE`,
        then the :data:`TARGETS`' images, in build order); the wheelhouse's
        time counts toward the first Dockerfile target.

    Raises:
        ImagesError: not root, a tool is missing, or a build step failed.
    """
    root = root.resolve()
    if not (root / "Dockerfile").is_file():
        raise ImagesError(f"no Dockerfile in {root}: run it from the assetcron checkout")
    _require_root()
    _require("buildah", "apt-get install buildah runc (Debian/Ubuntu)")
    runtime = _require("runc", "apt-get install runc")
    timings: dict[str, float] = {}
    with _storage_lock():
        t0 = time.monotonic()
        _ensure_base(log)
        timings[BASE_IMAGE] = time.monotonic() - t0

        t0 = time.monotonic()
        _ensure_pause(log)
        timings[PAUSE_IMAGE] = time.monotonic() - t0

        t0 = time.monotonic()
        _ensure_wheelhouse(root, log)
        for image, target in TARGETS:
            how = f"buildah bud --target {target}" if target else "buildah bud"
            log(f"assetcron dev: building {image} ({how}) ...")
            before = _image_inspect(image)
            _run(bud_argv(root, image, target, runtime), f"bud-{target or 'runtime'}", cwd=root)
            after = _image_inspect(image)
            if before is not None and after is not None and before["id"] != after["id"]:
                # The image this build replaced is untagged now and nothing builds on it;
                # its virtualenv layer (hundreds of MB) would pile up with every edit.
                _run(buildah_argv("rmi", before["id"]), "rmi-previous", check=False)
            timings[image] = time.monotonic() - t0
            t0 = time.monotonic()
    for image, seconds in timings.items():
        log(f"assetcron dev: {image}: {seconds:.1f}s")
    return timings


# ------------------------------------------------------------------ loading into containerd


def _containerd_configs(ctr: list[str], images: Sequence[str]) -> dict[str, str]:
    """``{image: config digest}`` for those of ``images`` that the containerd has."""
    listing = _run([*ctr, "images", "ls"], "ctr-images-ls").stdout
    targets = parse_ctr_images(listing)

    def blob(digest: str) -> bytes:
        return subprocess.run(
            [*ctr, "content", "get", digest], capture_output=True, check=True
        ).stdout

    out: dict[str, str] = {}
    for image in images:
        if image in targets:
            with contextlib.suppress(subprocess.CalledProcessError, ValueError, KeyError):
                if (digest := config_digest(targets[image], blob)) is not None:
                    out[image] = digest
    return out


def load_images(
    containerd_address: Path, images: Sequence[str], log: Callable[[str], None] = print
) -> dict[str, float]:
    """Copy ``images`` from buildah's storage into a containerd (namespace ``k8s.io``).

    Each image goes through an OCI archive under ``<buildah storage>/tmp`` (``buildah push
    --disable-compression``, then ``ctr images import``), removed after. (buildah 1.28
    still writes the layers of a ``bud``-built image gzip-compressed, as it stored them.)
    An image whose config digest (buildah's image ID) the containerd already holds under
    that name is skipped, so a reload of unchanged images takes about a second. When a
    reload replaces an image, the ``sha256:<old ID>`` reference the CRI plugin added is
    removed if nothing else names the old image, so its layers are garbage-collected
    (containers still running from it keep their snapshots).

    Args:
        containerd_address: the containerd's gRPC socket.
        images: fully qualified names, as :func:`build_images` tagged them.
        log: receives one progress line at a time.

    Returns:
        Wall-clock seconds per image (a skipped one costs the comparison only).

    Raises:
        ImagesError: not root, ``ctr`` missing, the socket missing, an image not built,
            or a push/import failed.
    """
    _require_root()
    ctr_bin = _require("ctr", "apt-get install containerd")
    _require("buildah", "apt-get install buildah runc (Debian/Ubuntu)")
    if not containerd_address.is_socket():
        raise ImagesError(f"no containerd socket at {containerd_address}: start the dev node first")
    ctr = [ctr_bin, "--address", str(containerd_address), "-n", CRI_NAMESPACE]
    timings: dict[str, float] = {}
    with _storage_lock():
        tmp_root = buildah_storage() / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        for stale in tmp_root.glob("load-*"):  # left by an interrupted load
            shutil.rmtree(stale, ignore_errors=True)
        present = _containerd_configs(ctr, images)
        replaced: list[str] = []
        for image in images:
            t0 = time.monotonic()
            found = _image_inspect(image)
            if found is None:
                raise ImagesError(
                    f"{image} is not in buildah's storage ({buildah_storage()}):"
                    " build it first (assetcron dev images)"
                )
            if present.get(image) == f"sha256:{found['id']}":
                timings[image] = time.monotonic() - t0
                log(f"assetcron dev: {image} already loaded")
                continue
            if image in present:
                replaced.append(image)
            tmp = Path(tempfile.mkdtemp(prefix="load-", dir=tmp_root))
            try:
                archive = tmp / "image.tar"
                log(f"assetcron dev: loading {image} into containerd ...")
                _run(
                    buildah_argv(
                        "push",
                        "--quiet",
                        "--disable-compression",
                        image,
                        f"oci-archive:{archive}:{image}",
                    ),
                    "load-push",
                )
                _run([*ctr, "images", "import", str(archive)], "load-import")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            timings[image] = time.monotonic() - t0
            log(f"assetcron dev: loaded {image} in {timings[image]:.1f}s")
        targets = parse_ctr_images(_run([*ctr, "images", "ls"], "ctr-images-ls").stdout)
        missing = [i for i in images if i not in targets]
        if missing:
            raise ImagesError(
                f"containerd at {containerd_address} does not list {', '.join(missing)} after"
                " the import: check the archive's image name (output: "
                f"{buildah_storage() / 'logs' / 'load-import.log'})"
            )
        # The CRI plugin named each first import by its ID too (sha256:<config digest>); a
        # reload moves the name but leaves that ID reference, which would keep the old
        # image's layers forever. Drop it when nothing else names that image.
        for image in replaced:
            if orphaned_id_ref(targets, present[image]):
                _run([*ctr, "images", "rm", "--sync", present[image]], "load-rm", check=False)
    return timings


#: What a dev node gets when it starts: the sandbox image and the project's images.
NODE_IMAGES = (PAUSE_IMAGE, RUNTIME_IMAGE, WEATHER_IMAGE, DAGSTER_EXAMPLE_IMAGE)


def load_available(containerd_address: Path, log: Callable[[str], None] = print) -> list[str]:
    """Load :data:`NODE_IMAGES` into a dev node's containerd; return the names loaded.

    The pause image (every pod's sandbox) is built first when it is missing (seconds);
    the runtime and example images are loaded when ``assetcron dev images`` has built
    them, and left out otherwise (pods of an image the node lacks then wait with
    ``ErrImageNeverPull``/``ErrImagePull``, which the run's status reports).

    Raises:
        ImagesError: as :func:`load_images`, or the pause image cannot be built.
    """
    with _storage_lock():
        _ensure_pause(log)
        present = [image for image in NODE_IMAGES if _image_inspect(image) is not None]
    load_images(containerd_address, present, log)
    return present


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m assetcron_dev.images [ROOT] [--load SOCKET]``: build, optionally load."""
    import argparse  # noqa: PLC0415 - only for this manual entry point

    parser = argparse.ArgumentParser(prog="python -m assetcron_dev.images")
    parser.add_argument("root", nargs="?", type=Path, default=Path.cwd())
    parser.add_argument("--load", type=Path, metavar="SOCKET", help="containerd socket")
    args = parser.parse_args(argv)
    log: Callable[[str], None] = print
    try:
        build_images(args.root, log)
        if args.load is not None:
            load_images(args.load, list(NODE_IMAGES), log)
    except ImagesError as exc:
        log(f"assetcron dev images: {exc}")
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
