"""The image the chart deploys: the Dockerfile agrees with the chart, the CLI and the example.

No Docker engine runs here, so the Dockerfile is read as text (hadolint lints it in
``make lint``) and what its stages promise is checked against the repository:

* the numeric user of the final stage is the chart's ``podSecurityContext.runAsUser``;
* the two entry points the image is run with are console scripts of the distribution;
* the ``weather`` stage's file layout (COPY + PYTHONPATH) makes the module named in
  ``examples/weather/manifests/`` importable: the test rebuilds that layout in a temporary
  directory and runs the manifest's selection with ``assetcron asset list``;
* the build context (.dockerignore, an allow-list) admits every path the stages COPY.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _stage(name: str) -> list[tuple[str, str]]:
    """The instructions of stage ``name`` (from its FROM to the next FROM)."""
    stage: list[tuple[str, str]] | None = None
    stages: dict[str, list[tuple[str, str]]] = {}
    for word, rest in _instructions():
        if word == "FROM":
            stage = stages.setdefault(rest.split()[-1] if " AS " in rest.upper() else rest, [])
        elif stage is not None:
            stage.append((word, rest))
    assert name in stages, f"no stage {name!r} in the Dockerfile: {sorted(stages)}"
    return stages[name]


def _arg_defaults() -> dict[str, str]:
    args = {}
    for word, rest in _instructions():
        if word == "ARG" and "=" in rest:
            key, _, value = rest.partition("=")
            args[key] = value.strip('"')
    return args


def test_final_stage_user_is_numeric_and_matches_the_chart() -> None:
    (user,) = [rest for word, rest in _stage("base") if word == "USER"]
    resolved = re.sub(r"\$\{(\w+)\}", lambda m: _arg_defaults()[m.group(1)], user)
    uid, _, gid = resolved.partition(":")
    assert uid.isdigit(), user
    assert int(uid) > 0, user
    values = yaml.safe_load((ROOT / "charts/assetcron/values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == int(uid)
    assert values["podSecurityContext"]["runAsGroup"] == int(gid)


def test_final_stage_is_slim_and_has_no_entrypoint() -> None:
    (base_from,) = [rest for word, rest in _instructions() if word == "FROM" and "AS base" in rest]
    assert "-slim-" in base_from
    # One image, two roles: the command chooses (chart: assetcron-operator; CronJobs: assetcron).
    assert not [rest for word, rest in _instructions() if word == "ENTRYPOINT"]


@pytest.mark.parametrize("script", ["assetcron", "assetcron-operator"])
def test_the_image_entry_points_are_console_scripts(script: str) -> None:
    names = {ep.name for ep in entry_points(group="console_scripts")}
    assert script in names


def test_weather_stage_layout_runs_the_manifest_selection(tmp_path: Path) -> None:
    stage = _stage("weather")
    copies = [rest.split()[-2:] for word, rest in stage if word == "COPY"]
    env = dict(rest.split("=", 1) for word, rest in stage if word == "ENV")
    job = yaml.safe_load((ROOT / "examples/weather/manifests/assetjob.yaml").read_text())
    location = job["spec"]["codeLocation"]
    assert location["image"].startswith("ghcr.io/assetcron/assetcron-weather:")

    image_root = tmp_path / "image"
    for src, dest in copies:
        shutil.copytree(ROOT / src, image_root / dest.lstrip("/"))
    pythonpath = os.pathsep.join(
        str(image_root / p.lstrip("/")) for p in env["PYTHONPATH"].split(":")
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("assetcron")),
            "asset",
            "list",
            "-m",
            location["module"],
            "-a",
            location.get("attribute", "defs"),
            "--select",
            job["spec"]["selection"],
        ],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(), "the selection resolved to no assets"


def test_build_context_admits_every_copied_path() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = [
        src.rstrip("/")
        for word, rest in _instructions()
        if word == "COPY" and "--from=" not in rest
        for src in rest.split()[:-1]
        if not src.startswith("--")
    ]
    assert sources
    missing = [
        src for src in sources if not any(src == a or src.startswith(f"{a}/") for a in allowed)
    ]
    assert missing == []
    for src in sources:
        assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which does not exist"
