#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the collection tarball from this checkout, as a release does, and import it with galaxy-importer
# (what galaxy.ansible.com and Automation Hub run on upload), offline and without containers
# (tests/galaxy-importer.cfg). Fails on any importer error or warning, and on build artefacts in the tarball.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv"
work="$(mktemp -d "${TMPDIR:-/tmp}/sre-ovirt-galaxy.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export PATH="$venv/bin:$PATH" ANSIBLE_HOME="$work/ansible-home" ANSIBLE_NOCOLOR=1
export GALAXY_IMPORTER_CONFIG="$repo/tests/galaxy-importer.cfg"
start=$SECONDS

ansible-galaxy collection build --output-path "$work" "$repo" >/dev/null
tarball="$(ls "$work"/sre-ovirt-*.tar.gz)"

# What build_ignore must keep out, and what Galaxy and the Ansible package's inclusion rules need in.
"$venv/bin/python" - "$tarball" <<'PY'
import fnmatch, sys, tarfile
names = tarfile.open(sys.argv[1]).getnames()
forbidden = ["*.egg-info", "*.egg-info/*", "*__pycache__*", "*.pyc", ".pytest_cache*", ".venv*", ".sim-state*",
             ".git/*", ".ansible/*", "tests/output*", "tests/benchmarks/results/*", "build/*", "*.tar.gz",
             "importer_result.json", "changelogs/.plugin-cache.yaml"]
bad = sorted(n for n in names if any(fnmatch.fnmatch(n, p) for p in forbidden))
roles = sorted({n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") >= 2})
required = ["COPYING", "README.md", "MANIFEST.json", "FILES.json", "meta/runtime.yml",
            "changelogs/changelog.yaml"] + ["roles/%s/README.md" % r for r in roles]
missing = [r for r in required if r not in names]
for n in bad:
    print("build artefact in the tarball (add it to build_ignore in galaxy.yml): %s" % n)
for n in missing:
    print("missing from the tarball: %s" % n)
print("tarball: %d files, %d roles" % (len(names), len(roles)))
sys.exit(1 if bad or missing else 0)
PY

cd "$work"
rc=0
"$venv/bin/python" -m galaxy_importer.main "$tarball" > importer.log 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || [ ! -s importer_result.json ] || grep -qE '^(WARNING|ERROR|CRITICAL):' importer.log; then
  grep -vE '^Loading ' importer.log >&2 || true
  echo "galaxy-importer: FAILED (exit $rc)" >&2
  exit 1
fi
"$venv/bin/python" - importer_result.json <<'PY'
import collections, json, sys
result = json.load(open(sys.argv[1]))
kinds = collections.Counter(c["content_type"] for c in result["contents"])
undocumented = [b["content_name"] for b in result["docs_blob"]["contents"]
                if b["content_type"] in ("module", "inventory", "filter", "lookup")
                and not b.get("doc_strings")]
print("galaxy-importer: %s" % ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())))
if undocumented:
    print("galaxy-importer: no documentation for %s" % ", ".join(sorted(undocumented)))
    sys.exit(1)
PY
echo "galaxy-importer: passed in $((SECONDS - start)) s"
