"""The dev plane's S3 endpoint: SeaweedFS (``weed server -s3``), on the node's address.

One ``weed server`` process runs a master, a volume server, a filer and the S3 gateway
(the lightest SeaweedFS mode with the S3 API: ``weed mini`` adds an admin UI, workers,
WebDAV and an options file of its own). Its data lives in ``<state>/s3/data`` and outlives
``down``, like etcd's.

Addresses. The S3 gateway listens on the node's address ``10.244.<N>.1`` (port
:data:`S3_PORT`), the bridge address that is the pods' gateway: pods on the bridge reach
it directly (their own subnet, no route or rule needed) and so does the host. Each plane
has its own bridge and address, so two planes use the same port side by side. The
master, volume server and filer listen on 127.0.0.1 at ports picked free at each ``up``
(pods never reach them, so the filer's unauthenticated API is not theirs); the S3
gateway's gRPC port, bound with its HTTP one, is a free port on the node's address.

``weed server`` registers a Unix socket per gRPC port under a hard-coded ``/tmp`` (and
removes whatever file is there first). It therefore runs in a private mount namespace
(``unshare --mount``) where ``<state>/s3/tmp`` is mounted on ``/tmp``: its sockets stay in
the state directory, never meet another plane's, and the mounts vanish with the process.

Credentials. At the first ``up`` a random access key and secret are written to
``<state>/s3/credentials.json`` (mode 0600) and kept; ``identities.json`` (``-s3.config``,
SeaweedFS's static identities) gives that key every S3 action. Anonymous requests are
refused. The bucket :data:`BUCKET` is created by a SigV4-signed ``PUT /<bucket>`` (plain
S3, the one request obstore cannot make) once the gateway answers, unless a signed
``HEAD`` finds it (a later ``up``: SeaweedFS answers a second ``PUT`` with 409
``BucketAlreadyExists``, its bucket having no owner).

Telemetry (on by default in SeaweedFS), the Iceberg and Lance catalog ports and the
embedded IAM API are switched off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obstore.store import from_url

#: The S3 gateway's port on the node's address (SeaweedFS's default).
S3_PORT = 8333
#: The bucket ``up`` creates.
BUCKET = "assetcron"
#: The region clients sign for (SeaweedFS accepts any; this is the SDKs' default).
REGION = "us-east-1"
#: The identity the generated key belongs to (``identities.json``).
IDENTITY = "assetcron-dev"

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

#: Runs in weed's own mount namespace (``unshare --mount --propagation private``, so no
#: mount reaches the host), with the state directory as ``$0`` and as the working
#: directory: mounts ``<state>/s3/tmp`` on ``/tmp``, then, when that hid the state
#: directory itself (one under ``/tmp``, as pytest's are), binds it back at its path from
#: the working directory, which still holds it (``--no-canonicalize``: its path no longer
#: resolves). Then execs weed.
_NAMESPACE_SCRIPT = """set -e
mount --bind "$0/s3/tmp" /tmp
if [ ! -d "$0/s3" ]; then
  mkdir -p "$0"
  mount --no-canonicalize --bind . "$0"
fi
exec "$@"
"""


@dataclass(frozen=True)
class S3Settings:
    """Where and how clients reach the plane's S3 endpoint."""

    endpoint: str  #: ``http://10.244.<N>.1:8333``
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str = REGION

    @property
    def url(self) -> str:
        """The bucket as a storage URI (``s3://assetcron``)."""
        return f"s3://{self.bucket}"

    def env(self) -> dict[str, str]:
        """The standard AWS variables (obstore's ``S3Store`` reads them) and the bucket.

        ``AWS_ALLOW_HTTP`` because the endpoint is plain HTTP, which obstore (Rust's
        object_store) refuses otherwise.
        """
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
            "AWS_ALLOW_HTTP": "true",
            "ASSETCRON_S3_BUCKET": self.bucket,
        }

    def store(self, url: str | None = None) -> Any:
        """An obstore ``S3Store`` for ``url`` (default: the bucket), configured from these
        settings rather than the environment (for the host: the demo, tests)."""
        return from_url(
            url or self.url,
            config={
                "endpoint": self.endpoint,
                "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
                "region": self.region,
            },
            client_options={"allow_http": True},
        )


@dataclass(frozen=True)
class WeedPorts:
    """The ports of one ``weed server`` run (S3 on the node's address, the rest loopback)."""

    s3: int
    s3_grpc: int
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int


