#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# ansible-test sanity on this checkout, offline-capable. ansible-test needs its working directory (the
# physical one: a symlink is resolved) under ansible_collections/<ns>/<name>, so the files git knows of
# (tracked, and untracked but not ignored) are copied to <tmp>/ansible_collections/sre/ovirt. Its pip
# bootstrap, normally downloaded, is replaced by a stand-in that installs pip with ensurepip.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv"
work="$(mktemp -d "${TMPDIR:-/tmp}/sre-ovirt-sanity.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/sre/ovirt"
mkdir -p "$dest"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'if test -e "{}"; then echo "{}"; fi' \
  | tar -cf - -T -) | tar -xf - -C "$dest"
pip_version="$("$venv/bin/python" - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip='([0-9.]+)'", src.read_text()).group(1))
PY
)"
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cat > "$cache" <<'PY'
"""Stand-in for get-pip.py (sre.ovirt tests/sanity.sh): ensurepip, then pip install the requested pins."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
env = dict(os.environ)
env.pop("PIP_CONFIG_FILE", None)   # ensurepip sets it to /dev/null; the machine's pip config must apply
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
PY
cd "$dest"
export PATH="$venv/bin:$PATH"
"$venv/bin/ansible-test" sanity --local --requirements --python 3.11 "$@"
