"""The operator in the dev cluster: the Helm chart installed from the working tree.

``make demo`` and ``assetcron dev up --operator`` install ``charts/assetcron`` as release
``assetcron`` in namespace ``assetcron-system`` with the chart's default values, so the
operator runs as its Deployment from the image ``make images`` built and loaded, with the
chart's ServiceAccount, RBAC, probes, security context and limits: exactly what
``helm install`` does on any other cluster.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from assetcron_dev.plane import ControlPlane, PlaneError

#: The repository's chart (this tool runs from a checkout).
CHART = Path(__file__).resolve().parents[2] / "charts" / "assetcron"
RELEASE = "assetcron"
NAMESPACE = "assetcron-system"


def install_operator(
    plane: ControlPlane,
    log: Callable[[str], None],
    *,
    values: tuple[str, ...] = (),
    timeout: float = 180.0,
) -> dict[str, object]:
    """``helm upgrade --install`` the chart and wait until its Deployment is Available.

    ``values`` are extra ``--set`` arguments (``key=value``). The CRDs the plane applied
    are adopted by the release (``--take-ownership``). Returns the Deployment (JSON).

    Raises:
        PlaneError: the chart is missing, helm failed, or the Deployment did not become
            Available within ``timeout`` seconds (the message names the pod's state, e.g.
            ``ErrImageNeverPull`` when the image was not built: ``make images``).
    """
    if not (CHART / "Chart.yaml").exists():
        raise PlaneError(f"the Helm chart is not at {CHART}: run from an assetcron checkout")
    helm = str(plane.binaries.helm)
    args = [
        helm, "upgrade", "--install", RELEASE, str(CHART), "-n", NAMESPACE,
        "--create-namespace", "--take-ownership", f"--kubeconfig={plane.kubeconfig}",
    ]  # fmt: skip
    for v in values:
        args += ["--set", v]
    proc = subprocess.run(args, capture_output=True, text=True, check=False, env=plane.env())
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PlaneError(f"helm install failed: {last}")
    log(f"assetcron dev: helm release {RELEASE} installed in {NAMESPACE}; waiting for the operator")
    wait = plane.kubectl(
        "rollout", "status", f"deployment/{RELEASE}", "-n", NAMESPACE, f"--timeout={timeout:.0f}s",
        check=False,
    )  # fmt: skip
    if wait.returncode != 0:
        pods = plane.kubectl(
            "get", "pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/instance={RELEASE}",
            "-o", "json",
        ).stdout  # fmt: skip
        states = []
        for pod in json.loads(pods).get("items", []):
            for status in pod.get("status", {}).get("containerStatuses", []):
                state: dict[str, dict[str, str]] = status.get("state") or {}
                reason = next(iter(state.values()), {}).get("reason", "?")
                states.append(f"{status.get('name')}: {reason}")
        raise PlaneError(
            f"the operator Deployment is not Available after {timeout:.0f}s "
            f"({'; '.join(states) or 'no pod'}); is the image built and loaded (`make images`)?"
        )
    deploy: dict[str, object] = json.loads(
        plane.kubectl("get", "deployment", RELEASE, "-n", NAMESPACE, "-o", "json").stdout
    )
    return deploy
