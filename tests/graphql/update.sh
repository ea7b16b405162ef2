#!/usr/bin/env bash
# Refresh tests/graphql/schema.graphql from GitHub's GraphQL schema as npm @octokit/graphql-schema
# publishes it (the fake's GraphQL answers and autodeploy's queries are checked against it).
set -euo pipefail
version="${1:-15.26.1}"
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@octokit/graphql-schema@$version" >/dev/null && tar xzf ./*.tgz)
cp "$tmp/package/schema.graphql" schema.graphql
cp "$tmp/package/LICENSE.md" LICENSE.md
echo "schema.graphql from @octokit/graphql-schema@$version"
