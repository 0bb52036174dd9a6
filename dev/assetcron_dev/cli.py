"""``assetcron dev``: a one-machine Kubernetes control plane for assetcron (like ``dagster dev``).

::

    assetcron dev               # foreground: start everything, stop on Ctrl-C
    assetcron dev up            # start in the background (idempotent), print the exports:
                                # KUBECONFIG=…, and the S3 endpoint's AWS_ENDPOINT_URL=…,
                                # AWS_ACCESS_KEY_ID=…, … (eval "$(assetcron dev up)")
    assetcron dev up --operator # … and install the operator with the Helm chart (needs images)
    assetcron dev images        # build the Dockerfile's images (buildah), load them into the node
    assetcron dev volume -n NS CLAIM  # bind a PersistentVolumeClaim to a directory
    assetcron dev status        # what runs, where
    assetcron dev down          # stop every process it started, remove the node's traces
    assetcron dev install       # only install the Debian packages and build/reuse the binaries

Bad input (not root, packages missing and not installable, a port in use, an unwritable
state directory, Go missing when binaries must be built) is one line on stderr and exit
code 2, with nothing left running.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any

from assetcron_dev.binaries import (
    BinariesError,
    build_binaries,
    cache_bin_dir,
    find_binaries,
    seaweedfs_dir,
)
from assetcron_dev.node import NodeError, install_os_packages
from assetcron_dev.plane import (
    DEFAULT_ETCD_PORT,
    ControlPlane,
    PlaneConfig,
    PlaneError,
    default_state_dir,
)
from assetcron_dev.s3 import S3_PORT

EXIT_BAD_INPUT = 2


def _err(message: str) -> int:
    # Build failures carry go's last output lines after the first line; everything else
    # is exactly one line.
    print(f"assetcron dev: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _plane(args: argparse.Namespace) -> ControlPlane:
    return ControlPlane(
        PlaneConfig(
            state_dir=Path(args.state_dir),
            etcd_port=args.etcd_port,
            node=not args.no_node,
            s3_port=args.s3_port,
        )
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _print_ready(plane: ControlPlane, started: bool, seconds: float) -> None:
    verb = f"started in {seconds:.1f}s" if started else "already running (reused)"
    print(f"assetcron dev: cluster {verb} at {plane.server}", file=sys.stderr)
    print(f"assetcron dev: logs in {plane.log_dir}", file=sys.stderr)
    for name, value in plane.exports().items():
        print(f"export {name}={shlex.quote(value)}")


def _start(args: argparse.Namespace) -> tuple[ControlPlane, bool] | int:
    """Start or reuse the plane; ``(plane, started)``, or exit code 2 after one error line."""
    plane = _plane(args)
    t0 = time.monotonic()
    try:
        started = plane.up(timeout=args.timeout)
        if getattr(args, "operator", False):
            from assetcron_dev.release import install_operator  # noqa: PLC0415 - helm only here

            install_operator(plane, _say)
    except (PlaneError, BinariesError) as e:
        return _err(str(e))
    _print_ready(plane, started, time.monotonic() - t0)
    return plane, started


def cmd_up(args: argparse.Namespace) -> int:
    """Start (or reuse) the plane in the background."""
    result = _start(args)
    return result if isinstance(result, int) else 0


def cmd_foreground(args: argparse.Namespace) -> int:
    """Start the plane, wait for Ctrl-C (or SIGTERM), then stop it."""
    result = _start(args)
    if isinstance(result, int):
        return result
    plane, started = result
    print("assetcron dev: press Ctrl-C to stop", file=sys.stderr)

    def on_term(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    if started:
        stopped = plane.down()
        print(f"assetcron dev: stopped {', '.join(stopped) or 'nothing'}", file=sys.stderr)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """Stop every process the plane in ``--state-dir`` started."""
    plane = _plane(args)
    stopped = plane.down()
    print(
        f"assetcron dev: stopped {', '.join(stopped) or 'nothing (was not running)'}",
        file=sys.stderr,
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the plane's status (JSON with --json); exit 1 when it is not running."""
    plane = _plane(args)
    status: dict[str, Any] = plane.status()
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print(f"state dir:  {status['stateDir']}")
        print(f"server:     {status['server']} ({'ready' if status['ready'] else 'not ready'})")
        print(f"kubeconfig: {status['kubeconfig']}")
        print(f"s3:         {status['s3']}")
        for name, alive in status["components"].items():
            print(f"  {name:<24} {'running' if alive else 'stopped'}")
        if not status["components"]:
            print("  (not running: `assetcron dev up`)")
    return 0 if plane.running() else 1


