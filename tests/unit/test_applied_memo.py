"""The service's memos of its own recent CronJob applies and of verified inputs (pure
logic; no cluster)."""

from __future__ import annotations

from typing import Any

from assetcron_operator.service import SPEC_HASH_ANNOTATION, ScheduleService, _inputs_version


def _desired(spec_hash: str) -> dict[str, Any]:
    return {"metadata": {"annotations": {SPEC_HASH_ANNOTATION: spec_hash}}}


def test_recent_applies_are_trusted_and_old_ones_forgotten_in_order() -> None:
    now = [0.0]
    service = ScheduleService(None, monotonic=lambda: now[0])  # type: ignore[arg-type]
    trust = service.APPLY_TRUST_SECONDS
    for i in range(1000):  # a burst: every entry stays recent
        now[0] = i * 0.01
        service._remember_applied(("ns", f"cj-{i}"), _desired(f"h{i}"))
    assert len(service._applied) == 1000
    assert service._just_applied(("ns", "cj-0"), _desired("h0"))
    assert not service._just_applied(("ns", "cj-0"), _desired("other"))

    now[0] = 9.99 + trust - 5.0  # the first ~half of the burst is now older than the trust
    service._remember_applied(("ns", "cj-1"), _desired("h1-again"))  # re-applied: moves last
    assert ("ns", "cj-0") not in service._applied
    assert ("ns", "cj-1") in service._applied
    assert ("ns", "cj-999") in service._applied
    assert all(now[0] - t < trust for _, t in service._applied.values())
    assert service._just_applied(("ns", "cj-1"), _desired("h1-again"))
    assert not service._just_applied(("ns", "cj-0"), _desired("h0"))

    now[0] += trust  # everything but the newest entry is stale
    service._remember_applied(("ns", "new"), _desired("n"))
    assert list(service._applied) == [("ns", "new")]


def _body(uid: str, **meta: Any) -> dict[str, Any]:
    return {"metadata": {"uid": uid, **meta}, "spec": {}, "status": {}}


def test_the_verified_inputs_version_ignores_status_writes_only() -> None:
    """A status write (new resourceVersion, same generation) keeps the version of a
    schedule or AssetJob; a spec change (generation), a label change, or any change of
    the live CronJob gives a new one."""
    schedule = _body("s", generation=1, resourceVersion="10", labels={"team": "a"})
    job = _body("j", generation=3, resourceVersion="20")
    cronjob = _body("c", resourceVersion="30")
    base = _inputs_version(schedule, job, cronjob)
    assert base is not None

    def with_meta(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
        return {**body, "metadata": {**body["metadata"], **changes}}

    assert _inputs_version(with_meta(schedule, resourceVersion="11"), job, cronjob) == base
    assert _inputs_version(schedule, with_meta(job, resourceVersion="21"), cronjob) == base
    for changed in (
        (with_meta(schedule, generation=2), job, cronjob),
        (with_meta(schedule, labels={"team": "b"}), job, cronjob),
        (with_meta(schedule, uid="s2"), job, cronjob),
        (schedule, with_meta(job, generation=4), cronjob),
        (schedule, with_meta(job, labels={"x": "y"}), cronjob),
        (schedule, job, with_meta(cronjob, resourceVersion="31")),
    ):
        assert _inputs_version(*changed) != base
    assert _inputs_version(schedule, None, cronjob) is None
    assert _inputs_version(schedule, job, None) is None
    assert _inputs_version(with_meta(schedule, generation=None), job, cronjob) is None
