"""Credentials: a token from the environment, or a GitHub App (JWT, installation, installation token)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github_fake import WRITE_ALL
from github_world import GITOPS, World

from autodeploy import report
from autodeploy.errors import GitHubError, InputError
from autodeploy.github import auth
from autodeploy.github import credentials as credentials_module
from autodeploy.github.api import RepoApi
from autodeploy.github.connection import ClientOptions
from autodeploy.github.repo import GitHubRepo

APP_ID = 4242


def from_environment(
    env: dict[str, str],
    *,
    app_id: str | None = None,
    private_key_file: str | None = None,
    installation_id: int | None = None,
) -> credentials_module.Credentials:
    """The credentials the CLI chooses from these variables and flags."""
    secrets = credentials_module.Secrets(
        token=env.get("AUTODEPLOY_GITHUB_TOKEN"),
        actions_token=env.get("GITHUB_TOKEN"),
        app_id=app_id,
        private_key=env.get("AUTODEPLOY_APP_PRIVATE_KEY"),
    )
    return credentials_module.choose(
        secrets, private_key_file=private_key_file, installation_id=installation_id
    )


@pytest.fixture(scope="module")
def keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def world(github, keypair) -> World:
    made = World(github)
    github.add_app(APP_ID, keypair[1], {GITOPS: 77, "team/api": 77})
    return made


def options(world: World) -> ClientOptions:
    return ClientOptions(api_url=world.fake.api_url, sleep=lambda s: None)


def test_a_github_app_deploys_with_an_installation_token(world: World, keypair) -> None:
    credentials = from_environment({"AUTODEPLOY_APP_PRIVATE_KEY": keypair[0]}, app_id=str(APP_ID))
    mark = world.mark()
    client = auth.client_for(credentials, GITOPS, options(world))

    assert world.calls_since(mark) == [
        "GET /repos/{owner}/{repo}/installation",
        "POST /app/installations/{installation_id}/access_tokens",
    ]
    # Least privilege: the GitOps repository alone, and only what a deploy writes.
    assert world.fake.calls[mark + 1].body == {
        "repositories": ["gitops"],
        "permissions": {"contents": "write", "pull_requests": "write"},
    }
    assert client.granted == {"metadata": "read", "contents": "write", "pull_requests": "write"}
    outcome = world.deploy(
        "api", "production", "1.1.0", 2, repo=GitHubRepo(RepoApi(client, GITOPS), base="main")
    )
    assert outcome.applied and outcome.applied.pr_created
    minted = world.fake.calls[mark + 1].answer["token"]
    assert report.redact(f"token {minted}") == "token ***"
    assert world.fake.tokens[minted].repos == frozenset({GITOPS})  # not team/api, though installed there


def test_an_installation_id_saves_the_lookup(world: World, keypair) -> None:
    credentials = from_environment(
        {"AUTODEPLOY_APP_PRIVATE_KEY": keypair[0]}, app_id=str(APP_ID), installation_id=77
    )
    mark = world.mark()
    auth.client_for(credentials, GITOPS, options(world))
    assert world.calls_since(mark) == ["POST /app/installations/{installation_id}/access_tokens"]


def test_an_app_that_is_not_installed_on_the_repo(world: World, keypair) -> None:
    credentials = credentials_module.Credentials("app", app=credentials_module.App(str(APP_ID), keypair[0]))
    with pytest.raises(
        InputError, match=r"the App is not installed on team/elsewhere .*install it on that repository"
    ):
        auth.client_for(credentials, "team/elsewhere", options(world))


def test_a_key_that_is_not_the_apps(world: World) -> None:
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    credentials = credentials_module.Credentials("app", app=credentials_module.App(str(APP_ID), other))
    with pytest.raises(
        GitHubError,
        match=r"401 A JSON web token could not be decoded.*check --app-id and the App's private key",
    ):
        auth.client_for(credentials, GITOPS, options(world))


def test_the_key_from_a_file_or_a_single_line_secret(tmp_path, keypair) -> None:
    path = tmp_path / "app.pem"
    path.write_text(keypair[0])
    from_file = from_environment({}, app_id="12", private_key_file=str(path))
    escaped = keypair[0].strip().replace("\n", "\\n")
    from_env = from_environment({"AUTODEPLOY_APP_PRIVATE_KEY": escaped}, app_id="12")

    assert from_file.app and from_env.app and from_file.app.private_key == from_env.app.private_key
    assert "MII" not in report.redact(keypair[0])
    assert "private_key" not in repr(from_file)


@pytest.mark.parametrize(
    ("env", "kwargs", "message"),
    [
        ({}, {}, "no GitHub credentials: set AUTODEPLOY_GITHUB_TOKEN or GITHUB_TOKEN, or pass --app-id"),
        ({}, {"app_id": "12"}, "--app-id needs the App's private key: set AUTODEPLOY_APP_PRIVATE_KEY"),
        (
            {"AUTODEPLOY_APP_PRIVATE_KEY": "not a key"},
            {"app_id": "12"},
            "not an unencrypted RSA key in PEM form",
        ),
        ({}, {"app_id": "my-app"}, "is not a GitHub App ID"),
        ({"GITHUB_TOKEN": "x" * 10}, {"private_key_file": "k.pem"}, "--private-key-file needs --app-id"),
    ],
)
def test_missing_or_bad_credentials_are_input_errors(
    env: dict[str, str], kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        from_environment(env, **kwargs)


def test_a_der_or_ec_key_is_refused_before_any_request(tmp_path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    der = tmp_path / "app.der"
    der.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(InputError, match="not an unencrypted RSA key in PEM form"):
        from_environment({}, app_id="12", private_key_file=str(der))
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    with pytest.raises(InputError, match="this one is not RSA"):
        from_environment({"AUTODEPLOY_APP_PRIVATE_KEY": ec_pem}, app_id="12")


def test_token_precedence_and_redaction() -> None:
    both = from_environment(
        {"AUTODEPLOY_GITHUB_TOKEN": "ghp_specific_0001", "GITHUB_TOKEN": "ghs_workflow_0002"}
    )
    only = from_environment({"GITHUB_TOKEN": " ghs_workflow_0003 \n"})

    assert (both.source, both.token) == ("AUTODEPLOY_GITHUB_TOKEN", "ghp_specific_0001")
    assert (only.source, only.token) == ("GITHUB_TOKEN", "ghs_workflow_0003")
    assert report.redact("ghp_specific_0001 ghs_workflow_0003") == "*** ***"
    assert "ghp_" not in repr(both)


def test_pygithub_debug_logs_never_show_the_minted_token(world: World, keypair, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="github")
    caplog.set_level(logging.DEBUG, logger="github.Requester")
    credentials = from_environment({"AUTODEPLOY_APP_PRIVATE_KEY": keypair[0]}, app_id=str(APP_ID))
    client = auth.client_for(credentials, GITOPS, options(world))
    world.deploy("api", "production", "1.1.0", 2, repo=GitHubRepo(RepoApi(client, GITOPS), base="main"))
    minted = next(c.answer["token"] for c in world.fake.calls if c.template.endswith("/access_tokens"))

    assert "access_tokens" in caplog.text and '"token": "***"' in caplog.text  # logged, and redacted
    assert minted not in caplog.text


def test_the_cli_revokes_the_token_it_minted_and_takes_a_client_id(
    world: World, keypair, capsys, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from github_fake import client_id

    from autodeploy import cli

    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_TOKEN", "AUTODEPLOY_GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_EVENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTODEPLOY_APP_PRIVATE_KEY", keypair[0])
    argv = [
        "deploy", "--gitops-repo", GITOPS, "--base-branch", "main", "--app", "api", "--env", "production",
        "--tag", "registry.example.com/team/api:1.1.0", "--digest", "sha256:" + "1" * 64,
        "--commit", world.commits[2], "--source-repo", "team/api", "--app-id", client_id(APP_ID),
    ]  # fmt: skip
    mark = world.mark()
    assert cli.main(argv) == 0, capsys.readouterr().err
    calls = world.calls_since(mark)
    assert calls[:2] == [
        "GET /repos/{owner}/{repo}/installation",
        "POST /app/installations/{installation_id}/access_tokens",
    ]
    assert calls[-1] == "DELETE /installation/token"
    minted = world.fake.calls[mark + 1].answer["token"]
    assert world.fake.revoked == [minted] and minted not in world.fake.tokens


def test_the_runner_s_graphql_url_is_used_when_it_sets_one() -> None:
    from github.Auth import Token

    from autodeploy.github.client import Client

    given = ClientOptions(
        api_url="https://ghe.example.com/api/v3", graphql_url="https://ghe.example.com/api/graphql-v4"
    )
    assert (
        Client(Token("t0ken-value"), given, credentials_hint="").graphql_url
        == "https://ghe.example.com/api/graphql-v4"
    )
    derived = ClientOptions(api_url="https://ghe.example.com/api/v3")
    assert (
        Client(Token("t0ken-value"), derived, credentials_hint="").graphql_url
        == "https://ghe.example.com/api/graphql"
    )
