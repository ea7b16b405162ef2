"""A real registry for the tests and the benchmark: Debian's `docker-registry` (distribution) on
127.0.0.1, a free port and a temporary storage directory, stopped at the end. Never skipped: if the
binary is missing the tests fail (.ci/run installs it).

Three flavours, each a session fixture: `registry` (anonymous), `basic_registry` (htpasswd Basic
auth) and `token_registry` (Bearer tokens from a small token service in this process, signed with a
throwaway key, as Harbor or Docker Hub issue them). `seed_images()` pushes every kind of image
through the registry API; each Image knows the exact bytes that were stored.

Requests are counted at the server, from distribution's access log.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import ctypes.util
import dataclasses
import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from autodeploy.registry.access import RegistryOptions

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

USERNAME = "alice"
PASSWORD = "s3cret-Passw0rd-for-tests"
TOKEN_SERVICE = "autodeploy-test-registry"
TOKEN_ISSUER = "autodeploy-test-token-service"
READY_TIMEOUT = 15.0
_ACCESS_RE = re.compile(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bcrypt_hash(password: str) -> str:
    """distribution's htpasswd wants bcrypt; libcrypt (libxcrypt on Debian) makes it."""
    library = ctypes.util.find_library("crypt") or "libcrypt.so.1"
    crypt = ctypes.CDLL(library).crypt
    crypt.restype = ctypes.c_char_p
    crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    salt = "$2b$05$" + "".join(secrets.choice(alphabet) for _ in range(21)) + "u"
    result = crypt(password.encode(), salt.encode())
    if not result or not result.startswith(b"$2"):
        raise RuntimeError("libcrypt made no bcrypt hash")
    return str(result.decode())


# -- the token service -------------------------------------------------------------------------


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet handler of the small HTTP services the tests run on 127.0.0.1, answering JSON."""

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class TokenService:
    """GET /token?service=...&scope=repository:NAME:ACTIONS, as the distribution token spec describes.

    Known users get what they ask for; anonymous callers get pull, as on public Docker Hub or GHCR
    repositories; a wrong password gets 401. Every request is recorded in `requests`.
    """

    def __init__(self, users: dict[str, str]) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.users = users
        self.requests: list[tuple[str, str | None]] = []  # (scope, user or None)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TOKEN_ISSUER)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self._x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.realm = f"http://127.0.0.1:{self._server.server_address[1]}/token"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> TokenService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def issue(self, user: str | None, scopes: list[str]) -> str:
        import jwt

        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            granted = wanted if user else [a for a in wanted if a == "pull"]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": TOKEN_ISSUER,
            "sub": user or "",
            "aud": TOKEN_SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "access": access,
        }
        return str(jwt.encode(claims, self._key, algorithm="RS256", headers={"x5c": [self._x5c]}))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                scopes = query.get("scope", [])
                user: str | None = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if service.users.get(name) != password:
                        service.requests.append((" ".join(scopes), name))
                        return self._reply(401, {"details": "incorrect username or password"})
                    user = name
                service.requests.append((" ".join(scopes), user))
                token = service.issue(user, scopes)
                self._reply(200, {"token": token, "access_token": token, "expires_in": 300})

        return Handler


# -- the registry ------------------------------------------------------------------------------


@dataclass
class LocalRegistry:
    host: str  # "127.0.0.1:PORT"
    root: Path  # storage directory
    log_path: Path
    seed_session: requests.Session  # may push; authenticated where the registry wants it
    token_service: TokenService | None = None
    basic_auth: tuple[str, str] | None = None
    _marks: int = 0

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def ref(self, repository: str, reference: str) -> str:
        separator = "@" if reference.startswith("sha256:") else ":"
        return f"{self.host}/{repository}{separator}{reference}"

    # seeding, through the registry API

    def _push_headers(self, repository: str) -> dict[str, str]:
        if self.token_service is None:
            return {}
        token = self.token_service.issue(USERNAME, [f"repository:{repository}:pull,push"])
        return {"Authorization": f"Bearer {token}"}

    def push_blob(self, repository: str, data: bytes) -> str:
        digest = sha256(data)
        headers = self._push_headers(repository)
        started = self.seed_session.post(
            self.url(f"/v2/{repository}/blobs/uploads/"), headers=headers, timeout=10
        )
        started.raise_for_status()
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.url(location)
        done = self.seed_session.put(
            location, params={"digest": digest}, data=data, headers=headers, timeout=10
        )
        done.raise_for_status()
        return digest

    def push_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        headers = {"Content-Type": media_type, **self._push_headers(repository)}
        response = self.seed_session.put(
            self.url(f"/v2/{repository}/manifests/{reference}"), data=body, headers=headers, timeout=10
        )
        if response.status_code != 201:
            raise RuntimeError(
                f"push of {repository}:{reference} failed: {response.status_code} {response.text}"
            )
        assert response.headers["Docker-Content-Digest"] == sha256(body)
        return sha256(body)

    def stored_bytes(self, digest: str) -> bytes:
        """The bytes distribution keeps for `digest`, straight from its storage directory."""
        hexdigest = digest.removeprefix("sha256:")
        path = self.root / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"
        return path.read_bytes()

    # counting requests at the server

    def access_log(self) -> list[tuple[str, str, int]]:
        text = self.log_path.read_text(errors="replace")
        return [(m[1], m[2], int(m[3])) for m in _ACCESS_RE.finditer(text)]

    def mark(self) -> int:
        """A point in the access log; `since(mark)` lists the requests after it."""
        self._sync()
        return len(self.access_log())

    def since(self, mark: int) -> list[tuple[str, str, int]]:
        self._sync()
        return [entry for entry in self.access_log()[mark:] if "/_mark/" not in entry[1]]

    def _sync(self) -> None:
        """distribution logs a request after answering it: a marker request, logged last, flushes."""
        self._marks += 1
        marker = f"/v2/_mark/{self._marks}/tags/list"
        requests.get(self.url(marker), timeout=5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(uri == marker for _, uri, _ in self.access_log()):
                time.sleep(0.02)
                return
            time.sleep(0.01)
        raise RuntimeError("the registry never logged the marker request")


_CONFIG_TEMPLATE = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
{auth}"""