def cmd_install(_args: argparse.Namespace) -> int:
    """Install the Debian packages the node needs and build (or reuse) the binaries."""
    try:
        install_os_packages(_say)
    except NodeError as e:
        return _err(str(e))
    found = find_binaries()
    t0 = time.monotonic()
    if found is None:
        try:
            found, timings = build_binaries(_say)
        except BinariesError as e:
            return _err(str(e))
        _say(
            f"assetcron dev: built in {time.monotonic() - t0:.0f}s "
            + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items())
        )
    else:
        _say(f"assetcron dev: reusing cached binaries ({time.monotonic() - t0:.2f}s)")
    for name in (
        "etcd",
        "kube_apiserver",
        "kube_controller_manager",
        "kube_scheduler",
        "kubelet",
        "kubectl",
        "helm",
        "weed",
    ):
        print(f"{name.replace('_', '-')}: {getattr(found, name)}")
    _say(f"cache: {cache_bin_dir()}, {seaweedfs_dir()}")
    return 0


def cmd_volume(args: argparse.Namespace) -> int:
    """Bind a PersistentVolumeClaim to a directory of the dev cluster; print the directory."""
    plane = _plane(args)
    if not plane.running():
        return _err("the dev cluster is not running: `assetcron dev up` first")
    try:
        path = plane.provide_volume(args.namespace, args.claim)
    except PlaneError as e:
        return _err(str(e))
    print(path)
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    """Build the Dockerfile's images with buildah; load them into the node when it runs."""
    from assetcron_dev import images  # noqa: PLC0415 - buildah only here

    t0 = time.monotonic()
    try:
        timings = images.build_images(Path(args.context), _say)
    except images.ImagesError as e:
        return _err(str(e))
    _say(
        f"assetcron dev: images built in {time.monotonic() - t0:.0f}s ("
        + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        + ")"
    )
    plane = _plane(args)
    if plane.running():
        try:
            loaded = plane.load_images(_say)
        except PlaneError as e:
            return _err(str(e))
        _say(f"assetcron dev: loaded into the node: {', '.join(loaded)}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--state-dir",
        default=str(default_state_dir()),
        help="state directory (default: %(default)s)",
    )
    p.add_argument(
        "--etcd-port", type=int, default=DEFAULT_ETCD_PORT, help="etcd client port (peer: +1)"
    )
    p.add_argument(
        "--s3-port",
        type=int,
        default=S3_PORT,
        help="the S3 endpoint's port on the node's address (default: %(default)s)",
    )
    p.add_argument(
        "--no-node",
        action="store_true",
        help="serve the API only: no containerd or kubelet (pods stay Pending)",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``assetcron dev`` to the ``assetcron`` CLI (the ``assetcron.cli`` entry point)."""
    dev = sub.add_parser(
        "dev",
        help="a local Kubernetes control plane with the operator (development)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(dev)
    dev.set_defaults(func=cmd_foreground)
    dsub = dev.add_subparsers(dest="dev_command", metavar="ACTION")
    for name, func, help_ in (
        ("up", cmd_up, "start in the background (idempotent); print export KUBECONFIG=... AWS_..."),
        ("down", cmd_down, "stop every process `up` started and remove the node's traces"),
        ("status", cmd_status, "show what runs (exit 1 when not running)"),
        ("install", cmd_install, "install the Debian packages, build or reuse the binaries"),
        ("images", cmd_images, "build the images with buildah and load them into the node"),
        ("volume", cmd_volume, "bind a PersistentVolumeClaim to a directory (no provisioner)"),
    ):
        p = dsub.add_parser(name, help=help_)
        _common(p)
        if name == "status":
            p.add_argument("--json", action="store_true")
        if name == "up":
            p.add_argument(
                "--operator",
                action="store_true",
                help="install the operator with the Helm chart (release assetcron in "
                "assetcron-system) from the image `assetcron dev images` built",
            )
        if name == "images":
            p.add_argument(
                "--context", default=".", help="the Dockerfile's directory (default: %(default)s)"
            )
        if name == "volume":
            p.add_argument("claim", help="the PersistentVolumeClaim's name")
            p.add_argument("-n", "--namespace", required=True, help="the claim's namespace")
        p.set_defaults(func=func)
