"""The dev plane's S3 endpoint, its pure parts: the request signing, the files and the
command line of SeaweedFS, and the build module of ``weed``.

That SeaweedFS serves what these set up is tested on the real plane
(``tests/integration/test_s3.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

from assetcron_dev.binaries import SEAWEEDFS_VERSION, weed_build_module_text
from assetcron_dev.s3 import BUCKET, S3_PORT, S3Settings, SeaweedFS, WeedPorts, sigv4_headers


def test_sigv4_matches_the_aws_documentation_example() -> None:
    # "Example: GET Object" of the S3 API reference (Signature Version 4, header auth).
    settings = S3Settings(
        "https://examplebucket.s3.amazonaws.com",
        "examplebucket",
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    headers = sigv4_headers(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        settings,
        dt.datetime(2013, 5, 24, tzinfo=dt.UTC),
        {"Range": "bytes=0-9"},
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert headers["x-amz-date"] == "20130524T000000Z"
    assert headers["Range"] == "bytes=0-9"


def test_credentials_are_generated_once_private_and_kept(tmp_path: Path) -> None:
    weed = SeaweedFS(tmp_path, "10.244.42.1")
    assert weed.settings() is None
    first = weed.prepare()
    assert first == SeaweedFS(tmp_path, "10.244.42.1").prepare()  # a later `up` keeps them
    assert first.endpoint == f"http://10.244.42.1:{S3_PORT}"
    assert first.bucket == BUCKET
    assert len(first.access_key_id) == 20
    assert len(first.secret_access_key) == 40
    for f in (weed.credentials_file, weed.dir / "identities.json"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    (identity,) = json.loads((weed.dir / "identities.json").read_text())["identities"]
    assert identity["credentials"] == [
        {"accessKey": first.access_key_id, "secretKey": first.secret_access_key}
    ]
    assert "Admin" in identity["actions"]
    # Another plane has other credentials.
    assert SeaweedFS(tmp_path / "other", "10.244.43.1").prepare() != first


def test_settings_env_is_what_obstore_reads() -> None:
    env = S3Settings("http://10.244.42.1:8333", "assetcron", "AK", "SK").env()
    assert env == {
        "AWS_ENDPOINT_URL": "http://10.244.42.1:8333",
        "AWS_ACCESS_KEY_ID": "AK",
        "AWS_SECRET_ACCESS_KEY": "SK",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "ASSETCRON_S3_BUCKET": "assetcron",
    }


def test_only_s3_listens_on_the_node_and_tmp_is_private(tmp_path: Path) -> None:
    weed = SeaweedFS(tmp_path, "10.244.42.1", 9000)
    argv = weed.argv(Path("/cache/weed"), WeedPorts(9000, 40001, 1, 2, 3, 4, 5, 6))
    flags = dict(a.lstrip("-").split("=", 1) for a in argv if a.startswith("-") and "=" in a)
    # Pods reach the S3 gateway on the node's address; the master, volume server and
    # filer (no authentication) listen on loopback only.
    assert flags["s3.ip.bind"] == "10.244.42.1"
    assert (flags["s3.port"], flags["s3.port.grpc"]) == ("9000", "40001")
    assert flags["ip"] == flags["ip.bind"] == "127.0.0.1"
    assert flags["s3.config"] == str(tmp_path / "s3" / "identities.json")
    assert flags["dir"] == str(tmp_path / "s3" / "data")
    # Nothing leaves the machine; no extra listeners.
    assert flags["master.telemetry"] == "false"
    assert flags["s3.port.iceberg"] == flags["s3.port.lance"] == "0"
    # Its hard-coded /tmp sockets go to the state directory, in its own mount namespace.
    assert argv[:4] == ["unshare", "--mount", "--propagation", "private"]
    assert argv[argv.index("/cache/weed") - 1] == str(tmp_path)


GO_MOD = """module github.com/seaweedfs/seaweedfs

go 1.26.6

require (
\tcloud.google.com/go v0.123.0 // indirect
)

// replace github.com/seaweedfs/raft => /Users/someone/go/src/github.com/seaweedfs/raft

replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0
"""


def test_weed_build_module_repeats_the_version_replaces() -> None:
    text = weed_build_module_text(GO_MOD)
    assert text == (
        "module assetcron.dev/seaweedfs-build\n\n"
        "go 1.26.6\n\n"
        f"require github.com/seaweedfs/seaweedfs {SEAWEEDFS_VERSION}\n\n"
        "replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0\n"
    )


def test_weed_build_module_reads_replace_blocks_and_skips_local_paths() -> None:
    text = weed_build_module_text(
        "module x\n\ngo 1.25.0\n\nreplace (\n"
        "\ta.example/one v1.0.0 => b.example/one v1.2.0\n"
        "\ta.example/two => ../two\n"
        ")\n"
    )
    replaces = [line for line in text.splitlines() if line.startswith("replace")]
    assert replaces == ["replace a.example/one v1.0.0 => b.example/one v1.2.0"]
    assert "\ngo 1.26.0\n" in text  # never below what the other build modules declare
