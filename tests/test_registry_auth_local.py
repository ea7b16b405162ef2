"""Basic and Bearer auth against the real registry: htpasswd, and distribution's token auth with a
token service in this process. Requests are counted at the servers."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
import requests
from registry_server import PASSWORD, USERNAME, LocalRegistry, Seeded, registry_options, sha256

from autodeploy import imageref, report
from autodeploy.errors import RegistryError
from autodeploy.registry import resolve

pytestmark = pytest.mark.usefixtures("registry_env")


def _ref(reg: LocalRegistry, repository: str, tag: str) -> imageref.ImageRef:
    return imageref.parse(reg.ref(repository, tag))


def _write_config(config_dir: Path, config: dict[str, object]) -> None:
    (config_dir / "config.json").write_text(json.dumps(config))


# -- Basic -------------------------------------------------------------------------------------


def test_basic_explicit_credentials_go_with_the_first_request_one_request_per_resolve(
    basic_registry: LocalRegistry, basic_seeded: Seeded
) -> None:
    options = registry_options(username=USERNAME, password=PASSWORD)
    for image in basic_seeded.all():
        mark = basic_registry.mark()
        found = resolve(_ref(basic_registry, image.repository, image.tag), options)
        assert found.digest == image.digest == sha256(basic_registry.stored_bytes(found.digest))
        assert [(method, status) for method, _, status in basic_registry.since(mark)] == [("HEAD", 200)]


def test_basic_docker_config_credentials_go_with_the_first_request(
    basic_registry: LocalRegistry, basic_seeded: Seeded, registry_env: Path
) -> None:
    encoded = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    _write_config(registry_env, {"auths": {basic_registry.host: {"auth": encoded}}})
    image = basic_seeded.oci
    mark = basic_registry.mark()
    found = resolve(_ref(basic_registry, image.repository, image.tag), registry_options())
    assert found.digest == image.digest
    assert [(method, status) for method, _, status in basic_registry.since(mark)] == [("HEAD", 200)]


def test_basic_credentials_from_the_environment(
    basic_registry: LocalRegistry, basic_seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTODEPLOY_REGISTRY_USERNAME", USERNAME)
    monkeypatch.setenv("AUTODEPLOY_REGISTRY_PASSWORD", PASSWORD)
    image = basic_seeded.oci_index
    assert (
        resolve(_ref(basic_registry, image.repository, image.tag), registry_options()).digest == image.digest
    )


def test_basic_credentials_from_docker_config_auths(
    basic_registry: LocalRegistry, basic_seeded: Seeded, registry_env: Path
) -> None:
    encoded = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    _write_config(registry_env, {"auths": {f"http://{basic_registry.host}": {"auth": encoded}}})
    image = basic_seeded.docker_list
    assert (
        resolve(_ref(basic_registry, image.repository, image.tag), registry_options()).digest == image.digest
    )


def test_basic_credentials_from_a_credential_helper(
    basic_registry: LocalRegistry,
    basic_seeded: Seeded,
    registry_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    asked = tmp_path / "asked"
    helper = bin_dir / "docker-credential-testhelper"
    helper.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = get ] || exit 1\ncat > "{asked}"\n'
        f'printf \'{{"ServerURL":"x","Username":"{USERNAME}","Secret":"{PASSWORD}"}}\'\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    _write_config(registry_env, {"credHelpers": {basic_registry.host: "testhelper"}})
    image = basic_seeded.oci
    assert (
        resolve(_ref(basic_registry, image.repository, image.tag), registry_options()).digest == image.digest
    )
    assert asked.read_text() == basic_registry.host


def test_basic_without_credentials_says_how_to_give_them(
    basic_registry: LocalRegistry, basic_seeded: Seeded
) -> None:
    image = basic_seeded.oci
    with pytest.raises(RegistryError, match=r"wants credentials to pull team/app: pass --registry-username"):
        resolve(_ref(basic_registry, image.repository, image.tag), registry_options())


def test_basic_wrong_password_names_the_credential_never_the_password(
    basic_registry: LocalRegistry, basic_seeded: Seeded
) -> None:
    wrong = "wrong-password-1234"
    report.secret(wrong)
    image = basic_seeded.oci
    with pytest.raises(RegistryError) as caught:
        resolve(
            _ref(basic_registry, image.repository, image.tag),
            registry_options(username=USERNAME, password=wrong),
        )
    message = caught.value.message
    assert "refused the credentials of 'alice' from --registry-username" in message
    assert wrong not in message and PASSWORD not in message
    assert base64.b64encode(f"{USERNAME}:{wrong}".encode()).decode() not in message


# -- Bearer ------------------------------------------------------------------------------------


def test_bearer_anonymous_pull_one_token_per_scope_then_one_head_per_resolution(
    token_registry: LocalRegistry, token_seeded: Seeded
) -> None:
    service = token_registry.token_service
    assert service is not None
    session = requests.Session()
    service.requests.clear()
    mark = token_registry.mark()
    for image in token_seeded.all():
        found = resolve(
            _ref(token_registry, image.repository, image.tag), registry_options(), session=session
        )
        assert found.digest == image.digest == sha256(token_registry.stored_bytes(found.digest))
    statuses = [(method, status) for method, _, status in token_registry.since(mark)]
    assert statuses == [("HEAD", 401)] + [("HEAD", 200)] * len(token_seeded.all())
    assert service.requests == [("repository:team/app:pull", None)]

    # A second repository is a second scope: one more token, no more 401s (the realm is known).
    other = "team/other"
    from registry_server import push_image

    pushed = push_image(token_registry, other, "v1", oci=True, revision="c" * 40)
    mark = token_registry.mark()
    found = resolve(_ref(token_registry, other, "v1"), registry_options(), session=session)
    assert found.digest == pushed.digest
    assert [(m, s) for m, _, s in token_registry.since(mark)] == [("HEAD", 200)]
    assert service.requests[1:] == [("repository:team/other:pull", None)]


def test_bearer_token_request_carries_the_credentials(
    token_registry: LocalRegistry, token_seeded: Seeded
) -> None:
    service = token_registry.token_service
    assert service is not None
    service.requests.clear()
    image = token_seeded.attested
    found = resolve(
        _ref(token_registry, image.repository, image.tag),
        registry_options(username=USERNAME, password=PASSWORD),
        with_labels=True,
    )
    assert found.digest == image.digest
    assert found.labels["org.opencontainers.image.revision"] == "5" * 40
    assert service.requests == [("repository:team/app:pull", USERNAME)]  # one token for all four GETs


def test_bearer_wrong_password_is_refused_by_the_token_service(
    token_registry: LocalRegistry, token_seeded: Seeded
) -> None:
    image = token_seeded.oci
    with pytest.raises(RegistryError) as caught:
        resolve(
            _ref(token_registry, image.repository, image.tag),
            registry_options(username=USERNAME, password="not-the-password"),
        )
    assert "token service 127.0.0.1:" in caught.value.message
    assert "refused the credentials of 'alice' from --registry-username (HTTP 401)" in caught.value.message
    assert "not-the-password" not in caught.value.message
