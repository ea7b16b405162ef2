"""Issue 13, item 5, end to end through the CLI against the real registry (htpasswd Basic auth):
explicit credentials go with the first request, so a resolve is one request; named for another
host with --registry-host, they are never sent to this one."""

from __future__ import annotations

import io
import sys

import pytest
from registry_server import PASSWORD, USERNAME, LocalRegistry, Seeded

from autodeploy import cli

pytestmark = pytest.mark.usefixtures("registry_env")


def resolve(ref: str, *extra: str) -> list[str]:
    return ["resolve", ref, "--registry-username", USERNAME, "--registry-password-stdin", *extra]


def test_a_resolve_with_credentials_is_one_request(
    basic_registry: LocalRegistry,
    basic_seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    mark = basic_registry.mark()
    assert (
        cli.main(resolve(basic_registry.ref("team/app", "oci"), "--registry-host", basic_registry.host)) == 0
    )
    assert capsys.readouterr().out.strip() == basic_seeded.oci.digest
    assert [(method, status) for method, _, status in basic_registry.since(mark)] == [("HEAD", 200)]


def test_credentials_named_for_another_host_are_never_sent(
    basic_registry: LocalRegistry,
    basic_seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    mark = basic_registry.mark()
    code = cli.main(resolve(basic_registry.ref("team/app", "oci"), "--registry-host", "harbor.example.com"))
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "wants credentials" in err and PASSWORD not in err
    # the right password was never sent: the registry refused the one request it saw
    assert [(method, status) for method, _, status in basic_registry.since(mark)] == [("HEAD", 401)]
