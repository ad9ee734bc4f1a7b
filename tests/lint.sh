#!/usr/bin/env bash
# ansible-lint with the production profile, run from the collection's ansible_collections path.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv"
base="$("$venv/bin/python" -c "import sys; sys.path.insert(0, '$repo'); from tests.support.collection import collections_path; print(collections_path())")"
cd "$base/ansible_collections/sre/ovirt"
# changelog fragments must parse
export PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$base"
"$venv/bin/antsibull-changelog" lint
exec "$venv/bin/ansible-lint" --profile production --offline "$@"
