"""The service's memo of its own recent CronJob applies (pure logic; no cluster)."""

from __future__ import annotations

from typing import Any

from assetcron_operator.service import SPEC_HASH_ANNOTATION, ScheduleService


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
