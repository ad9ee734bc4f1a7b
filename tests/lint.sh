#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# ansible-lint with the production profile, run from the collection's ansible_collections path.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv"
base="$("$venv/bin/python" -c "import sys; sys.path.insert(0, '$repo'); from tests.support.collection import collections_path; print(collections_path())")"
cd "$base/ansible_collections/sre/ovirt"
# changelog fragments must parse
# A private ANSIBLE_HOME: the tools install a copy of the collection there, which must never be a stale one
# left in ~/.ansible by an earlier run (it would shadow this checkout).
ansible_home="$(mktemp -d)"
trap 'rm -rf "$ansible_home"' EXIT
export ANSIBLE_HOME="$ansible_home"
export PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$base"
"$venv/bin/antsibull-changelog" lint
"$venv/bin/ansible-lint" --profile production --offline "$@"
