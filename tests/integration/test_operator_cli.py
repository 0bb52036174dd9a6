"""``assetcron schedule preview``: from a manifest file (no cluster) and by name (cluster)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import PlaneHandle

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "examples" / "weather" / "manifests"
ASSETCRON = str(Path(sys.executable).parent / "assetcron")


def _preview(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ASSETCRON, "schedule", "preview", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def test_preview_of_the_manifests_needs_no_cluster(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "KUBECONFIG": str(tmp_path / "missing")}
    proc = _preview(
        str(MANIFESTS), "--count", "2", "--after", "2015-06-01T00:00:00Z",
        "-d", str(ROOT / "examples"), env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ticks = json.loads(proc.stdout)
    assert [t["scheduledTime"] for t in ticks] == ["2015-06-01T13:00:00Z", "2015-06-02T13:00:00Z"]
    first = ticks[0]
    assert first["schedule"] == "weather-daily"
    assert "note" not in first  # the weather code location was loaded and checked
    assert first["scheduledTimeLocal"] == "2015-06-01T06:00:00-07:00"  # 06:00 in Los Angeles
    assert first["partitionKey"] == "2015-05-31"  # the day before the tick
    report = first["runConfig"]["ops"]["weather__weather_report"]["config"]
    assert report["title"].startswith("Seattle weather for 2015-05-31 (7 days from 2015-05-25;")
    assert report["temperature_unit"] == "C"  # the AssetJob's static run config, merged


def test_preview_covers_every_schedule_of_a_multi_document_file(tmp_path: Path) -> None:
    docs = [*yaml.safe_load_all((MANIFESTS / "assetjob.yaml").read_text())]
    schedule = yaml.safe_load((MANIFESTS / "assetschedule.yaml").read_text())
    hourly = json.loads(json.dumps(schedule))
    hourly["metadata"]["name"] = "weather-hourly"
    hourly["spec"]["cronSchedule"] = "0 * * * *"
    # Typed config the weather assets refuse, only on the second schedule.
    hourly["spec"]["runConfig"]["ops"]["weather__rolling_7d_summary"] = {
        "config": {"window_days": "{{ 'a week' }}"}
    }
    file = tmp_path / "both.yaml"
    file.write_text(yaml.safe_dump_all([*docs, schedule, hourly]))
    env = {"PATH": "/usr/bin:/bin", "KUBECONFIG": str(tmp_path / "missing")}
    proc = _preview(
        str(file), "--count", "2", "--after", "2015-06-01T00:00:00Z",
        "-d", str(ROOT / "examples"), env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ticks = json.loads(proc.stdout)
    assert [t["schedule"] for t in ticks] == ["weather-daily"] * 2 + ["weather-hourly"] * 2
    assert all("error" not in t for t in ticks[:2])
    assert all("window_days" in t["error"] for t in ticks[2:])

    # Where the code location cannot be imported, the preview says what it did not check.
    blind = _preview(str(file), "--count", "1", "-d", str(tmp_path), env=env)
    assert blind.returncode == 0, blind.stderr
    notes = {t.get("note", "") for t in json.loads(blind.stdout)}
    assert len(notes) == 1
    assert "weather.definitions:defs not loaded here" in notes.pop()


def test_preview_refuses_a_bad_file_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: AssetSchedule\nspec: {cronSchedule: '0 0 31 2 *'}\n")
    proc = _preview(str(bad))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
    assert proc.stderr.count("\n") == 1


@pytest.mark.controlplane
def test_preview_by_name_reads_the_schedule_and_its_job_from_the_cluster(
    control_plane: PlaneHandle,
) -> None:
    ns = f"preview-{uuid.uuid4().hex[:6]}"
    control_plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for crd in ("assetjobs.assetcron.dev", "assetschedules.assetcron.dev"):
        control_plane.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    control_plane.kubectl("create", "namespace", ns)
    try:
        control_plane.kubectl("-n", ns, "apply", "-f", str(MANIFESTS))
        proc = _preview(
            "weather-daily", "-n", ns, "--count", "1", "--after", "2015-06-01T00:00:00Z",
            env=control_plane.env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        (tick,) = json.loads(proc.stdout)
        assert tick["jobName"] == f"weather-daily-{1433163600 // 60}"  # as the controller names it
        assert tick["runConfig"]["ops"]["weather__rolling_7d_summary"]["config"] == {
            "window_days": 7
        }
        missing = _preview("nope", "-n", ns, env=control_plane.env)
        assert missing.returncode == 2
        assert "nope" in missing.stderr
    finally:
        control_plane.kubectl("delete", "namespace", ns, "--wait=false", check=False)
