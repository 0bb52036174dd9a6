"""The image the chart deploys: the Dockerfile agrees with the chart, the CLI and the example.

No Docker engine runs here, so the Dockerfile is read as text (hadolint lints it in
``make lint``) and what its stages promise is checked against the repository:

* the default (last) stage is the runtime image, ``weather`` and ``dagster-example`` are
  stages before it, and none needs a build argument (the weather image installs the
  ``examples`` extra, the dagster-example image the ``dagster`` extra);
* every stage starts from one base image (the only one a registry-less build provides);
* the numeric user of the final stage is the chart's ``podSecurityContext.runAsUser``,
  and its group the ``fsGroup`` the operator gives run pods;
* the two entry points the image is run with are console scripts of the distribution;
* the ``weather`` image's file layout (COPY, also through ``COPY --from`` of a builder
  stage, + PYTHONPATH) makes the module named in ``examples/weather/manifests/``
  importable: the test rebuilds that layout in a temporary directory and runs the
  manifest's selection with ``assetcron asset list``;
* the ``dagster-example`` image pip-installs the Dagster project it COPYs, whose
  ``[tool.dagster] module_name`` is the module its manifests run, and checks at build
  time that the manifest's selection resolves;
* the build context (.dockerignore, an allow-list) admits every path the stages COPY.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
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


def _stages() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Stage name → (its FROM image or stage, its instructions), in Dockerfile order."""
    stages: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    stage: list[tuple[str, str]] | None = None
    for word, rest in _instructions():
        if word == "FROM":
            parts = rest.split()
            name = parts[-1] if len(parts) == 3 and parts[1].upper() == "AS" else rest
            stage = []
            stages[name] = (parts[0], stage)
        elif stage is not None:
            stage.append((word, rest))
    return stages


def _stage(name: str) -> list[tuple[str, str]]:
    """The instructions of stage ``name`` (from its FROM to the next FROM)."""
    stages = _stages()
    assert name in stages, f"no stage {name!r} in the Dockerfile: {sorted(stages)}"
    return stages[name][1]


def _arg_defaults() -> dict[str, str]:
    args = {}
    for word, rest in _instructions():
        if word == "ARG" and "=" in rest:
            key, _, value = rest.partition("=")
            args[key] = value.strip('"')
    return args


def _lineage(name: str) -> list[str]:
    """``name``, the stage it is FROM, and so on up to the first stage FROM an image."""
    stages = _stages()
    chain = [name]
    while stages[chain[-1]][0] in stages:
        chain.append(stages[chain[-1]][0])
    return chain


def _resolve(text: str) -> str:
    """``text`` with ``${ARG}`` replaced by the ARG defaults."""
    return re.sub(r"\$\{(\w+)\}", lambda m: _arg_defaults()[m.group(1)], text)


def _context_copies(name: str) -> list[tuple[str, str]]:
    """(path in the build context, path in the image) of what stage ``name``'s image holds.

    Follows ``FROM <stage>`` and ``COPY --from=<stage> SRC DEST`` (what the other stage
    copied from the context under SRC lands under DEST).
    """
    parent, instructions = _stages()[name]
    held = _context_copies(parent) if parent in _stages() else []
    for word, rest in instructions:
        if word != "COPY":
            continue
        args = rest.split()
        flags = [a for a in args if a.startswith("--")]
        src, dest = [a for a in args if not a.startswith("--")][-2:]
        origin = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        if origin is None:
            held.append((src.rstrip("/"), dest.rstrip("/")))
            continue
        src = src.rstrip("/")
        for ctx, there in _context_copies(origin):
            if there == src or there.startswith(f"{src}/"):
                held.append((ctx, dest.rstrip("/") + there[len(src) :]))
    return held


def _builder(name: str) -> str:
    """The one stage that stage ``name`` copies from (``COPY --from``)."""
    (origin,) = {
        flag.split("=", 1)[1]
        for word, rest in _stage(name)
        if word == "COPY"
        for flag in rest.split()
        if flag.startswith("--from=")
    }
    return origin


