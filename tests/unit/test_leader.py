"""Leader election: settings and the Lease record (pure parts of assetcron_operator.leader).

The API side (two candidates against a real API server) is in
tests/integration/test_leader.py; two replicas of the chart in tests/integration/test_chart.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from assetcron_operator.leader import (
    DEFAULT_LEASE_NAME,
    ElectionConfig,
    LeaseRecord,
    format_micro_time,
    is_predecessor,
    next_record,
    released_record,
)
from assetcron_operator.settings import SettingsError

NOW = datetime(2026, 12, 2, 15, 0, 0, tzinfo=UTC)


def test_off_by_default_and_touches_nothing() -> None:
    cfg = ElectionConfig.from_env({"POD_NAMESPACE": "ops"})
    assert not cfg.enabled


def test_on_reads_the_downward_api_and_uses_client_go_defaults() -> None:
    cfg = ElectionConfig.from_env(
        {"ASSETCRON_LEADER_ELECTION": "true", "POD_NAMESPACE": "ops", "POD_NAME": "op-1"}
    )
    assert cfg.enabled
    assert (cfg.namespace, cfg.name) == ("ops", DEFAULT_LEASE_NAME)
    assert (cfg.lease_duration, cfg.renew_deadline, cfg.retry_period) == (15.0, 10.0, 2.0)
    assert cfg.identity.startswith("op-1_")
    # Unique per process: a restarted container is a new candidate.
    again = ElectionConfig.from_env(
        {"ASSETCRON_LEADER_ELECTION": "true", "POD_NAMESPACE": "ops", "POD_NAME": "op-1"}
    )
    assert again.identity != cfg.identity


def test_explicit_values_win() -> None:
    cfg = ElectionConfig.from_env(
        {
            "ASSETCRON_LEADER_ELECTION": "1",
            "POD_NAMESPACE": "ops",
            "ASSETCRON_LEADER_ELECTION_NAMESPACE": "elsewhere",
            "ASSETCRON_LEADER_ELECTION_ID": "my-lease",
            "ASSETCRON_LEADER_ELECTION_LEASE_DURATION": "8s",
            "ASSETCRON_LEADER_ELECTION_RENEW_DEADLINE": "5",
            "ASSETCRON_LEADER_ELECTION_RETRY_PERIOD": "1.5",
        }
    )
    assert (cfg.namespace, cfg.name) == ("elsewhere", "my-lease")
    assert (cfg.lease_duration, cfg.renew_deadline, cfg.retry_period) == (8.0, 5.0, 1.5)


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"ASSETCRON_LEADER_ELECTION": "maybe"}, "ASSETCRON_LEADER_ELECTION: expected true"),
        ({"ASSETCRON_LEADER_ELECTION": "true"}, "ASSETCRON_LEADER_ELECTION_NAMESPACE: required"),
        (
            {"ASSETCRON_LEADER_ELECTION_LEASE_DURATION": "soon"},
            "ASSETCRON_LEADER_ELECTION_LEASE_DURATION: expected seconds",
        ),
        (
            {"ASSETCRON_LEADER_ELECTION_RETRY_PERIOD": "0"},
            "ASSETCRON_LEADER_ELECTION_RETRY_PERIOD: must be > 0",
        ),
        (  # client-go: leaseDuration > renewDeadline
            {"ASSETCRON_LEADER_ELECTION_LEASE_DURATION": "10"},
            "LEASE_DURATION: must be greater than the renew deadline (10 <= 10)",
        ),
        (  # client-go: renewDeadline > JitterFactor (1.2) * retryPeriod
            {"ASSETCRON_LEADER_ELECTION_RETRY_PERIOD": "9"},
            "RENEW_DEADLINE: must be greater than 1.2 x the retry period",
        ),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], complaint: str) -> None:
    on = {"ASSETCRON_LEADER_ELECTION": "true", "POD_NAMESPACE": "ops"}
    if "ASSETCRON_LEADER_ELECTION" in env:
        on = {}  # the cases about the switch itself (and the namespace) stand alone
    with pytest.raises(SettingsError) as err:
        ElectionConfig.from_env({**on, **env})
    assert complaint in str(err.value)


def test_micro_time_keeps_six_fraction_digits_in_utc() -> None:
    # Go's RFC3339Micro layout, which the API server parses MicroTime with.
    assert format_micro_time(NOW) == "2026-12-02T15:00:00.000000Z"
    east = datetime(2026, 12, 2, 16, 0, 0, 123, tzinfo=timezone(timedelta(hours=1)))
    assert format_micro_time(east) == "2026-12-02T15:00:00.000123Z"


def test_first_record_of_a_new_lease() -> None:
    rec = next_record(None, identity="a", lease_duration=15, now=NOW)
    assert rec == LeaseRecord("a", 15, "2026-12-02T15:00:00.000000Z", rec.acquire_time, 0)
    assert rec.renew_time == rec.acquire_time


def test_renewal_keeps_acquire_time_and_transitions() -> None:
    first = LeaseRecord("a", 15, "2026-12-02T14:00:00.000000Z", "2026-12-02T14:59:58.000000Z", 3)
    rec = next_record(first, identity="a", lease_duration=15, now=NOW)
    assert rec.acquire_time == first.acquire_time
    assert rec.transitions == 3
    assert rec.renew_time == "2026-12-02T15:00:00.000000Z"


def test_takeover_counts_a_transition_and_resets_acquire_time() -> None:
    old = LeaseRecord("a", 15, "2026-12-02T14:00:00.000000Z", "2026-12-02T14:59:00.000000Z", 3)
    rec = next_record(old, identity="b", lease_duration=6.4, now=NOW)
    assert rec == LeaseRecord(
        "b", 6, "2026-12-02T15:00:00.000000Z", "2026-12-02T15:00:00.000000Z", 4
    )


def test_release_empties_the_holder_and_keeps_the_count() -> None:
    held = LeaseRecord("a", 15, "2026-12-02T14:00:00.000000Z", "2026-12-02T14:59:00.000000Z", 2)
    rec = released_record(held, now=NOW)
    assert rec.holder == ""
    assert rec.lease_duration_seconds == 1
    assert rec.transitions == 2


def test_record_round_trips_through_a_lease_spec() -> None:
    rec = LeaseRecord("a", 15, "2026-12-02T14:00:00.000000Z", "2026-12-02T14:59:00.000000Z", 2)
    assert LeaseRecord.from_lease({"spec": rec.to_spec()}) == rec
    assert LeaseRecord.from_lease({}) == LeaseRecord()


def test_a_lease_of_an_earlier_process_of_the_same_pod_is_not_waited_out() -> None:
    me = "op-7d9f-x2x_new"
    assert is_predecessor("op-7d9f-x2x_old", pod_name="op-7d9f-x2x", identity=me)
    assert not is_predecessor(me, pod_name="op-7d9f-x2x", identity=me)
    assert not is_predecessor("op-7d9f-y3y_old", pod_name="op-7d9f-x2x", identity=me)
    assert not is_predecessor("op-7d9f-x2x-2_old", pod_name="op-7d9f-x2x", identity=me)
    # Without the Downward API the host name is no proof: never.
    assert not is_predecessor("host_old", pod_name="", identity="host_new")


def test_pod_name_is_kept_only_when_given() -> None:
    on = {"ASSETCRON_LEADER_ELECTION": "true", "POD_NAMESPACE": "ops"}
    assert ElectionConfig.from_env({**on, "POD_NAME": "op-1"}).pod_name == "op-1"
    assert ElectionConfig.from_env(on).pod_name == ""
