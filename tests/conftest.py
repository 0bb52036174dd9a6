"""Shared fixtures. ``control_plane`` starts the real local cluster once per session.

It runs real etcd, kube-apiserver, kube-controller-manager and kube-scheduler and a real
node (containerd + runc + kubelet) with the images ``make images`` built loaded into it,
in a temporary state directory with its own bridge and addresses, and stops every
process and removes the node's traces at the end. The operator is not started here:
tests that need it start their own (a process scoped to their namespaces, or the chart's
Deployment). ``plane_s3`` is that cluster's S3 endpoint (SeaweedFS on the node's address,
which pods reach too): endpoint, bucket, credentials, and ``.env()`` for obstore.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from assetcron_dev.s3 import S3Settings

ROOT = Path(__file__).resolve().parents[1]

T = TypeVar("T")


def poll(fn: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5) -> T:
    """Call ``fn`` until it returns something truthy and return that; fail the test
    naming ``what`` after ``timeout`` seconds. Tests poll with a deadline, never sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl call whose message includes kubectl's stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.stderr}"


@dataclass
class PlaneHandle:
    """What tests get from ``control_plane``."""

    plane: Any  # assetcron_dev.plane.ControlPlane
    kubeconfig: Path
    bin_dir: Path
    env: dict[str, str]
    state_dir: Path

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against the plane; raises CalledProcessError when ``check`` fails."""
        proc = subprocess.run(
            [str(self.bin_dir / "kubectl"), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        )
        if check and proc.returncode != 0:
            raise KubectlError(proc.returncode, proc.args, proc.stdout, proc.stderr)
        return proc

    def api_client(self) -> Any:
        """A fresh ``kubernetes.client.ApiClient`` for the plane (admin credentials)."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))


@pytest.fixture(scope="session")
def plane_s3(control_plane: PlaneHandle) -> S3Settings:
    """The session cluster's S3 settings (:class:`assetcron_dev.s3.S3Settings`): ``endpoint``
    (``http://<node ip>:8333``), ``bucket``, ``access_key_id``, ``secret_access_key``,
    ``region``, ``url`` (``s3://<bucket>``) and ``env()`` (the ``AWS_*`` variables that
    ``assetcron dev up`` exports, with ``ASSETCRON_S3_BUCKET``)."""
    return control_plane.plane.s3


@pytest.fixture
def s3_storage(plane_s3: S3Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh storage URL ``s3://<bucket>/<unique prefix>`` on the dev plane's S3 server,
    with its ``AWS_*`` variables set in ``os.environ`` (undone after the test), as a run
    pod or a user who ran ``eval "$(assetcron dev up)"`` has them."""
    for name, value in plane_s3.env().items():
        monkeypatch.setenv(name, value)
    return f"{plane_s3.url}/test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaneHandle]:
    """The real local cluster with its node, for the whole session."""
    from assetcron_dev.binaries import ensure_binaries
    from assetcron_dev.plane import ControlPlane, PlaneConfig, free_port_pair

    binaries = ensure_binaries()
    state = tmp_path_factory.mktemp("plane")
    plane = ControlPlane(PlaneConfig(state_dir=state, etcd_port=free_port_pair()), binaries)
    plane.up(timeout=180)
    env = plane.env()
    try:
        yield PlaneHandle(plane, plane.kubeconfig, binaries.kubectl.parent, env, state)
    finally:
        plane.down()
