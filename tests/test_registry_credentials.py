"""Where credentials come from, and in which order."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from registry_server import registry_options

from autodeploy import report
from autodeploy.errors import InputError, RegistryError
from autodeploy.registry import RegistryOptions
from autodeploy.registry.credentials import lookup

pytestmark = pytest.mark.usefixtures("registry_env")


def _config(directory: Path, config: object) -> None:
    (directory / "config.json").write_text(json.dumps(config))


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def helper_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def _helper(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_explicit_beats_environment_beats_docker_config(
    registry_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(registry_env, {"auths": {"ghcr.io": {"auth": _auth("from-config", "config-pass-1")}}})
    found = lookup("ghcr.io", registry_options())
    assert found is not None and (found.username, found.password) == ("from-config", "config-pass-1")
    monkeypatch.setenv("AUTODEPLOY_REGISTRY_USERNAME", "from-env")
    monkeypatch.setenv("AUTODEPLOY_REGISTRY_PASSWORD", "env-pass-1234")
    found = lookup("ghcr.io", registry_options())
    assert found is not None and (found.username, found.source) == (
        "from-env",
        "AUTODEPLOY_REGISTRY_USERNAME",
    )
    found = lookup(
        "ghcr.io",
        registry_options(
            username="explicit", password="explicit-pass-1", credentials_source="--registry-username"
        ),
    )
    assert found is not None and (found.username, found.password, found.source) == (
        "explicit",
        "explicit-pass-1",
        "--registry-username",
    )


def test_passwords_are_registered_as_secrets_and_kept_out_of_repr(registry_env: Path) -> None:
    _config(registry_env, {"auths": {"ghcr.io": {"username": "u", "password": "config-only-secret-9"}}})
    found = lookup("ghcr.io", registry_options())
    assert found is not None
    assert report.redact("x config-only-secret-9 y") == "x *** y"
    assert "config-only-secret-9" not in repr(found)
    assert "explicit-secret-77" not in repr(RegistryOptions(username="u", password="explicit-secret-77"))


def test_docker_hub_entries_match_every_name_of_docker_hub(registry_env: Path) -> None:
    _config(
        registry_env, {"auths": {"https://index.docker.io/v1/": {"auth": _auth("hubber", "hub-pass-123")}}}
    )
    found = lookup("docker.io", registry_options())
    assert found is not None and found.username == "hubber"
    assert str(registry_env / "config.json") in found.source
    assert lookup("ghcr.io", registry_options()) is None


def test_url_shaped_keys_match_their_host(registry_env: Path) -> None:
    _config(registry_env, {"auths": {"https://harbor.example.com/": {"auth": _auth("h", "harbor-pass-1")}}})
    found = lookup("harbor.example.com", registry_options())
    assert found is not None and found.username == "h"


def test_docker_config_dir_option_overrides_the_environment(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    _config(other, {"auths": {"ghcr.io": {"auth": _auth("o", "other-pass-1")}}})
    found = lookup("ghcr.io", registry_options(docker_config_dir=str(other)))
    assert found is not None and found.username == "o"


def test_cred_helper_for_the_host_wins_over_auths(registry_env: Path, helper_bin: Path) -> None:
    _helper(
        helper_bin,
        "ecr-login",
        'read server; printf \'{"Username":"AWS","Secret":"ecr-pass-for-%s"}\' "$server"\n',
    )
    host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    _config(
        registry_env,
        {"credHelpers": {host: "ecr-login"}, "auths": {host: {"auth": _auth("stale", "stale-pass-1")}}},
    )
    found = lookup(host, registry_options())
    assert found is not None
    assert (found.username, found.password, found.source) == (
        "AWS",
        f"ecr-pass-for-{host}",
        "docker-credential-ecr-login",
    )


def test_creds_store_gets_docker_hubs_server_address(registry_env: Path, helper_bin: Path) -> None:
    _helper(
        helper_bin, "store", 'read server; printf \'{"Username":"%s","Secret":"store-pass-1"}\' "$server"\n'
    )
    _config(registry_env, {"credsStore": "store"})
    found = lookup("docker.io", registry_options())
    assert found is not None and found.username == "https://index.docker.io/v1/"


def test_a_helper_without_credentials_falls_back_to_auths(registry_env: Path, helper_bin: Path) -> None:
    _helper(helper_bin, "store", "echo 'credentials not found in native keychain'; exit 1\n")
    _config(registry_env, {"credsStore": "store", "auths": {"ghcr.io": {"auth": _auth("a", "auths-pass-1")}}})
    found = lookup("ghcr.io", registry_options())
    assert found is not None and found.username == "a"


def test_a_failing_helper_is_an_error(registry_env: Path, helper_bin: Path) -> None:
    _helper(helper_bin, "broken", "echo 'keychain locked' >&2; exit 3\n")
    _config(registry_env, {"credsStore": "broken"})
    with pytest.raises(
        RegistryError, match="docker-credential-broken get failed with exit code 3: keychain locked"
    ):
        lookup("ghcr.io", registry_options())


def test_a_missing_helper_says_what_to_do(registry_env: Path) -> None:
    _config(registry_env, {"credsStore": "nonexistent-helper"})
    with pytest.raises(
        RegistryError, match="docker-credential-nonexistent-helper, which is not on PATH: install it"
    ):
        lookup("ghcr.io", registry_options())


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "is not a JSON object"),
        (json.dumps({"auths": {"ghcr.io": {"auth": "%%%"}}}), "'auth' is not base64 of USER:PASSWORD"),
        (
            json.dumps({"auths": {"ghcr.io": {"auth": base64.b64encode(b"nocolon").decode()}}}),
            "not base64 of USER",
        ),
    ],
)
def test_a_broken_docker_config_is_bad_input(registry_env: Path, config: str, message: str) -> None:
    (registry_env / "config.json").write_text(config)
    with pytest.raises(InputError, match=message):
        lookup("ghcr.io", registry_options())


@pytest.mark.parametrize("data", [b'{"auths": {"ghcr.io": {"auth": "\xff\xfe"}}}', b"\xef\xbb\xbf\x80{}"])
def test_a_docker_config_that_is_not_utf8_is_bad_input_naming_the_file(
    registry_env: Path, data: bytes
) -> None:
    (registry_env / "config.json").write_bytes(data)
    with pytest.raises(
        InputError, match=r"config\.json is not UTF-8 text \(byte \d+\); fix it or set DOCKER_CONFIG"
    ):
        lookup("ghcr.io", registry_options())


def test_a_docker_config_nested_too_deeply_is_bad_input(registry_env: Path) -> None:
    (registry_env / "config.json").write_text("[" * 100_000)
    with pytest.raises(InputError, match="nests too deeply"):
        lookup("ghcr.io", registry_options())


def test_explicit_credentials_belong_to_one_registry(
    registry_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(registry_env, {"auths": {"quay.io": {"auth": _auth("from-config", "config-pass-1")}}})
    options = registry_options(username="robot", password="robot-pass-1", credentials_host="ghcr.io")
    found = lookup("ghcr.io", options)
    assert found is not None and found.source == "--registry-username"
    assert lookup("registry.example.com", options) is None
    other = lookup("quay.io", options)  # Docker's own entry for that host still counts
    assert other is not None and other.username == "from-config"
    unnamed = registry_options(username="robot", password="robot-pass-1")
    assert lookup("ghcr.io", unnamed, default_host="quay.io") is None
    assert lookup("ghcr.io", unnamed) is not None  # no owner named at all: whoever asks (one image)
    hub = registry_options(username="robot", password="robot-pass-1", credentials_host="index.docker.io")
    assert lookup("docker.io", hub) is not None
    monkeypatch.setenv("AUTODEPLOY_REGISTRY_USERNAME", "env-user")
    monkeypatch.setenv("AUTODEPLOY_REGISTRY_PASSWORD", "env-pass-123")
    assert lookup("registry.example.com", registry_options(), default_host="ghcr.io") is None
    found = lookup("ghcr.io", registry_options(), default_host="ghcr.io")
    assert found is not None and found.source == "AUTODEPLOY_REGISTRY_USERNAME"


def test_half_given_credentials_are_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="--registry-username needs --registry-password-stdin"):
        lookup("ghcr.io", registry_options(username="only-user"))
    monkeypatch.setenv("AUTODEPLOY_REGISTRY_USERNAME", "only-user")
    with pytest.raises(
        InputError, match="set both AUTODEPLOY_REGISTRY_USERNAME and AUTODEPLOY_REGISTRY_PASSWORD"
    ):
        lookup("ghcr.io", registry_options())


def test_no_config_means_anonymous() -> None:
    assert lookup("ghcr.io", registry_options()) is None