def _free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct free TCP ports on ``host`` (held open together while picked)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be listened on (no wildcard or exact listener holds it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class SeaweedFS:
    """Files, argv and requests of one plane's SeaweedFS; the plane starts the process.

    Args:
        state_dir: the plane's state directory (SeaweedFS uses ``<state_dir>/s3``).
        node_ip: the node's address, where the S3 gateway listens.
        port: the S3 gateway's port.
    """

    def __init__(self, state_dir: Path, node_ip: str, port: int = S3_PORT) -> None:
        self.state_dir = state_dir
        self.dir = state_dir / "s3"
        self.node_ip = node_ip
        self.port = port

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL (plain HTTP)."""
        return f"http://{self.node_ip}:{self.port}"

    @property
    def credentials_file(self) -> Path:
        """``{"accessKeyId", "secretAccessKey"}``, generated once (mode 0600)."""
        return self.dir / "credentials.json"

    def credentials(self) -> tuple[str, str] | None:
        """The access key and secret, or None before the first ``up``."""
        try:
            data = json.loads(self.credentials_file.read_text())
            return str(data["accessKeyId"]), str(data["secretAccessKey"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def settings(self) -> S3Settings | None:
        """The clients' settings, or None before the first ``up`` made credentials."""
        creds = self.credentials()
        if creds is None:
            return None
        return S3Settings(self.endpoint, BUCKET, *creds)

    def prepare(self) -> S3Settings:
        """Create the directories, the credentials (first time only) and the identities
        file; return the settings. ``tmp`` (weed's ``/tmp``) starts empty: the sockets of
        an earlier run are named after its ports."""
        shutil.rmtree(self.dir / "tmp", ignore_errors=True)
        for sub in ("data", "tmp"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        if self.credentials() is None:
            creds = {
                # The shapes AWS uses: 20 upper-case characters, 40 characters.
                "accessKeyId": "AC" + secrets.token_hex(9).upper(),
                "secretAccessKey": secrets.token_urlsafe(30),
            }
            _write_private(self.credentials_file, json.dumps(creds, indent=2) + "\n")
        settings = self.settings()
        assert settings is not None  # just written
        identities = {
            "identities": [
                {
                    "name": IDENTITY,
                    "credentials": [
                        {
                            "accessKey": settings.access_key_id,
                            "secretKey": settings.secret_access_key,
                        }
                    ],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        _write_private(self.dir / "identities.json", json.dumps(identities, indent=2) + "\n")
        return settings

    def pick_ports(self) -> WeedPorts:
        """The S3 port, and free ports for the rest (loopback; S3 gRPC on the node)."""
        (s3_grpc,) = _free_ports(self.node_ip, 1)
        master, master_grpc, volume, volume_grpc, filer, filer_grpc = _free_ports("127.0.0.1", 6)
        return WeedPorts(
            self.port, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc
        )

    def argv(self, weed: Path, ports: WeedPorts) -> list[str]:
        """``weed server -filer -s3`` in its own mount namespace with a private ``/tmp``;
        to be run in the state directory (the plane's processes are)."""
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            _NAMESPACE_SCRIPT,
            str(self.state_dir),
            str(weed),
            # Logs go to stderr, the plane's logs/seaweedfs.log (not to files in /tmp).
            "-logtostderr=true",
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.dir / 'data'}",
            f"-master.port={ports.master}",
            f"-master.port.grpc={ports.master_grpc}",
            "-master.telemetry=false",
            # Small volumes (SeaweedFS's default is 30 GB each), as many as the disk holds.
            "-master.volumeSizeLimitMB=128",
            "-volume.max=0",
            f"-volume.port={ports.volume}",
            f"-volume.port.grpc={ports.volume_grpc}",
            # Stop at once on SIGTERM (the default waits 10 s after the last heartbeat).
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={ports.filer}",
            f"-filer.port.grpc={ports.filer_grpc}",
            "-s3",
            f"-s3.ip.bind={self.node_ip}",
            f"-s3.port={ports.s3}",
            f"-s3.port.grpc={ports.s3_grpc}",
            f"-s3.config={self.dir / 'identities.json'}",
            "-s3.iam=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def healthy(self) -> bool:
        """True when the S3 gateway answers ``/healthz``."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}/healthz", timeout=2) as r:  # noqa: S310 - our own http endpoint
                return bool(r.status == 200)
        except (OSError, ValueError):
            return False

    def create_bucket(self) -> bool:
        """Make sure the bucket exists: ``HEAD /<bucket>``, else ``PUT /<bucket>``. True
        once it exists (made now or by an earlier ``up``).

        False while SeaweedFS is still starting (the gateway answers before the filer
        and the master are ready), so callers poll it.
        """
        return self._request("HEAD") == 200 or self._request("PUT") == 200

    def _request(self, method: str) -> int:
        """A signed request with an empty body for the bucket; its status (0: no answer)."""
        settings = self.settings()
        if settings is None:
            return 0
        url = f"{self.endpoint}/{BUCKET}"
        headers = sigv4_headers(method, url, settings, dt.datetime.now(dt.UTC))
        req = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - our own http endpoint
                return int(r.status)
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return 0


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(text)
    tmp.replace(path)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_headers(
    method: str,
    url: str,
    settings: S3Settings,
    now: dt.datetime,
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """The headers of an AWS Signature Version 4 request to S3 with an empty body.

    ``headers`` are extra headers to sign (e.g. ``Range``). Returns them with ``Host``,
    ``x-amz-date``, ``x-amz-content-sha256`` and ``Authorization`` added. The URL's path
    must already be URI-encoded as S3 expects and its query (if any) sorted.
    """
    parts = urllib.parse.urlsplit(url)
    amz_date = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {k.lower(): " ".join(v.split()) for k, v in (headers or {}).items()}
    signed |= {
        "host": parts.netloc,
        "x-amz-content-sha256": _EMPTY_SHA256,
        "x-amz-date": amz_date,
    }
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            parts.query,
            *(f"{n}:{signed[n]}" for n in names),
            "",
            ";".join(names),
            _EMPTY_SHA256,
        ]
    )
    scope = f"{day}/{settings.region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + settings.secret_access_key).encode(), day)
    for part in (settings.region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = dict(headers or {})
    out |= {
        "Host": parts.netloc,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": _EMPTY_SHA256,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={settings.access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        ),
    }
    return out
