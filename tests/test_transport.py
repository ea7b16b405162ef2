"""transport: a guard holds requests to a budget and leaves nothing behind; without a guard the
bounded adapter is a plain one."""

from __future__ import annotations

import pytest
import requests
from misbehaving import SILENT, SLACK, Serve, reply

from autodeploy import transport
from autodeploy.retry import Budget


def _session() -> requests.Session:
    return transport.mount(requests.Session())


def test_mount_is_idempotent_and_a_session_without_a_guard_is_plain(serve: Serve) -> None:
    server = serve(lambda request: reply(200, body=b"hello"))
    session = _session()
    adapter = session.get_adapter("http://x")
    assert transport.mount(session).get_adapter("http://x") is adapter
    assert isinstance(adapter, transport.BoundedAdapter)
    assert session.get(server.url("/"), timeout=5).content == b"hello"


def test_a_guard_with_nothing_left_refuses_at_once() -> None:
    budget = Budget(0, "--registry-max-wait")
    refused = pytest.raises(transport.OutOfTime, match=r"no time left of 0 s \(--registry-max-wait\)")
    with refused, transport.guard(budget):
        raise AssertionError("not reached")


def test_a_guard_cuts_a_silent_server_off_and_is_disarmed(serve: Serve) -> None:
    server = serve(lambda request: SILENT)
    budget = Budget(0.5, "--github-max-wait")
    session = _session()
    with pytest.raises(requests.RequestException) as caught, transport.guard(budget):
        session.get(server.url("/"), timeout=30)
    assert transport.ran_out(budget, caught.value)
    assert 0.5 <= budget.spent < 0.5 + SLACK
    _no_watchdog_left()


def _no_watchdog_left() -> None:
    assert transport._WATCHDOG.armed() == 0


def test_nested_guards_on_one_budget_count_once(serve: Serve) -> None:
    server = serve(lambda request: reply(200, body=b"ok"))
    budget = Budget(5, "--registry-max-wait")
    session = _session()
    with transport.guard(budget), transport.guard(budget):
        assert session.get(server.url("/"), timeout=5).content == b"ok"
    assert 0 < budget.spent < 1 and budget.remaining() > 4
    _no_watchdog_left()  # disarmed when the block ended, not left to run out
