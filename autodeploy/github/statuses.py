"""Reading commit statuses (what Flux's notification-controller posts on the GitOps commits it
reconciles) as flux.CommitStatus values:

    commit_statuses(poller, repo, sha)    one commit: REST combined status, conditional (a 304 is free)
    statuses_of(client, repo, shas)       many commits in ONE GraphQL request (object(oid:) aliases)

Both give the latest status of each context, as GitHub combines them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from autodeploy.errors import InputError
from autodeploy.flux import CommitStatus
from autodeploy.github.client import Client
from autodeploy.github.conditional import Conditional
from autodeploy.github.graphql import graphql_data, repository_query
from autodeploy.github.models import field

NEEDS = "`statuses: read` (Commit statuses)"
_SHA_RE = re.compile(r"[0-9a-f]{40}")
_CONTEXTS = "status { contexts { context state description createdAt } }"


def commit_statuses(poller: Conditional, repo: str, sha: str) -> tuple[tuple[CommitStatus, ...], bool]:
    """(the latest status of each context on `sha`, whether that changed since this poller last
    asked); GitHub answers 304 when it did not."""
    _, statuses, changed = combined_status(poller, repo, sha)
    return statuses, changed


def combined_status(poller: Conditional, repo: str, ref: str) -> tuple[str, tuple[CommitStatus, ...], bool]:
    """(the commit `ref` names, its statuses, whether they changed): a branch's head and its statuses
    in one conditional request."""
    doing = f"reading the commit statuses of {ref[:12] if _SHA_RE.fullmatch(ref) else ref} in {repo}"
    got = poller.get(
        f"/repos/{repo}/commits/{quote(ref)}/status",
        params={"per_page": 100},
        doing=doing,
        needs=NEEDS,
        allow=(404,),
    )
    if got.status == 404:
        raise InputError(
            f"{doing}: not found (404); check that the commit exists in {repo} and that the token may "
            f"read its statuses ({NEEDS})"
        )
    statuses = tuple(_rest(item, doing) for item in field(got.data, "statuses", doing=doing))
    return str(field(got.data, "sha", doing=doing)), statuses, got.changed


def statuses_of(client: Client, repo: str, shas: Sequence[str]) -> Mapping[str, tuple[CommitStatus, ...]]:
    """The statuses of each commit in `shas` (none posted: an empty tuple), in one GraphQL request.
    A commit GitHub does not have is left out of the answer."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    bad = [sha for sha in wanted if not _SHA_RE.fullmatch(sha)]
    if bad:
        raise InputError(f"{bad[0]!r} is not a full commit sha (40 hex digits)")
    owner, name = repo.split("/", 1)
    declared = ["$owner: String!", "$name: String!"]
    variables: dict[str, Any] = {"owner": owner, "name": name}
    fields = []
    for number, sha in enumerate(wanted):
        declared.append(f"$c{number}: GitObjectID!")
        variables[f"c{number}"] = sha
        fields.append(f"c{number}: object(oid: $c{number}) {{ ... on Commit {{ oid {_CONTEXTS} }} }}")
    query = repository_query(declared, fields)
    doing = f"reading the commit statuses of {len(wanted)} commits in {repo}"
    got = client.graphql(query, variables, doing=doing, needs=NEEDS)
    repository = graphql_data(got.data, doing).get("repository")
    if not isinstance(repository, dict):
        raise InputError(f"{doing}: the repository {repo} does not exist or the token cannot see it")
    found: dict[str, tuple[CommitStatus, ...]] = {}
    for number, sha in enumerate(wanted):
        node = repository.get(f"c{number}")
        if isinstance(node, dict):
            found[sha] = graphql_statuses(node, doing)
    return found


def graphql_statuses(commit: Mapping[str, Any], doing: str) -> tuple[CommitStatus, ...]:
    """The statuses of a GraphQL Commit node queried with `status { contexts { ... } }`."""
    status = commit.get("status")
    if not isinstance(status, dict):
        return ()
    return tuple(
        CommitStatus(
            context=str(field(item, "context", doing=doing)),
            state=str(field(item, "state", doing=doing)).lower(),
            description=str(item.get("description") or ""),
            updated_at=str(item.get("createdAt") or ""),
        )
        for item in status.get("contexts") or ()
        if isinstance(item, dict)
    )


CONTEXTS_FIELDS = _CONTEXTS  # for other queries that read statuses along with other fields


def _rest(item: Any, doing: str) -> CommitStatus:
    return CommitStatus(
        context=str(field(item, "context", doing=doing)),
        state=str(field(item, "state", doing=doing)),
        description=str(item.get("description") or ""),
        updated_at=str(item.get("updated_at") or item.get("created_at") or ""),
    )
