"""The status refresh pass leaves a schedule with news to the event handler for one pass
(pure logic of ``_refresh_chunk``; no cluster: the refresh itself is exercised by
tests/integration/test_operator.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from assetcron_operator import handlers
from assetcron_operator.handlers import _Inputs, _refresh_chunk

KEY = ("ns", "daily")


def _inputs(status: dict[str, Any]) -> _Inputs:
    schedule = {
        "metadata": {"name": "daily", "namespace": "ns", "generation": 2},
        "spec": {"jobRef": {"name": "weather"}},
        "status": status,
    }
    return _Inputs(
        schedule=json.dumps(schedule),
        job_name="weather",
        job=None,
        cronjob=None,
        jobs=(),
        job_names=(),
        pods=(),
        minute=0,
    )


@pytest.fixture
def refreshed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the schedules ``_refresh_one`` was called for (it is replaced:
    what it does is the service's, tested against the real API server)."""
    seen: list[str] = []

    def record(service: object, schedule: dict[str, Any], *_: Any, **__: Any) -> bool:
        seen.append(schedule["metadata"]["name"])
        return True

    monkeypatch.setattr(handlers, "_refresh_one", record)
    return seen


def test_a_schedule_with_news_waits_one_pass_then_is_refreshed(refreshed: list[str]) -> None:
    deferred: dict[tuple[str, str], str] = {}
    news = _inputs({"observedGeneration": 1})  # generation 2 not yet observed
    item = (KEY, news, list)
    assert _refresh_chunk(None, [item], deferred) == []  # type: ignore[arg-type]
    assert refreshed == []
    assert deferred == {KEY: news.schedule}
    # The same packed value a pass later: the event handler did not act; refresh it.
    assert _refresh_chunk(None, [item], deferred) == [(KEY, news)]  # type: ignore[arg-type]
    assert refreshed == ["daily"]
    assert deferred == {}


def test_a_schedule_without_news_is_refreshed_at_once(
    refreshed: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    deferred: dict[tuple[str, str], str] = {KEY: "an older packed value"}
    current = _inputs({"observedGeneration": 2})
    with caplog.at_level(logging.ERROR):
        result = _refresh_chunk(None, [(KEY, current, list)], deferred)  # type: ignore[arg-type]
    assert result == [(KEY, current)]
    assert refreshed == ["daily"]
    assert deferred == {}
    assert not caplog.records
