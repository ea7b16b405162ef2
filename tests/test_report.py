"""All output goes through report: secrets are redacted everywhere, and annotated in Actions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autodeploy import report


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    saved = set(report._secrets)
    yield
    report._secrets.clear()
    report._secrets.update(saved)
    report.use_github_actions(False)


def test_registered_secrets_never_print(capsys: pytest.CaptureFixture[str]) -> None:
    token = report.secret("ghs_0123456789abcdefghijABCDEFGHIJ012345")
    report.error(f"401 with token {token}")
    report.warn(f"token={token}")
    report.info(f"using {token}")
    report.out(f'{{"token": "{token}"}}')
    out, err = capsys.readouterr()
    assert token not in out + err
    assert err.splitlines() == [
        "autodeploy: error: 401 with token ***",
        "autodeploy: warning: token=***",
        "using ***",
    ]
    assert out == '{"token": "***"}\n'


def test_each_line_of_a_multi_line_key_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    report.use_github_actions()
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAabcdef\nQWERTYuiop1234\n-----END RSA PRIVATE KEY-----"
    report.secret(key)
    report.info("line QWERTYuiop1234 leaked?")
    out, err = capsys.readouterr()
    assert "::add-mask::MIIEowIBAAKCAQEAabcdef\n" in out and "::add-mask::QWERTYuiop1234\n" in out
    assert "QWERTYuiop1234" not in err


def test_actions_errors_are_annotations_with_the_same_text(capsys: pytest.CaptureFixture[str]) -> None:
    report.use_github_actions()
    report.error("100% broken\nsecond line")
    out, err = capsys.readouterr()
    assert out == "::error title=autodeploy::100%25 broken%0Asecond line\n"
    assert err == "autodeploy: error: 100% broken\\nsecond line\n"  # no text of it starts a line


def test_short_values_are_not_treated_as_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    report.secret("abc")
    report.info("abc stays")
    assert capsys.readouterr().err == "abc stays\n"


def test_a_line_of_one_secret_never_breaks_up_another(capsys: pytest.CaptureFixture[str]) -> None:
    report.secret("-----BEGIN KEY-----\nabcd\n-----END KEY-----")  # longer than the token, line "abcd"
    token = report.secret("ghs_0123456789abcdefghij0123")
    report.info(f"t={token}")
    assert capsys.readouterr().err == "t=***\n"


def test_actions_warnings_are_shown_once_and_flags_are_named_as_inputs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report.use_github_actions()
    report.phrase([("pass --allow-downgrade", "set `allow-downgrade: true`")])
    try:
        report.warn("not downgrading (pass --allow-downgrade)")
        out, err = capsys.readouterr()
        assert (
            out == "::warning title=autodeploy::not downgrading (set `allow-downgrade: true`)\n" and err == ""
        )
        report.use_github_actions(False)
        report.warn("not downgrading (pass --allow-downgrade)")
        assert capsys.readouterr().err == "autodeploy: warning: not downgrading (pass --allow-downgrade)\n"
    finally:
        report.phrase([])