def _builder_runs(name: str) -> str:
    """The RUN instructions of stage ``name``'s builder stage and of its parents."""
    lineage = _lineage(_builder(name))
    return " ".join(rest for stage in lineage for w, rest in _stage(stage) if w == "RUN")


@pytest.mark.parametrize(
    ("target", "extra"), [("weather", "examples"), ("dagster-example", "dagster")]
)
def test_runtime_is_the_default_target_and_the_examples_stages_before_it(
    target: str, extra: str
) -> None:
    # `docker build .` (and `buildah bud`) build the last stage: the runtime image.
    names = list(_stages())
    assert names[-1] == "runtime"
    assert names.index(target) < names.index("runtime")
    # No build argument selects what an image contains; each example image's own builder
    # installs its extra.
    assert "EXTRAS" not in {rest.split("=")[0] for word, rest in _instructions() if word == "ARG"}
    assert f'["{extra}"]' in _builder_runs(target)


def test_every_stage_starts_from_the_one_base_image() -> None:
    stages = _stages()
    images = {_resolve(parent) for parent, _ in stages.values() if parent not in stages}
    assert len(images) == 1, images
    (image,) = images
    # Fully qualified: buildah resolves it without a registries.conf search list.
    assert image.startswith("docker.io/library/python:3.11-"), image


def test_final_stage_user_is_numeric_and_matches_the_chart() -> None:
    users = [rest for stage in _lineage("runtime") for w, rest in _stage(stage) if w == "USER"]
    assert users, "the runtime image runs as root"
    resolved = _resolve(users[0])  # the nearest USER wins
    uid, _, gid = resolved.partition(":")
    assert uid.isdigit(), users[0]
    assert int(uid) > 0, users[0]
    values = yaml.safe_load((ROOT / "charts/assetcron/values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == int(uid)
    assert values["podSecurityContext"]["runAsGroup"] == int(gid)
    # Run pods' volumes are group-owned by the image's group (fsGroup).
    from assetcron_operator.render import RUN_FS_GROUP

    assert int(gid) == RUN_FS_GROUP


def test_final_stage_is_slim_and_has_no_entrypoint() -> None:
    base = _stages()[_lineage("runtime")[-1]][0]
    assert "-slim-" in _resolve(base)
    # One image, two roles: the command chooses (chart: assetcron-operator; CronJobs: assetcron).
    assert not [rest for word, rest in _instructions() if word == "ENTRYPOINT"]


@pytest.mark.parametrize("script", ["assetcron", "assetcron-operator"])
def test_the_image_entry_points_are_console_scripts(script: str) -> None:
    names = {ep.name for ep in entry_points(group="console_scripts")}
    assert script in names


def test_weather_stage_layout_runs_the_manifest_selection(tmp_path: Path) -> None:
    copies = [c for c in _context_copies("weather") if c[0].startswith("examples/")]
    assert copies, "the weather image holds nothing from examples/"
    env = dict(rest.split("=", 1) for word, rest in _stage("weather") if word == "ENV")
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


def test_dagster_example_stage_installs_the_project_its_manifests_run() -> None:
    project = ROOT / "examples/dagster_project"
    copies = _context_copies(_builder("dagster-example"))
    (dest,) = [d for src, d in copies if src == "examples/dagster_project"]
    assert f"pip install --no-cache-dir --compile {dest} " in _builder_runs("dagster-example")
    job = yaml.safe_load((project / "manifests/assetjob.yaml").read_text())
    location = job["spec"]["codeLocation"]
    assert location["image"].startswith("ghcr.io/assetcron/assetcron-dagster-example:")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert location["module"] == pyproject["tool"]["dagster"]["module_name"]
    assert location.get("attribute", "defs") == "defs"
    # The build itself resolves the manifest's selection in the installed project (the
    # code location needs no PYTHONPATH: it is a package in the virtualenv).
    runs = " ".join(rest for w, rest in _stage("dagster-example") if w == "RUN")
    assert f'asset list -m {location["module"]} --select "{job["spec"]["selection"]}"' in runs
    assert not [rest for w, rest in _stage("dagster-example") if w == "ENV"]
