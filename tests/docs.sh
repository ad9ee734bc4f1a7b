#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The docs site with antsibull-docs, offline.
#   bash tests/docs.sh lint    (make test) the guides in docs/docsite/rst match docs/*.md, and
#                              antsibull-docs lint-collection-docs --plugin-docs: plugin, role and extra docs
#   bash tests/docs.sh build   (make docs) regenerate the guides' RST, then a Sphinx site in
#                              build/docsite/build/html: the module, role and plugin reference and the guides
# antsibull-docs reads the collection through ansible-doc, so the checkout is put where Ansible looks for
# sre.ovirt (a symlink <tmp>/ansible_collections/sre/ovirt, tests/support/collection.py).
set -euo pipefail
mode="${1:-lint}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv"
base="$("$venv/bin/python" -c "import sys; sys.path.insert(0, '$repo'); from tests.support.collection import collections_path; print(collections_path())")"
collection="$base/ansible_collections/sre/ovirt"
ansible_home="$(mktemp -d)"
trap 'rm -rf "$ansible_home"' EXIT
export ANSIBLE_HOME="$ansible_home" PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$base"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false ANSIBLE_NOCOLOR=1

case "$mode" in
  lint)
    "$venv/bin/python" "$repo/tests/support/docsite.py" --check
    antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs \
      --validate-collection-refs all --disallow-unknown-collection-refs "$collection"
    echo "antsibull-docs lint-collection-docs: clean"
    ;;
  build)
    "$venv/bin/python" "$repo/tests/support/docsite.py"    # the guides as they are now
    dest="$repo/build/docsite"
    rm -rf "$dest"
    mkdir -p "$dest"
    chmod 755 "$dest"   # antsibull-docs wants a directory only its owner can write
    antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$dest" \
      --project sre.ovirt --title "sre.ovirt" --html-short-title "sre.ovirt" \
      --copyright "sre.ovirt contributors" sre.ovirt >/dev/null
    # Offline: no intersphinx inventories to download. The few references into Ansible's own docs that
    # antsibull-docs writes (common return values, action plugins, configuration settings and their
    # environment variables) are resolved to docs.ansible.com by a missing-reference handler; any other
    # unresolved reference still fails the build (-W).
    "$venv/bin/python" - "$dest/conf.py" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
text, n = re.subn(r"^intersphinx_mapping = \{.*?^\}\n", "intersphinx_mapping = {}\n", text, flags=re.M | re.S)
assert n == 1, "conf.py: intersphinx_mapping not found"
text += """

# sre.ovirt (tests/docs.sh): references into Ansible's docs, resolved without intersphinx (offline builds).
ANSIBLE_DOCS = "https://docs.ansible.com/ansible/latest/"
ANSIBLE_LABELS = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "action_plugins": "plugins/action.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
    "playbooks_vault": "vault_guide/index.html",
}


def _ansible_reference(app, env, node, contnode):
    from docutils import nodes
    target = node.get("reftarget", "")
    if node.get("reftype") == "ref" and target in ANSIBLE_LABELS:
        url = ANSIBLE_DOCS + ANSIBLE_LABELS[target]
    elif node.get("reftype") == "envvar" and target.startswith("ANSIBLE_"):
        url = ANSIBLE_DOCS + "reference_appendices/config.html#envvar-" + target
    else:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url)
    reference.append(contnode)
    return reference


def setup(app):
    app.connect("missing-reference", _ansible_reference)
"""
open(path, "w", encoding="utf-8").write(text)
PY
    (cd "$dest" && bash ./build.sh)
    echo "docs site: $dest/build/html/index.html"
    ;;
  *)
    echo "usage: $0 lint|build" >&2
    exit 2
    ;;
esac