@contextlib.contextmanager
def start_registry(workdir: Path, *, auth: str | None = None) -> Iterator[LocalRegistry]:
    """Run docker-registry until the block ends. auth: None, "basic" (htpasswd) or "token"."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not installed: apt-get install docker-registry (.ci/run does)")
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "storage"
    log_path = workdir / "registry.log"
    session = requests.Session()
    with contextlib.ExitStack() as stack:
        token_service: TokenService | None = None
        auth_config = ""
        if auth == "basic":
            htpasswd = workdir / "htpasswd"
            htpasswd.write_text(f"{USERNAME}:{bcrypt_hash(PASSWORD)}\n")
            auth_config = f"auth:\n  htpasswd:\n    realm: autodeploy-test\n    path: {htpasswd}\n"
            session.auth = (USERNAME, PASSWORD)
        elif auth == "token":
            token_service = stack.enter_context(TokenService({USERNAME: PASSWORD}))
            cert = workdir / "token-cert.pem"
            cert.write_bytes(token_service.cert_pem)
            auth_config = (
                f"auth:\n  token:\n    realm: {token_service.realm}\n    service: {TOKEN_SERVICE}\n"
                f"    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {cert}\n"
            )
        elif auth is not None:
            raise ValueError(f"unknown auth {auth!r}")

        for _ in range(3):  # another process may take the free port between our check and its bind
            port = free_port()
            config = workdir / "config.yml"
            config.write_text(_CONFIG_TEMPLATE.format(root=root, port=port, auth=auth_config))
            log = stack.enter_context(log_path.open("ab"))
            process = subprocess.Popen(
                [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            stack.callback(_stop, process)
            if _wait_ready(process, f"http://127.0.0.1:{port}/v2/"):
                break
        else:
            raise RuntimeError(f"docker-registry did not start: {log_path.read_text()[-2000:]}")
        yield LocalRegistry(
            host=f"127.0.0.1:{port}",
            root=root,
            log_path=log_path,
            seed_session=session,
            token_service=token_service,
            basic_auth=(USERNAME, PASSWORD) if auth == "basic" else None,
        )


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if requests.get(url, timeout=1).status_code in (200, 401):
                return True
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# -- images ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str
    media_type: str
    body: bytes  # the exact manifest bytes pushed
    platforms: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)  # of the image, or of an index's first image
    children: tuple[str, ...] = ()  # an index's child digests, in order

    @property
    def digest(self) -> str:
        return sha256(self.body)


def _json(data: object) -> bytes:
    return json.dumps(data, indent=3).encode()  # indented: a re-serialized manifest would hash differently


def _labels(revision: str) -> dict[str, str]:
    return {
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.source": "https://github.com/ditkrg/my-api",
    }


def push_image(
    reg: LocalRegistry, repository: str, tag: str | None, *, oci: bool, arch: str = "amd64", revision: str
) -> Image:
    """One single-platform image: a config blob with labels, a layer, the manifest."""
    labels = _labels(revision)
    layer = f"layer {arch} {revision} {uuid.uuid4()}".encode()
    config = _json(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
            "history": [{"created_by": "autodeploy tests"}],
        }
    )
    config_digest = reg.push_blob(repository, config)
    layer_digest = reg.push_blob(repository, layer)
    media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
    body = _json(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json"
                if oci
                else "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": config_digest,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"
                    if oci
                    else "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": layer_digest,
                }
            ],
        }
    )
    reg.push_manifest(repository, tag or sha256(body), body, media_type)
    return Image(repository, tag or "", media_type, body, (), labels)


def _attestation(reg: LocalRegistry, repository: str, subject: str) -> dict[str, object]:
    """A buildx provenance attestation: platform unknown/unknown, and labels that must not be read."""
    statement = _json({"_type": "https://in-toto.io/Statement/v0.1", "subject": [{"digest": subject}]})
    config = _json(
        {"architecture": "unknown", "os": "unknown", "config": {"Labels": _labels("0" * 40)}, "rootfs": {}}
    )
    config_digest = reg.push_blob(repository, config)
    layer_digest = reg.push_blob(repository, statement)
    body = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": config_digest,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.in-toto+json",
                    "size": len(statement),
                    "digest": layer_digest,
                    "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
                }
            ],
        }
    )
    digest = reg.push_manifest(repository, sha256(body), body, OCI_MANIFEST)
    return {
        "mediaType": OCI_MANIFEST,
        "digest": digest,
        "size": len(body),
        "annotations": {
            "vnd.docker.reference.digest": subject,
            "vnd.docker.reference.type": "attestation-manifest",
        },
        "platform": {"architecture": "unknown", "os": "unknown"},
    }


def push_index(
    reg: LocalRegistry,
    repository: str,
    tag: str,
    *,
    oci: bool,
    revision: str,
    attestation_first: bool = False,
) -> Image:
    """amd64 and arm64/v8 images under an OCI index or a Docker manifest list; optionally with a
    buildx attestation listed before them."""
    children = []
    entries: list[dict[str, object]] = []
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        child = push_image(reg, repository, None, oci=oci, arch=arch, revision=revision)
        platform = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
        entries.append(
            {
                "mediaType": child.media_type,
                "digest": child.digest,
                "size": len(child.body),
                "platform": platform,
            }
        )
        children.append(child.digest)
    if attestation_first:
        entries.insert(0, _attestation(reg, repository, children[0]))
    media_type = OCI_INDEX if oci else DOCKER_LIST
    body = _json({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})
    reg.push_manifest(repository, tag, body, media_type)
    return Image(
        repository,
        tag,
        media_type,
        body,
        ("linux/amd64", "linux/arm64/v8"),
        _labels(revision),
        tuple(str(e["digest"]) for e in entries),
    )


@dataclass(frozen=True)
class Seeded:
    docker_v2: Image
    oci: Image
    oci_index: Image
    docker_list: Image
    attested: Image

    def all(self) -> tuple[Image, ...]:
        return (self.docker_v2, self.oci, self.oci_index, self.docker_list, self.attested)


def seed_images(reg: LocalRegistry, repository: str = "team/app") -> Seeded:
    return Seeded(
        docker_v2=push_image(reg, repository, "docker-v2", oci=False, revision="1" * 40),
        oci=push_image(reg, repository, "oci", oci=True, revision="2" * 40),
        oci_index=push_index(reg, repository, "oci-index", oci=True, revision="3" * 40),
        docker_list=push_index(reg, repository, "docker-list", oci=False, revision="4" * 40),
        attested=push_index(reg, repository, "attested", oci=True, revision="5" * 40, attestation_first=True),
    )


# -- pytest fixtures ---------------------------------------------------------------------------


def _fixture(auth: str | None, name: str):  # type: ignore[no-untyped-def]
    @pytest.fixture(scope="session", name=name)
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
        try:
            with start_registry(tmp_path_factory.mktemp(name), auth=auth) as reg:
                yield reg
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)

    return fixture


registry = _fixture(None, "registry")
basic_registry = _fixture("basic", "basic_registry")
token_registry = _fixture("token", "token_registry")


@pytest.fixture(scope="session")
def seeded(registry: LocalRegistry) -> Seeded:
    return seed_images(registry)


@pytest.fixture(scope="session")
def basic_seeded(basic_registry: LocalRegistry) -> Seeded:
    return seed_images(basic_registry)


@pytest.fixture(scope="session")
def token_seeded(token_registry: LocalRegistry) -> Seeded:
    return seed_images(token_registry)


@pytest.fixture
def registry_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No credentials from the environment or ~/.docker; forget what earlier tests taught the cache.
    Returns an empty DOCKER_CONFIG directory the test may write a config.json into."""
    from autodeploy import registry as registry_package

    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.delenv("AUTODEPLOY_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("AUTODEPLOY_REGISTRY_PASSWORD", raising=False)
    registry_package.clear_cache()
    yield config_dir
    registry_package.clear_cache()


def registry_options(**given: Any) -> RegistryOptions:
    """RegistryOptions as the CLI builds them from this process's environment (DOCKER_CONFIG and
    AUTODEPLOY_REGISTRY_*, which `registry_env` sets or clears), with `given` on top."""
    from autodeploy.cli import build, parser
    from autodeploy.environment import Environment

    args = parser.build_parser("resolve").parse_args(["resolve", "example.com/x:1"])
    return dataclasses.replace(build.registry(args, Environment.read(os.environ)), **given)
