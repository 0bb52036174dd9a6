"""Every exit is clean when the storage fails: a full disk, a read-only mount and a
corrupt record give one line naming the path and what to do, leave no staging file or
lock behind, and the next run after the cause is fixed works without hand edits.

The full disk and the read-only mount are real: a small tmpfs mounted in a private mount
namespace (``unshare --mount``, as root), so nothing outlives the test.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ASSETCRON = str(Path(sys.executable).parent / "assetcron")
MAT = ["asset", "materialize", "--select", "*", "--scheduled-time", "2015-06-02T06:00:00Z"]

LOCATION = """
import os
from assetcron import Definitions, asset


@asset
def small() -> int:
    return 1


@asset(deps=[small])
def big() -> bytes:
    return os.urandom(1024 * 1024)  # 1 MiB that no file system compresses


@asset(deps=[big])
def after() -> int:
    return 2


defs = Definitions(assets=[small, big, after])
"""


def in_private_tmpfs(tmp_path: Path, script: str) -> str:
    """Run ``script`` (sh) in a private mount namespace, with ``$M`` a directory to mount
    a tmpfs on and ``run [ARGS]`` the materialize command; returns stdout+stderr."""
    assert shutil.which("unshare"), "util-linux's unshare is needed (apt-get install util-linux)"
    loc = tmp_path / "loc.py"
    loc.write_text(textwrap.dedent(LOCATION))
    mount = tmp_path / "mnt"
    mount.mkdir()
    run = shlex.join([ASSETCRON, *MAT, "-f", str(loc), "--storage", str(mount / "store")])
    env = {"PATH": os.environ["PATH"], "M": str(mount), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f'run() {{ {run} "$@"; }}\n{script}',
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


LEFT_BEHIND = (
    "find \"$M\" \\( -name '*#*' -o -name '*.lock' -o -name '*.stale' \\) -printf 'LEFTOVER %p\\n'"
)


def test_a_full_disk_fails_the_asset_with_one_line_and_the_next_run_resumes(
    tmp_path: Path,
) -> None:
    out = in_private_tmpfs(
        tmp_path,
        f"""
        mount -t tmpfs -o size=256k tmpfs "$M"
        run; echo "rc=$?"
        {LEFT_BEHIND}
        mount -o remount,size=8m "$M"
        run; echo "rc=$?"
        {LEFT_BEHIND}
        """,
    )
    assert "Traceback" not in out
    assert [line for line in out.splitlines() if line.startswith("rc=")] == ["rc=1", "rc=0"]
    (failed,) = [line for line in out.splitlines() if "big ... FAILED" in line]
    assert "no space left on the storage volume; free space or enlarge it, then re-run" in failed
    assert "/store/assets/big/__unpartitioned__.pickle" in failed
    assert "after ... skipped (upstream 'big' did not materialize)" in out
    assert "LEFTOVER " not in out  # no staging file, no lock
    # After the volume grew, the same run resumes: small is reused, big and after run.
    assert "small ... reused" in out
    assert "Succeeded: 2 materialized, 1 reused" in out


def test_a_read_only_storage_is_bad_input_until_it_is_writable_again(tmp_path: Path) -> None:
    out = in_private_tmpfs(
        tmp_path,
        """
        mount -t tmpfs -o size=8m tmpfs "$M"
        run >/dev/null; echo "rc=$?"
        mount -o remount,ro "$M"
        run --force; echo "rc=$?"
        mount -o remount,rw "$M"
        run --force; echo "rc=$?"
        """,
    )
    assert [line for line in out.splitlines() if line.startswith("rc=")] == ["rc=0", "rc=2", "rc=0"]
    (error,) = [line for line in out.splitlines() if line.startswith("error: ")]
    assert error.endswith(
        "/store is not writable (read-only mount or permissions); mount it read-write or "
        "choose another --storage"
    )
    assert "Traceback" not in out
    assert "Succeeded: 3 materialized" in out


def test_a_corrupt_record_is_ignored_with_a_warning_and_rewritten(tmp_path: Path) -> None:
    loc = tmp_path / "loc.py"
    loc.write_text("from assetcron import Definitions, asset\n\n\n@asset\ndef one() -> int:\n"
                   "    return 1\n\n\ndefs = Definitions(assets=[one])\n")  # fmt: skip
    argv = [ASSETCRON, *MAT, "-f", str(loc), "--storage", str(tmp_path / "s")]
    env = {"PATH": os.environ["PATH"]}
    first = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert first.returncode == 0, first.stderr
    (record,) = (tmp_path / "s" / "records").rglob("*.json")
    (version,) = (tmp_path / "s" / "versions").rglob("*.json")
    record.write_bytes(b'{"status": "Materia')  # a torn write by a broken disk, or a hand edit
    version.write_bytes(b'{"status": "Sto')
    second = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr
    assert f"ignoring unreadable version {version}" in second.stderr
    assert "one ... materialized" in second.stdout  # not reused: nothing says what it is
    assert json.loads(record.read_bytes())["status"] == "Materialized"
    assert json.loads(version.read_bytes())["status"] == "Stored"


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "x"])
def test_a_bad_lock_setting_is_bad_input(tmp_path: Path, value: str) -> None:
    loc = tmp_path / "loc.py"
    loc.write_text(textwrap.dedent(LOCATION))
    proc = subprocess.run(
        [ASSETCRON, *MAT, "-f", str(loc), "--storage", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], "ASSETCRON_LOCK_TTL": value},
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ASSETCRON_LOCK_TTL must be a number of seconds > 0")
