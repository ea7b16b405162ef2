"""GraphQL queries on one repository, with aliases: the query text, and the answer's data or the
error GitHub gave. Every batched read (files, histories, statuses, the fleet) goes through here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autodeploy.errors import GitHubError


def repository_query(declared: Sequence[str], fields: Sequence[str]) -> str:
    """`query(<declared>) { repository(owner: $owner, name: $name) { <fields> } }`; `declared`
    includes `$owner: String!` and `$name: String!`."""
    return (
        f"query({', '.join(declared)}) {{ repository(owner: $owner, name: $name) {{ "
        + " ".join(fields)
        + " } }"
    )


def graphql_data(answer: Any, doing: str) -> dict[str, Any]:
    """The `data` of a GraphQL answer, or a GitHubError with GitHub's first error message."""
    data = answer if isinstance(answer, dict) else {}
    errors = data.get("errors")
    if errors:
        first = errors[0]
        message = first.get("message") if isinstance(first, dict) else first
        raise GitHubError(f"{doing}: GitHub answered: {message}")
    inner = data.get("data")
    return inner if isinstance(inner, dict) else {}
