"""Operator settings parsed from the environment (pure: a mapping in, Settings out)."""

from __future__ import annotations

import pytest

from assetcron_operator.settings import Settings, SettingsError


def test_defaults_follow_the_contract() -> None:
    s = Settings.from_env({})
    assert s.namespaces == ()
    assert s.clusterwide
    assert s.run_history_limit == 10
    assert s.log_format == "json"
    assert s.liveness_endpoint == "http://0.0.0.0:8080/healthz"
    assert s.status_interval == 30.0
    assert s.metrics_port == 8081


def test_namespaces_are_split_trimmed_and_deduplicated() -> None:
    s = Settings.from_env({"ASSETCRON_WATCH_NAMESPACES": " data, ml ,,data "})
    assert s.namespaces == ("data", "ml")
    assert not s.clusterwide


def test_empty_namespace_list_means_all_namespaces() -> None:
    assert Settings.from_env({"ASSETCRON_WATCH_NAMESPACES": " , "}).clusterwide


def test_values_are_read() -> None:
    s = Settings.from_env(
        {
            "ASSETCRON_RUN_HISTORY_LIMIT": "3",
            "ASSETCRON_LOG_FORMAT": "TEXT",
            "ASSETCRON_LIVENESS_ENDPOINT": "http://127.0.0.1:9999/live",
            "ASSETCRON_STATUS_INTERVAL": "2.5",
            "ASSETCRON_METRICS_PORT": "0",
        }
    )
    assert (s.run_history_limit, s.log_format, s.status_interval) == (3, "text", 2.5)
    assert s.metrics_port == 0  # not served
    assert s.liveness_endpoint == "http://127.0.0.1:9999/live"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ASSETCRON_WATCH_NAMESPACES", "Data"),
        ("ASSETCRON_WATCH_NAMESPACES", "-x"),
        ("ASSETCRON_WATCH_NAMESPACES", "a" * 64),
        ("ASSETCRON_RUN_HISTORY_LIMIT", "ten"),
        ("ASSETCRON_RUN_HISTORY_LIMIT", "0"),
        ("ASSETCRON_LOG_FORMAT", "xml"),
        ("ASSETCRON_LIVENESS_ENDPOINT", "0.0.0.0:8080"),
        ("ASSETCRON_LIVENESS_ENDPOINT", "https://0.0.0.0:8080/healthz"),
        ("ASSETCRON_STATUS_INTERVAL", "-1"),
        ("ASSETCRON_STATUS_INTERVAL", "soon"),
        ("ASSETCRON_METRICS_PORT", "65536"),
        ("ASSETCRON_METRICS_PORT", "-1"),
        ("ASSETCRON_METRICS_PORT", "http"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
