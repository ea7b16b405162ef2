#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian or Ubuntu machine, then runs every check.
# Needs root or sudo for apt-get (the tests start Debian's docker-registry on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v git >/dev/null || missing+=(git)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/python -m mypy
.venv/bin/python -m ruff check autodeploy
.venv/bin/zizmor --offline --quiet --config .github/zizmor.yml .github/workflows docs/workflows
.venv/bin/python -m pytest -q
