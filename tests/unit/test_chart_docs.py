"""docs/chart-values.md is generated from the chart's values.yaml and schema, and current."""

from __future__ import annotations

from pathlib import Path

from assetcron_dev import chartdocs

ROOT = Path(__file__).resolve().parents[2]


def test_committed_values_reference_is_up_to_date() -> None:
    committed = (ROOT / chartdocs.OUTPUT).read_text(encoding="utf-8")
    assert committed == chartdocs.generate(ROOT), "stale: run `make chart-docs`"


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    (tmp_path / "charts").symlink_to(ROOT / "charts")
    (tmp_path / "docs").mkdir()
    assert chartdocs.main(["--check", "--root", str(tmp_path)]) == 1  # missing
    assert chartdocs.main(["--root", str(tmp_path)]) == 0
    assert chartdocs.main(["--check", "--root", str(tmp_path)]) == 0
    doc = tmp_path / chartdocs.OUTPUT
    doc.write_text(doc.read_text() + "hand edit\n")
    assert chartdocs.main(["--check", "--root", str(tmp_path)]) == 1


VALUES = """\
# top is a group.
top:
  # top.leaf is a number, e.g.
  #   top:
  #     leaf: 3
  leaf: 1
  # top.free is a map of labels.
  free:
    someLabel: x
"""
SCHEMA = {
    "type": "object",
    "properties": {
        "top": {
            "type": "object",
            "properties": {
                "leaf": {"type": "integer"},
                "free": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def test_every_key_gets_its_comment_type_default_and_examples() -> None:
    text = chartdocs.render(VALUES, SCHEMA)
    assert "| [`top.leaf`](#topleaf) | integer | `1` |" in text
    assert "| [`top.free`](#topfree) | map of string | `" in text
    assert "someLabel" not in text.split("## top")[0].split("top.free")[0]
    assert "## top\n\ntop is a group." in text
    assert "### top.leaf\n\nType: integer. Default: `1`.\n\ntop.leaf is a number, e.g." in text
    assert "```yaml\ntop:\n  leaf: 3\n```" in text
    # Keys inside a free-form map are data, not settings.
    assert "top.free.someLabel" not in text
