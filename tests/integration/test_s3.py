"""The dev plane's S3 endpoint (SeaweedFS) serves what the runner's storage needs, to the
host and to pods: put, get, list, and a create that refuses an existing key (the runner's
lock per partition rests on it), with the credentials ``assetcron dev up`` exports.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import obstore
import pytest
from obstore.exceptions import AlreadyExistsError
from obstore.store import S3Store, from_url

from tests.conftest import PlaneHandle, poll

pytestmark = pytest.mark.controlplane

IMAGE = "ghcr.io/assetcron/assetcron:0.1.0"


@pytest.fixture
def store(plane_s3: Any, monkeypatch: pytest.MonkeyPatch) -> S3Store:
    """A store built the way a user's shell builds one: from the exported variables."""
    for name, value in plane_s3.env().items():
        monkeypatch.setenv(name, value)
    s = from_url(f"s3://{plane_s3.bucket}")
    assert isinstance(s, S3Store)
    return s


@pytest.fixture
def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def test_put_get_list_and_create_refuses_an_existing_key(store: S3Store, prefix: str) -> None:
    obstore.put(store, f"{prefix}/a/one.json", b'{"n": 1}')
    obstore.put(store, f"{prefix}/a/two.json", b'{"n": 2}')
    assert obstore.get(store, f"{prefix}/a/one.json").bytes().to_bytes() == b'{"n": 1}'

    listed = [m["path"] for batch in obstore.list(store, prefix=f"{prefix}/a") for m in batch]
    assert sorted(listed) == [f"{prefix}/a/one.json", f"{prefix}/a/two.json"]

    # mode="create" is a PUT with If-None-Match: *; the second writer loses, the first
    # writer's object stays.
    obstore.put(store, f"{prefix}/lock", b"first", mode="create")
    with pytest.raises(AlreadyExistsError):
        obstore.put(store, f"{prefix}/lock", b"second", mode="create")
    assert obstore.get(store, f"{prefix}/lock").bytes().to_bytes() == b"first"

    obstore.delete(store, f"{prefix}/lock")
    obstore.put(store, f"{prefix}/lock", b"third", mode="create")  # free again once deleted


def test_requests_without_the_credentials_are_refused(plane_s3: Any, prefix: str) -> None:
    anonymous = S3Store(
        plane_s3.bucket,
        endpoint=plane_s3.endpoint,
        region=plane_s3.region,
        skip_signature=True,
        client_options={"allow_http": True},
    )
    with pytest.raises(obstore.exceptions.BaseError):
        obstore.put(anonymous, f"{prefix}/x", b"x")
    wrong = S3Store(
        plane_s3.bucket,
        endpoint=plane_s3.endpoint,
        region=plane_s3.region,
        access_key_id=plane_s3.access_key_id,
        secret_access_key="not-the-secret",
        client_options={"allow_http": True},
    )
    with pytest.raises(obstore.exceptions.BaseError):
        obstore.put(wrong, f"{prefix}/x", b"x")


# The pod's program: the runtime image has no S3 client, so the host hands it presigned
# URLs (the same signature scheme, in the query) and it uses urllib.
POD_PROGRAM = """
import json, os, urllib.request, urllib.error
def call(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
report = {
    "get": call("GET", os.environ["GET_URL"]),
    "put": call("PUT", os.environ["PUT_URL"], b"from the pod", {"If-None-Match": "*"}),
    "put_again": call("PUT", os.environ["PUT_URL"], b"again", {"If-None-Match": "*"}),
}
open("/dev/termination-log", "w").write(json.dumps(report))
"""


@pytest.fixture
def namespace(control_plane: PlaneHandle) -> Iterator[str]:
    ns = f"t-{uuid.uuid4().hex[:8]}"
    control_plane.kubectl("create", "namespace", ns)
    control_plane.kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    poll(
        lambda: (
            control_plane.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0
        ),
        60,
        "the default ServiceAccount",
    )
    yield ns
    control_plane.kubectl("delete", "namespace", ns, "--wait=false")


def test_a_pod_on_the_node_reaches_the_endpoint(
    control_plane: PlaneHandle, namespace: str, store: S3Store, prefix: str, plane_s3: Any
) -> None:
    assert plane_s3.endpoint == f"http://{control_plane.plane.network.node_ip}:8333"
    obstore.put(store, f"{prefix}/from-host", b"from the host")
    get_url = obstore.sign(store, "GET", f"{prefix}/from-host", timedelta(minutes=10))
    put_url = obstore.sign(store, "PUT", f"{prefix}/from-pod", timedelta(minutes=10))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "s3-client", "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": IMAGE,
                    "command": ["python", "-c", POD_PROGRAM],
                    "env": [
                        {"name": "GET_URL", "value": get_url},
                        {"name": "PUT_URL", "value": put_url},
                    ],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                }
            ],
        },
    }
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(pod))

    def finished() -> dict[str, Any] | None:
        p = json.loads(
            control_plane.kubectl("get", "pod", "s3-client", "-n", namespace, "-o", "json").stdout
        )
        return p if p["status"].get("phase") in ("Succeeded", "Failed") else None

    done = poll(finished, 120, "the pod to finish")
    terminated = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0, terminated
    report = json.loads(terminated["message"])
    assert report["get"] == [200, "from the host"]
    assert report["put"][0] == 200
    assert report["put_again"][0] == 412  # If-None-Match: * on an existing key
    assert obstore.get(store, f"{prefix}/from-pod").bytes().to_bytes() == b"from the pod"
