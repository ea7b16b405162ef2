"""`autodeploy resolve` end to end, the shared registry flags, and `--digest-from docker` against a
small fake of the Docker Engine API (the daemon is the one thing the tests cannot run)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest
from registry_server import PASSWORD, USERNAME, JsonHandler, LocalRegistry, Seeded

from autodeploy import cli, imageref
from autodeploy.errors import RegistryError
from autodeploy.registry import RegistryOptions, resolve

pytestmark = pytest.mark.usefixtures("registry_env")
ROOT = Path(__file__).resolve().parents[1]


def test_resolve_prints_one_digest_a_line(
    registry: LocalRegistry, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    images = seeded.all()
    code = cli.main(["resolve", *(registry.ref(i.repository, i.tag) for i in images)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines() == [i.digest for i in images]


def test_resolve_json(registry: LocalRegistry, seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    image = seeded.attested
    assert cli.main(["resolve", "--json", registry.ref(image.repository, image.tag)]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry == {
        "image": f"{registry.host}/team/app:attested",
        "digest": image.digest,
        "media_type": image.media_type,
        "platforms": ["linux/amd64", "linux/arm64/v8"],
        "labels": image.labels,
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["resolve", "Not A/Reference:x"], "image reference 'Not A/Reference:x' is empty or contains spaces"),
        (["resolve", "127.0.0.1:1/team/app"], "has no tag: give IMAGE:TAG"),
        (
            ["resolve", "127.0.0.1:1/team/app:v1", "--registry-username", "u"],
            "needs --registry-password-stdin",
        ),
        (["resolve", "127.0.0.1:1/team/app:v1", "--insecure-registry", "a b/c"], "is not HOST or HOST:PORT"),
        (["resolve", "127.0.0.1:1/team/app:v1", "--digest-from", "cache"], "invalid choice: 'cache'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(str(exc.code))
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_a_missing_tag_exits_1(
    registry: LocalRegistry, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["resolve", registry.ref("team/app", "nope")]) == 1
    assert "tag 'nope' not found" in capsys.readouterr().err


def test_password_from_stdin_is_used_and_never_printed(
    basic_registry: LocalRegistry,
    basic_seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ref = basic_registry.ref("team/app", "oci")
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["resolve", ref, "--registry-username", USERNAME, "--registry-password-stdin"]) == 0
    assert capsys.readouterr().out.strip() == basic_seeded.oci.digest

    wrong = "definitely-wrong-password"
    monkeypatch.setattr(sys, "stdin", io.StringIO(wrong + "\n"))
    code = cli.main(["resolve", "--json", ref, "--registry-username", USERNAME, "--registry-password-stdin"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "refused the credentials of 'alice' from --registry-username" in err
    assert wrong not in out + err


def test_resolve_as_a_process_never_imports_docker(registry: LocalRegistry, seeded: Seeded) -> None:
    ref = registry.ref("team/app", "oci-index")
    script = (
        "import sys\nfrom autodeploy.cli import main\ncode = main(['resolve', sys.argv[1]])\n"
        "assert 'docker' not in sys.modules, 'docker was imported'\nsys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script, ref], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == seeded.oci_index.digest + "\n"


def test_importing_the_registry_package_and_flags_loads_no_network_library() -> None:
    script = (
        "import sys, autodeploy.registry, autodeploy.cli.build, autodeploy.commands\n"
        "print(sorted(m for m in ('requests', 'docker', 'urllib3') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr


# -- --digest-from docker ----------------------------------------------------------------------


class FakeDockerEngine:
    """GET /version and GET /vX/distribution/{name}/json, as dockerd answers them."""

    def __init__(self, answers: dict[str, tuple[int, dict[str, object]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        engine = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                if self.path.endswith("/version"):
                    return self._reply(200, {"ApiVersion": "1.45", "Version": "27.0.0"})
                _, _, rest = self.path.partition("/distribution/")
                name = unquote(rest.removesuffix("/json"))
                engine.asked.append(name)
                self._reply(*engine.answers.get(name, (404, {"message": f"no such image: {name}"})))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"tcp://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDockerEngine]:
    fake = FakeDockerEngine({})
    thread = threading.Thread(target=fake.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", fake.url)
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_digest_from_docker_asks_the_daemon(
    engine: FakeDockerEngine, registry: LocalRegistry, seeded: Seeded
) -> None:
    image = seeded.attested
    name = registry.ref(image.repository, image.tag)
    engine.answers[name] = (
        200,
        {
            "Descriptor": {"mediaType": image.media_type, "digest": image.digest, "size": len(image.body)},
            "Platforms": [
                {"architecture": "amd64", "os": "linux"},
                {"architecture": "arm64", "os": "linux", "variant": "v8"},
                {"architecture": "unknown", "os": "unknown"},
            ],
        },
    )
    mark = registry.mark()
    found = resolve(imageref.parse(name), RegistryOptions(digest_from="docker"))
    assert engine.asked == [name]
    assert registry.since(mark) == []  # the daemon asked the registry, autodeploy did not
    assert (found.digest, found.media_type) == (image.digest, image.media_type)
    assert found.platforms == ("linux/amd64", "linux/arm64/v8")

    # Labels still come from the registry, fetched by the daemon's digest and checked against it.
    labelled = resolve(imageref.parse(name), RegistryOptions(digest_from="docker"), with_labels=True)
    assert labelled.digest == image.digest
    assert labelled.labels == image.labels


def test_digest_from_docker_cli_flag(
    engine: FakeDockerEngine, registry: LocalRegistry, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    name = registry.ref("team/app", "oci")
    engine.answers[name] = (
        200,
        {"Descriptor": {"mediaType": seeded.oci.media_type, "digest": seeded.oci.digest}},
    )
    assert cli.main(["resolve", "--digest-from", "docker", name]) == 0
    assert capsys.readouterr().out.strip() == seeded.oci.digest


def test_digest_from_docker_not_found(engine: FakeDockerEngine) -> None:
    with pytest.raises(
        RegistryError, match=r"the Docker daemon could not look up .*team/gone:v1 .*\(HTTP 404"
    ):
        resolve(imageref.parse("127.0.0.1:9/team/gone:v1"), RegistryOptions(digest_from="docker"))


def test_digest_from_docker_without_a_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    from registry_server import free_port

    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    with pytest.raises(
        RegistryError, match=r"cannot reach the Docker daemon .*: start Docker, or set DOCKER_HOST"
    ):
        resolve(imageref.parse("127.0.0.1:9/team/app:v1"), RegistryOptions(digest_from="docker", timeout=2))
