"""GitHub's published OpenAPI description (the vendored subset in tests/openapi/) for the fake and its tests.

`check_request` and `check_response` validate a request body or a response against the operation
GitHub documents; `complete` fills what a schema requires and an answer left out (the fake states
the fields that matter and lets the schema supply the rest), so every answer is whole.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SUBSET = Path(__file__).resolve().parent / "openapi" / "github-rest-subset.json"
_MULTI_SEGMENT = {"path", "ref", "basehead"}
GENERIC_STATUSES = {401, 403, 404, 429}


@functools.cache
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SUBSET.read_text())
    return data


def routes() -> list[tuple[str, re.Pattern[str]]]:
    """(template, regex) for every vendored path, most specific first."""
    out = []
    for template in spec()["paths"]:
        pattern = re.sub(
            r"\\\{(\w+)\\\}",
            lambda m: f"(?P<{m.group(1)}>{'.*' if m.group(1) in _MULTI_SEGMENT else '[^/]+'})",
            re.escape(template),
        )
        out.append((template, re.compile(pattern)))
    return sorted(out, key=lambda item: (-item[0].count("/"), -len(item[0])))


def operation(method: str, template: str) -> dict[str, Any]:
    op: dict[str, Any] = spec()["paths"][template][method.lower()]
    return op


def check_request(method: str, template: str, query: dict[str, str], body: Any) -> list[str]:
    """Problems with a request: unknown query parameters, or a body the operation does not accept."""
    op = operation(method, template)
    known = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
    problems = [f"query parameter {name!r} is not documented" for name in query if name not in known]
    for name, value in query.items():
        schema = known.get(name, {}).get("schema", {})
        if schema.get("type") == "integer" and not str(value).isdigit():
            problems.append(f"query parameter {name}={value!r} is not an integer")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"query parameter {name}={value!r} is not one of {schema['enum']}")
    request_body = op.get("requestBody") or {}
    if body is not None:
        if not request_body or request_body.get("schema") is None:
            problems.append("the operation takes no JSON body")
        else:
            problems += _errors(request_body["schema"], body)
    return problems


def check_response(method: str, template: str, status: int, body: Any) -> list[str]:
    responses = operation(method, template)["responses"]
    documented = responses.get(str(status))
    if status == 304 and method == "GET":  # any conditional GET (If-None-Match) may be answered so
        return [] if body in (None, "") else ["a 304 has no body, but one was sent"]
    if documented is None and (status in GENERIC_STATUSES or status >= 500):
        # Any operation can meet bad credentials, a rate limit or an outage; GitHub's body is the usual one.
        return _errors({"$ref": "#/components/schemas/basic-error"}, body)
    if documented is None:
        return [
            f"status {status} is not documented for {method} {template} (documented: {sorted(responses)})"
        ]
    if documented.get("schema") is None:
        if status >= 400 and body is not None:  # documented bare, but GitHub sends its usual error body
            return _errors({"$ref": "#/components/schemas/basic-error"}, body)
        return [] if body in (None, "") else [f"status {status} documents no body, but one was sent"]
    return _errors(documented["schema"], body)


def response_schema(method: str, template: str, status: int) -> dict[str, Any]:
    schema: dict[str, Any] = operation(method, template)["responses"][str(status)]["schema"]
    return schema


def complete(schema: dict[str, Any], value: Any) -> Any:
    """`value` with every property `schema` requires and `value` lacks filled in with a placeholder."""
    schema = _resolve(schema)
    if "allOf" in schema:
        for part in schema["allOf"]:
            value = complete(part, value)
        return value
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _complete_choice(schema[key], value)
    types = schema.get("type")
    if isinstance(types, list):
        if value is None and "null" in types:
            return None
        types = next(t for t in types if t != "null")
    if value is None:
        return _placeholder(schema, types)
    if types == "object" and isinstance(value, dict):
        out = dict(value)
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in out:
                out[name] = complete(props.get(name, {}), None)
        for name, sub in props.items():
            if name in value:
                out[name] = complete(sub, value[name])
        return out
    if types == "array" and isinstance(value, list):
        return [complete(schema.get("items", {}), item) for item in value]
    return value


def _complete_choice(choices: list[dict[str, Any]], value: Any) -> Any:
    if value is None and any(_resolve(c).get("type") == "null" for c in choices):
        return None
    first_error = None
    for choice in choices:
        candidate = complete(choice, copy.deepcopy(value))
        problems = _errors(choice, candidate)
        if not problems:
            return candidate
        first_error = first_error or problems
    raise AssertionError(f"no alternative fits {str(value)[:200]}: {first_error}")


def _placeholder(schema: dict[str, Any], kind: Any) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if kind == "object" or (kind is None and "properties" in schema):
        return complete(schema, {})
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 0
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt == "uri":
        return "https://example.invalid/"
    if fmt == "email":
        return "someone@example.invalid"
    return ""


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


_validators: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, Draft202012Validator({**schema, "components": spec()["components"]}))
        _validators[id(schema)] = cached
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
        for e in cached[1].iter_errors(instance)
    ]
