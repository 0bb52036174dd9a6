"""``assetcron dev``: a one-machine Kubernetes control plane for assetcron (like ``dagster dev``).

::

    assetcron dev               # foreground: start everything, stop on Ctrl-C
    assetcron dev up            # start in the background (idempotent), print export KUBECONFIG=…
    assetcron dev status        # what runs, where
    assetcron dev down          # stop every process it started
    assetcron dev install       # only build/reuse the Kubernetes binaries

Bad input (a port in use, an unwritable state directory, Go missing when binaries must
be built) is one line on stderr and exit code 2, with nothing left running.
"""

from __future__ import annotations

import argparse
import json
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
)
from assetcron_dev.plane import (
    DEFAULT_APISERVER_PORT,
    DEFAULT_ETCD_PORT,
    ControlPlane,
    PlaneConfig,
    PlaneError,
    default_state_dir,
)

EXIT_BAD_INPUT = 2


def _err(message: str) -> int:
    # Build failures carry go's last output lines after the first line; everything else
    # is exactly one line.
    print(f"assetcron dev: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _plane(args: argparse.Namespace) -> ControlPlane:
    code_paths = [Path(p) for p in (args.code_path or [])]
    if not code_paths and Path("examples").is_dir():
        code_paths = [Path("examples")]
    operator_env = {}
    if args.watch_namespaces is not None:
        operator_env["ASSETCRON_WATCH_NAMESPACES"] = args.watch_namespaces
    return ControlPlane(
        PlaneConfig(
            state_dir=Path(args.state_dir),
            apiserver_port=args.port,
            etcd_port=args.etcd_port,
            executor=not args.no_executor,
            operator=not args.no_operator,
            image_pattern=args.image_pattern,
            code_paths=code_paths,
            operator_env=operator_env,
        )
    )


def _print_ready(plane: ControlPlane, started: bool, seconds: float) -> None:
    verb = f"started in {seconds:.1f}s" if started else "already running (reused)"
    print(f"assetcron dev: control plane {verb} at {plane.server}", file=sys.stderr)
    print(f"assetcron dev: logs in {plane.log_dir}", file=sys.stderr)
    print(f"export KUBECONFIG={plane.kubeconfig}")


def _start(args: argparse.Namespace) -> tuple[ControlPlane, bool] | int:
    """Start or reuse the plane; ``(plane, started)``, or exit code 2 after one error line."""
    plane = _plane(args)
    t0 = time.monotonic()
    try:
        started = plane.up(timeout=args.timeout)
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
        for name, alive in status["components"].items():
            print(f"  {name:<24} {'running' if alive else 'stopped'}")
        if not status["components"]:
            print("  (not running: `assetcron dev up`)")
    return 0 if plane.running() else 1


def cmd_install(_args: argparse.Namespace) -> int:
    """Build (or reuse) the pinned Kubernetes binaries and print where they are."""
    found = find_binaries()
    t0 = time.monotonic()
    if found is None:
        try:
            found, timings = build_binaries(lambda m: print(m, file=sys.stderr))
        except BinariesError as e:
            return _err(str(e))
        print(
            f"assetcron dev: built in {time.monotonic() - t0:.0f}s "
            + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()),
            file=sys.stderr,
        )
    else:
        print(
            f"assetcron dev: reusing cached binaries ({time.monotonic() - t0:.2f}s)",
            file=sys.stderr,
        )
    for name in (
        "etcd",
        "kube_apiserver",
        "kube_controller_manager",
        "kube_scheduler",
        "kubelet",
        "kubectl",
        "helm",
    ):
        print(f"{name.replace('_', '-')}: {getattr(found, name)}")
    print(f"cache: {cache_bin_dir()}", file=sys.stderr)
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--state-dir",
        default=str(default_state_dir()),
        help="state directory (default: %(default)s)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_APISERVER_PORT,
        help="kube-apiserver secure port on 127.0.0.1",
    )
    p.add_argument(
        "--etcd-port", type=int, default=DEFAULT_ETCD_PORT, help="etcd client port (peer: +1)"
    )
    p.add_argument("--no-operator", action="store_true", help="do not start the assetcron operator")
    p.add_argument("--no-executor", action="store_true", help="do not start the local pod executor")
    p.add_argument(
        "--image-pattern", default="*assetcron*", help="images the local executor runs (fnmatch)"
    )
    p.add_argument(
        "--code-path",
        action="append",
        metavar="DIR",
        help="directory on pods' PYTHONPATH, standing in for the image's code "
        "(default: ./examples if present)",
    )
    p.add_argument(
        "--watch-namespaces",
        default=None,
        help="namespaces the operator watches (comma-separated; default all)",
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
        ("up", cmd_up, "start in the background (idempotent) and print export KUBECONFIG=..."),
        ("down", cmd_down, "stop every process `up` started"),
        ("status", cmd_status, "show what runs (exit 1 when not running)"),
        ("install", cmd_install, "build or reuse the Kubernetes binaries"),
    ):
        p = dsub.add_parser(name, help=help_)
        _common(p)
        if name == "status":
            p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)
