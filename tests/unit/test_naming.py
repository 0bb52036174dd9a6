"""Deterministic, bounded, collision-free names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetcron_operator import naming

DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _name(length: int, prefix: str = "") -> str:
    body = (prefix + "daily-weather-refresh-" * 20)[:length]
    return body[:-1] + "x" if body.endswith("-") else body


@pytest.mark.parametrize("length", [1, 51, 52])
def test_short_cronjob_names_are_kept(length: int) -> None:
    name = _name(length)
    assert naming.cronjob_name(name) == name


@pytest.mark.parametrize("length", [53, 63, 64, 253])
def test_long_cronjob_names_are_hashed_to_52(length: int) -> None:
    name = _name(length)
    short = naming.cronjob_name(name)
    assert len(short) <= 52
    assert DNS1123.match(short)
    assert short.endswith("-" + naming.short_hash(name))
    assert naming.cronjob_name(name) == short  # deterministic
    # the Job the controller derives from it fits the label-value limit
    assert len(f"{short}-{2**32 // 60:010d}") <= 63


@pytest.mark.parametrize("length", [63, 64, 253])
def test_label_values(length: int) -> None:
    value = naming.label_value(_name(length))
    assert len(value) <= 63
    assert LABEL.match(value)
    if length <= 63:
        assert value == _name(length)


def test_names_sharing_a_long_prefix_do_not_collide() -> None:
    prefix = "a" * 60
    one, two = f"{prefix}-one", f"{prefix}-two"
    assert naming.cronjob_name(one) != naming.cronjob_name(two)
    assert naming.label_value(one) != naming.label_value(two)
    assert naming.manual_job_name(naming.cronjob_name(one), "t") != naming.manual_job_name(
        naming.cronjob_name(two), "t"
    )


def test_truncation_never_leaves_a_trailing_separator() -> None:
    name = "a" * 40 + "-" * 2 + "." + "b" * 20
    short = naming.cronjob_name(name)
    assert DNS1123.match(short), short


def test_non_label_strings_become_valid_label_values() -> None:
    value = naming.label_value("hello world/!")
    assert LABEL.match(value)
    assert value != naming.label_value("hello world/?")


def test_manual_job_name() -> None:
    cron = _name(52)
    one = naming.manual_job_name(cron, "2026-01-01T00:00:00Z")
    assert len(one) == 63
    assert DNS1123.match(one)
    assert one == naming.manual_job_name(cron, "2026-01-01T00:00:00Z")
    assert one != naming.manual_job_name(cron, "2026-01-02T00:00:00Z")
    assert not one.rsplit("-", 1)[1].isdigit()  # never mistaken for <cronjob>-<minutes>


def test_shorten_refuses_a_too_small_limit() -> None:
    with pytest.raises(ValueError, match="too small"):
        naming.shorten("x" * 20, 5)


_DNS_NAMES = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(a=_DNS_NAMES, b=_DNS_NAMES)
def test_shortened_names_are_bounded_valid_and_injective(a: str, b: str) -> None:
    for name in (a, b):
        assert len(naming.cronjob_name(name)) <= 52
        assert LABEL.match(naming.label_value(name))
        assert len(naming.label_value(name)) <= 63
    if a != b:
        assert naming.cronjob_name(a) != naming.cronjob_name(b)
        assert naming.label_value(a) != naming.label_value(b)
