"""assetcron_dev.images without buildah: names agree with the repository; commands are right.

Building and loading need root, buildah, mmdebstrap and a containerd (checked by hand,
see the module docstring); here the pure parts: the image names against the Dockerfile,
the chart and the example manifests, the commands' storage and offline options, the
wheel requirements and platform tags, and the parsing of containerd's answers.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from assetcron_dev import images

ROOT = Path(__file__).resolve().parents[2]


def test_base_image_is_the_dockerfiles_from() -> None:
    text = (ROOT / "Dockerfile").read_text()
    (default,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert default == images.BASE_IMAGE


def test_runtime_image_is_the_charts_image() -> None:
    values = yaml.safe_load((ROOT / "charts/assetcron/values.yaml").read_text())
    chart = yaml.safe_load((ROOT / "charts/assetcron/Chart.yaml").read_text())
    tag = values["image"]["tag"] or chart["appVersion"]
    assert f"{values['image']['repository']}:{tag}" == images.RUNTIME_IMAGE


@pytest.mark.parametrize(
    ("manifest", "image"),
    [
        ("examples/weather/manifests/assetjob.yaml", images.WEATHER_IMAGE),
        ("examples/dagster_project/manifests/assetjob.yaml", images.DAGSTER_EXAMPLE_IMAGE),
    ],
)
def test_each_example_image_is_the_one_its_manifests_run(manifest: str, image: str) -> None:
    job = yaml.safe_load((ROOT / manifest).read_text())
    assert job["spec"]["codeLocation"]["image"] == image


def test_every_target_is_a_dockerfile_stage_built_and_loaded() -> None:
    stages = re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    named = [target for _, target in images.TARGETS if target is not None]
    assert named == ["weather", "dagster-example"]
    assert set(named) <= set(stages)
    # The default target (no --target) is the last stage, built last.
    assert images.TARGETS[-1] == (images.RUNTIME_IMAGE, None)
    assert stages[-1] == "runtime"
    # Whatever is built is loaded into a dev node, and the node gets nothing else but pause.
    assert set(images.NODE_IMAGES) == {images.PAUSE_IMAGE, *(i for i, _ in images.TARGETS)}


def test_every_buildah_call_names_its_own_storage(tmp_path: Path) -> None:
    argv = images.buildah_argv("images", storage=tmp_path)
    assert argv[:7] == [
        "buildah",
        "--root",
        str(tmp_path / "root"),
        "--runroot",
        str(tmp_path / "run"),
        "--storage-driver",
        "overlay",
    ]
    assert argv[7:] == ["images"]


def test_bud_builds_offline_without_a_bridge(tmp_path: Path) -> None:
    argv = images.bud_argv(tmp_path, images.WEATHER_IMAGE, "weather", "/usr/bin/runc")
    assert argv[:3] == ["buildah", "--root", str(images.buildah_storage() / "root")]
    joined = " ".join(argv)
    for part in (
        "bud --runtime /usr/bin/runc",
        "--network host",  # no bridge, no iptables rules on the host
        "--pull=never",
        "--layers",
        "--build-arg PIP_NO_INDEX=1",
        f"--build-arg PIP_FIND_LINKS={images.WHEELHOUSE_IN_IMAGE}",
        f"--tag {images.WEATHER_IMAGE}",
        "--target weather",
    ):
        assert part in joined
    assert argv[-1] == str(tmp_path)
    default = images.bud_argv(tmp_path, images.RUNTIME_IMAGE, None, "/usr/bin/runc")
    assert "--target" not in default


def test_the_dockerfile_copies_the_wheelhouse_where_bud_points_pip() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert f"COPY {images.WHEELHOUSE}/ {images.WHEELHOUSE_IN_IMAGE}/" in text
    # Tracked so that the COPY works in a fresh checkout; the wheels themselves are ignored.
    assert (ROOT / images.WHEELHOUSE / "README.md").is_file()
    assert f"{images.WHEELHOUSE}/*" in (ROOT / ".gitignore").read_text().splitlines()


def test_wheel_requirements_cover_dependencies_extras_projects_and_build_backends() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    projects = [tomllib.loads((ROOT / p).read_text()) for p in images.IMAGE_PROJECTS]
    reqs = images.wheel_requirements(pyproject, projects=projects)
    optional = pyproject["project"]["optional-dependencies"]
    for req in (
        *pyproject["project"]["dependencies"],
        *optional["examples"],
        *optional["dagster"],
        *pyproject["build-system"]["requires"],
        *(r for p in projects for r in p["project"]["dependencies"]),
        *(r for p in projects for r in p["build-system"]["requires"]),
    ):
        assert req in reqs
    assert "pytest>=8.2" not in reqs  # the dev extra stays out of the images
    assert "dagster-webserver" not in reqs  # and so do the projects' own extras
    assert len(reqs) == len(set(reqs))


def test_the_images_install_what_the_wheelhouse_holds() -> None:
    """Each extra and project an image's builder stage installs is in the wheelhouse's
    requirements (``pip install`` with ``PIP_NO_INDEX`` finds nothing else)."""
    text = (ROOT / "Dockerfile").read_text()
    installed_extras = set(re.findall(r'\["optional-dependencies"\]\["(\w+)"\]', text))
    assert installed_extras == set(images.IMAGE_EXTRAS)
    for project in images.IMAGE_PROJECTS:
        assert f"COPY {Path(project).parent} " in text


def test_wheel_requirements_refuse_an_unknown_extra() -> None:
    with pytest.raises(images.ImagesError, match="no extra 'nope'"):
        images.wheel_requirements({"project": {"dependencies": []}}, extras=["nope"])


def test_manylinux_platforms_go_down_from_the_images_glibc() -> None:
    tags = images.manylinux_platforms((2, 36), "x86_64")
    assert tags[0] == "manylinux_2_36_x86_64"
    assert "manylinux_2_17_x86_64" in tags
    assert "manylinux_2_5_x86_64" in tags
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert not [t for t in tags if t.startswith("manylinux_2_37")]
    assert images.manylinux_platforms((2, 12), "aarch64")[-2:] == [
        "manylinux2010_aarch64",
        "manylinux1_aarch64",
    ]


def test_pip_download_targets_the_images_python_and_only_binary_wheels(tmp_path: Path) -> None:
    online = images.pip_download_argv("py", tmp_path, ["a>=1", "b"], offline=False)
    offline = images.pip_download_argv("py", tmp_path, ["a>=1", "b"], offline=True)
    assert online[:4] == ["py", "-m", "pip", "download"]
    assert online[-2:] == offline[-2:] == ["a>=1", "b"]
    assert "--no-index" in offline
    assert "--no-index" not in online
    joined = " ".join(online)
    assert "--only-binary=:all:" in joined
    assert f"--python-version {images.IMAGE_PYTHON}" in joined
    assert "--abi cp311" in joined
    assert f"--dest {tmp_path} --find-links {tmp_path}" in joined


def test_mmdebstrap_makes_a_minimal_bookworm_with_python(tmp_path: Path) -> None:
    argv = images.mmdebstrap_argv(tmp_path / "r.tar")
    assert argv[:2] == ["mmdebstrap", "--variant=minbase"]
    assert "--include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates" in argv
    assert argv[-2:] == ["bookworm", str(tmp_path / "r.tar")]


def test_recipe_digest_changes_with_the_recipe() -> None:
    assert images.recipe_digest("a", "b") == images.recipe_digest("a", "b")
    assert images.recipe_digest("a", "b") != images.recipe_digest("ab")
    assert images.recipe_digest("x") != images.recipe_digest("y")


MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CTR_LS = "\n".join(
    [
        "REF  TYPE  DIGEST  SIZE  PLATFORMS  LABELS",
        f"ghcr.io/assetcron/assetcron:0.1.0  {MANIFEST}  sha256:{'1' * 64}  80 MiB  linux/amd64 -",
        f"localhost/pause:3.10  {INDEX}  sha256:{'2' * 64}  1.1 MiB  linux/amd64"
        "  io.cri-containerd.image=managed",
    ]
)


def test_parse_ctr_images() -> None:
    assert images.parse_ctr_images(CTR_LS) == {
        "ghcr.io/assetcron/assetcron:0.1.0": "sha256:" + "1" * 64,
        "localhost/pause:3.10": "sha256:" + "2" * 64,
    }
    assert images.parse_ctr_images("REF TYPE DIGEST SIZE PLATFORMS LABELS\n") == {}


def test_config_digest_of_a_manifest_and_through_an_index() -> None:
    blobs = {
        "sha256:m": json.dumps({"config": {"digest": "sha256:c"}, "layers": []}).encode(),
        "sha256:i": json.dumps({"manifests": [{"digest": "sha256:m"}]}).encode(),
        "sha256:x": b"{}",
    }
    assert images.config_digest("sha256:m", blobs.__getitem__) == "sha256:c"
    assert images.config_digest("sha256:i", blobs.__getitem__) == "sha256:c"
    assert images.config_digest("sha256:x", blobs.__getitem__) is None


def test_images_error_says_what_to_do_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(images.ImagesError) as info:
        images.build_images(tmp_path, lambda _line: None)
    assert "\n" not in str(info.value)
    assert "no Dockerfile" in str(info.value)


def test_image_facts_from_buildah_inspect() -> None:
    inspect = {
        "FromImageID": "ab" * 32,
        "OCIv1": {"config": {"Labels": {images.RECIPE_LABEL: "r"}, "User": "65535:65535"}},
    }
    assert images.image_facts(inspect) == {"id": "ab" * 32, "labels": {images.RECIPE_LABEL: "r"}}
    assert images.image_facts({"FromImageID": "c", "OCIv1": {"config": {}}})["labels"] == {}


def test_an_id_reference_is_orphaned_when_no_name_points_at_its_image() -> None:
    old, new = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    targets = {
        "ghcr.io/assetcron/assetcron:0.1.0": "sha256:m-new",
        new: "sha256:m-new",
        old: "sha256:m-old",
    }
    assert images.orphaned_id_ref(targets, old)
    assert not images.orphaned_id_ref(targets, new)  # the name still points there
    assert not images.orphaned_id_ref(targets, "sha256:" + "c" * 64)  # not listed
    assert not images.orphaned_id_ref({**targets, "other:1": "sha256:m-old"}, old)
