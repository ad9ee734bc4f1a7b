#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Molecule scenarios under extensions/molecule, with the collection importable as sre.ovirt (symlinked at
# <tmp>/ansible_collections/sre/ovirt) and the venv's tools first on PATH.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv"
if [ ! -d "$repo/extensions/molecule" ]; then
  echo "no molecule scenarios"; exit 0
fi
base="$("$venv/bin/python" -c "import sys; sys.path.insert(0, '$repo'); from tests.support.collection import collections_path; print(collections_path())")"
# A private ANSIBLE_HOME: the tools install a copy of the collection there, which must never be a stale one
# left in ~/.ansible by an earlier run (it would shadow this checkout).
ansible_home="$(mktemp -d)"
trap 'rm -rf "$ansible_home"' EXIT
export ANSIBLE_HOME="$ansible_home"
export PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$base" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
# Modules run on the controller (connection local) with the venv that has ovirtsdk4.
export ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python"
cd "$repo"
molecule test --all "$@"
