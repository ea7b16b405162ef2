"""Regenerate tests/openapi/github-rest-subset.json from GitHub's OpenAPI description (npm @octokit/openapi).

    python tests/openapi/extract.py                 # npm pack @octokit/openapi@VERSION into a temp dir
    python tests/openapi/extract.py --package DIR   # an unpacked package (DIR/generated/api.github.com.json)

Keeps only the operations autodeploy calls (OPERATIONS) and the component schemas they reach, with
every $ref to parameters and responses inlined, OpenAPI 3.0's `nullable` turned into JSON Schema
(`type: [..., "null"]`), and `oneOf` read as `anyOf` (GitHub's description uses oneOf for
alternatives that overlap, such as basic-error and repository-rule-violation-error, which no body
could match exactly once), so `jsonschema` can validate requests and responses against it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

VERSION = "23.0.2"
OUT = Path(__file__).resolve().parent / "github-rest-subset.json"
OPERATIONS = {
    "/repos/{owner}/{repo}": ["get"],
    "/repos/{owner}/{repo}/contents/{path}": ["get", "put"],
    "/repos/{owner}/{repo}/git/ref/{ref}": ["get"],
    "/repos/{owner}/{repo}/git/refs": ["post"],
    "/repos/{owner}/{repo}/git/refs/{ref}": ["patch"],
    "/repos/{owner}/{repo}/git/commits": ["post"],
    "/repos/{owner}/{repo}/git/commits/{commit_sha}": ["get"],
    "/repos/{owner}/{repo}/git/trees": ["post"],
    "/repos/{owner}/{repo}/git/trees/{tree_sha}": ["get"],
    "/repos/{owner}/{repo}/compare/{basehead}": ["get"],
    "/repos/{owner}/{repo}/merges": ["post"],
    "/repos/{owner}/{repo}/pulls": ["get", "post"],
    "/repos/{owner}/{repo}/pulls/{pull_number}": ["get", "patch"],
    "/repos/{owner}/{repo}/pulls/{pull_number}/merge": ["put"],
    "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers": ["post"],
    "/repos/{owner}/{repo}/issues/{issue_number}/labels": ["post"],
    "/repos/{owner}/{repo}/installation": ["get"],
    "/app/installations/{installation_id}/access_tokens": ["post"],
    "/installation/token": ["delete"],
    "/repos/{owner}/{repo}/issues/{issue_number}/assignees": ["post"],
    # commit statuses (Flux's notification-controller posts them; the wait reads them)
    "/repos/{owner}/{repo}/statuses/{sha}": ["post"],
    "/repos/{owner}/{repo}/commits/{ref}/status": ["get"],
    "/repos/{owner}/{repo}/commits/{ref}/statuses": ["get"],
    "/repos/{owner}/{repo}/deployments": ["get", "post"],
    "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses": ["get", "post"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, help="an unpacked @octokit/openapi package")
    parser.add_argument("--version", default=VERSION)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        package = args.package or _npm_pack(args.version, Path(tmp))
        spec = json.loads((package / "generated" / "api.github.com.json").read_text())
        subset = extract(spec, f"@octokit/openapi@{args.version} generated/api.github.com.json")
    OUT.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(subset['components']['schemas'])} schemas)")
    return 0


def _npm_pack(version: str, into: Path) -> Path:
    subprocess.run(["npm", "pack", f"@octokit/openapi@{version}"], cwd=into, check=True, capture_output=True)
    archive = next(into.glob("octokit-openapi-*.tgz"))
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "package"


def extract(spec: dict[str, Any], source: str) -> dict[str, Any]:
    components = spec["components"]
    paths: dict[str, Any] = {}
    for path, methods in OPERATIONS.items():
        for method in methods:
            op = spec["paths"][path][method]
            paths.setdefault(path, {})[method] = {
                "operationId": op["operationId"],
                "parameters": [_inline(p, components) for p in op.get("parameters", [])],
                "requestBody": _json_schema(_inline(op.get("requestBody", {}), components)),
                "responses": {
                    status: _json_schema(_inline(response, components))
                    for status, response in op["responses"].items()
                },
            }
    schemas: dict[str, Any] = {}
    pending = _refs(paths)
    while pending:
        name = pending.pop()
        if name not in schemas:
            schemas[name] = components["schemas"][name]
            pending |= _refs(schemas[name]) - set(schemas)
    return _nullable({"source": source, "paths": paths, "components": {"schemas": schemas}})


def _inline(node: Any, components: dict[str, Any]) -> Any:
    """Replace $refs to parameters, responses and headers by their targets (schemas stay refs)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#/components/schemas/"):
            _, _, kind, name = ref.split("/")
            return _inline(components[kind][name], components)
        return {k: _inline(v, components) for k, v in node.items() if k not in {"examples", "example"}}
    if isinstance(node, list):
        return [_inline(v, components) for v in node]
    return node


def _json_schema(node: Any) -> Any:
    """A request body or response as {"schema": ..., "headers": [...]} (None when it has no JSON)."""
    if not isinstance(node, dict):
        return None
    content = (node.get("content") or {}).get("application/json") or {}
    return {"schema": content.get("schema"), "headers": sorted(node.get("headers") or {})}


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {
        ("anyOf" if k == "oneOf" else k): _nullable(v)
        for k, v in node.items()
        if k not in {"example", "examples"}
    }
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            return {"anyOf": [node, {"type": "null"}]}
    return node


if __name__ == "__main__":
    sys.exit(main())
