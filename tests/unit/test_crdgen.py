"""The checked-in CRDs match the models, and the generated schemas are structural."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from assetcron_operator import crdgen

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_crds_match_a_fresh_generation() -> None:
    for path, expected in crdgen.generate(ROOT).items():
        assert path.exists(), f"{path} is missing: run `make crds`"
        assert path.read_text(encoding="utf-8") == expected, f"{path} drifted: run `make crds`"


def test_check_mode_reports_drift_and_writes_nothing(tmp_path: Path) -> None:
    assert crdgen.main(["--root", str(tmp_path)]) == 0
    target = tmp_path / "crds" / "assetschedules.assetcron.dev.yaml"
    target.write_text(target.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert crdgen.main(["--root", str(tmp_path), "--check"]) == 1
    assert target.read_text(encoding="utf-8").endswith("# edited\n")
    assert crdgen.main(["--root", str(tmp_path)]) == 0
    assert crdgen.main(["--root", str(tmp_path), "--check"]) == 0


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key in ("properties",):
            for name, sub in node.get(key, {}).items():
                found.extend(_walk(sub, f"{path}.{name}"))
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                found.extend(_walk(node[key], f"{path}[{key}]"))
    return found


@pytest.mark.parametrize("kind", crdgen.KINDS, ids=lambda k: k.kind)
def test_schema_is_structural(kind: crdgen.CrdKind) -> None:
    doc = crdgen.crd_document(kind)
    schema = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _walk(schema):
        assert "$ref" not in node, path
        assert "anyOf" not in node, path
        assert "title" not in node, path
        assert not ("properties" in node and "additionalProperties" in node), path
        assert node.get("type") or node.get("x-kubernetes-preserve-unknown-fields"), path
        assert node.get("default", 0) is not None, path


def test_assetschedule_crd_names_columns_and_status_subresource() -> None:
    doc = yaml.safe_load((ROOT / "crds" / "assetschedules.assetcron.dev.yaml").read_text())
    names = doc["spec"]["names"]
    assert names["shortNames"] == ["asch"]
    assert names["categories"] == ["assetcron"]
    version = doc["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Job"] == ".spec.jobRef.name"
    assert columns["Next Run"] == ".status.nextRuns[0]"
    assert columns["Last Run"] == ".status.lastRunTime"  # when runs started, not ticks
    assert columns["Last Result"] == ".status.lastResult"
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert set(spec["required"]) == {"jobRef", "cronSchedule"}
    assert spec["properties"]["concurrencyPolicy"]["enum"] == ["Allow", "Forbid", "Replace"]
    assert spec["properties"]["timeZone"]["default"] == "UTC"
    assert spec["properties"]["failedJobsHistoryLimit"]["minimum"] == 0
    assert spec["properties"]["runConfig"]["x-kubernetes-preserve-unknown-fields"] is True


def test_chart_copy_wraps_the_same_spec() -> None:
    for kind in crdgen.KINDS:
        chart = (ROOT / crdgen.CHART_CRD_DIR / f"{kind.crd_name}.yaml").read_text()
        assert chart.startswith("{{- if .Values.crds.install }}\n")
        assert chart.endswith("{{- end }}\n")
        body = "\n".join(
            line for line in chart.splitlines() if "{{" not in line and "helm.sh" not in line
        )
        doc = yaml.safe_load(body)
        assert doc["metadata"]["name"] == kind.crd_name
        assert doc["spec"] == crdgen.crd_document(kind)["spec"]


def _integers(node: Any, path: str = "spec") -> list[tuple[str, dict[str, Any]]]:
    """(path, schema) of every integer in an OpenAPI schema."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "integer":
            found.append((path, node))
        for key, child in (node.get("properties") or {}).items():
            found += _integers(child, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            found += _integers(node["items"], f"{path}[]")
    return found


@pytest.mark.parametrize("kind", crdgen.KINDS, ids=lambda k: k.kind)
def test_every_integer_of_a_spec_has_its_kubernetes_range(kind: crdgen.CrdKind) -> None:
    # Kubernetes' int32 fields silently wrap a larger value (2^40 history -> 0).
    doc = crdgen.crd_document(kind)
    spec = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    ints = _integers(spec)
    assert ints, "the spec has integers"
    unbounded = [p for p, node in ints if "maximum" not in node or "minimum" not in node]
    assert unbounded == []
    # The API server reads bounds as float64: larger than 2^53 is not an integer there.
    assert all(node["maximum"] <= 2**53 - 1 for _, node in ints)


def test_the_admission_policy_ships_with_the_crds() -> None:
    policy, binding = yaml.safe_load_all(
        (ROOT / crdgen.CRD_DIR / crdgen.ADMISSION_FILE).read_text()
    )
    assert policy["kind"] == "ValidatingAdmissionPolicy"
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    assert {r for rule in rules for r in rule["resources"]} == {k.plural for k in crdgen.KINDS}
    chart = (ROOT / crdgen.CHART_CRD_DIR / crdgen.ADMISSION_FILE).read_text()
    assert chart.startswith("{{- if .Values.crds.install }}")
