"""Environment values are hidden in text bound for the termination message."""

from __future__ import annotations

import pytest

from assetcron._redact import MASK, Redactor, is_not_secret, secret_values


def test_values_of_user_variables_are_hidden_wherever_they_appear() -> None:
    redact = Redactor.from_environ({"DB_PASSWORD": "hunter22", "API_TOKEN": "tok-123456"})
    text = "connect failed for postgres://app:hunter22@db/x (token tok-123456, again hunter22)"
    assert redact(text) == "connect failed for postgres://app:***@db/x (token ***, again ***)"


def test_short_values_and_allow_listed_variables_are_kept() -> None:
    environ = {
        "DEBUG": "1",
        "MODE": "on",
        "HOME": "/home/runner",
        "PATH": "/usr/local/bin:/usr/bin",
        "HOSTNAME": "weather-daily-123-abcde",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": "/opt/code",
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
        "MYDB_SERVICE_HOST": "10.96.3.4",
        "MYDB_PORT_5432_TCP": "tcp://10.96.3.4:5432",
        "ASSETCRON_RUN_CONFIG": '{"ops": {}}',
        "ASSETCRON_JOB_NAME": "weather-daily-123",
    }
    text = (
        "on 1 /home/runner/x weather-daily-123-abcde C.UTF-8 /opt/code/m.py 10.96.0.1 "
        '10.96.3.4:5432 {"ops": {}}'
    )
    assert Redactor.from_environ(environ)(text) == text


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("ASSETCRON_API_KEY", True),  # a user's own ASSETCRON_* variable
        ("KUBERNETES_TOKEN", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("TZ", False),
        ("PYTHONUNBUFFERED", False),
        ("REDIS_SERVICE_PORT_CLIENT", False),
        ("ASSETCRON_PARTITION_KEY", False),
    ],
)
def test_which_names_are_secret(name: str, secret: bool) -> None:
    assert is_not_secret(name) is not secret


def test_only_the_userinfo_of_the_storage_url_is_secret() -> None:
    url = "s3://AKIAEXAMPLE:s3cr%2Ft@minio:9000/bucket"
    redact = Redactor.from_environ({"ASSETCRON_STORAGE": url})
    assert redact(f"cannot open {url}") == "cannot open s3://***@minio:9000/bucket"
    assert redact("signature for s3cr/t rejected") == "signature for *** rejected"
    path = Redactor.from_environ({"ASSETCRON_STORAGE": "/data/storage"})
    assert path("no space left on /data/storage/assets") == "no space left on /data/storage/assets"


def test_longer_and_overlapping_values_leave_no_fragment() -> None:
    redact = Redactor(["abcd", "abcdefgh", "ghijkl"])
    assert redact("x abcdefghijkl y abcd z") == f"x {MASK} y {MASK} z"
    assert secret_values({"A": "abcd", "B": "abcdefgh"}) == ["abcdefgh", "abcd"]


def test_a_multi_line_secret_is_hidden_collapsed_escaped_and_line_by_line() -> None:
    pem = "-----BEGIN KEY-----\nMIIBVwIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----"
    redact = Redactor.from_environ({"TLS_KEY": pem})
    assert redact(" ".join(pem.split())) == MASK  # error lines collapse whitespace
    assert redact(f"ValueError: bad key {pem!r}") == f"ValueError: bad key '{MASK}'"
    assert redact("line 2 was MIIBVwIBADANBgkq") == f"line 2 was {MASK}"


def test_nothing_to_hide_changes_nothing() -> None:
    assert Redactor([])("text") == "text"
    assert Redactor.from_environ({})("") == ""
