# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: (c) 2026, sre.ovirt contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Galaxy, the Ansible package's inclusion rules and the docs site need from the collection's files: a README
per role that names only real variables, the licence galaxy.yml declares, version_added values that are
releases, a changelog that agrees with galaxy.yml, build_ignore keeping artefacts out of the tarball, the README
sections, and the guides converted for the docs site. (tests/galaxy.sh imports the real tarball; tests/docs.sh
lints the docs.)"""

import glob
import os
import re
import subprocess
import tarfile

import pytest
import yaml

from tests.support import docsite

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, ".venv", "bin")


def load_yaml(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return yaml.safe_load(f)


def version_tuple(text):
    return tuple(int(p) for p in text.split("."))


GALAXY = load_yaml("galaxy.yml")
ROLES = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROOT, "roles", "*", "tasks")))


@pytest.mark.parametrize("role", ROLES)
def test_role_readme_names_only_variables_the_role_has(role):
    """Galaxy refuses a role without a README; a README that names a variable the role does not have misleads."""
    role_dir = os.path.join(ROOT, "roles", role)
    readme_path = os.path.join(role_dir, "README.md")
    assert os.path.isfile(readme_path), "roles/%s has no README.md (galaxy-importer: No role readme found)" % role
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read()
    assert readme.startswith("# sre.ovirt.%s\n" % role)
    headings = re.findall(r"^## (.+)$", readme, flags=re.M)
    for section in ("Requirements", "Role variables", "Example"):
        assert any(h.startswith(section) for h in headings), "roles/%s/README.md: no %r section" % (role, section)
    specs = load_yaml("roles", role, "meta", "argument_specs.yml")["argument_specs"]
    options = set()
    for entry in specs.values():
        options.update((entry.get("options") or {}).keys())
    tasks = ""
    for path in glob.glob(os.path.join(role_dir, "tasks", "*.yml")):
        with open(path, encoding="utf-8") as f:
            tasks += f.read()
    named = set(re.findall(r"(?<![\w/.])(%s_[a-z0-9_]+)\b(?!\.)" % re.escape(role), readme))   # not file names
    unknown = sorted(n for n in named if n not in options and not re.search(r"\b%s\b" % n, tasks))
    assert not unknown, "roles/%s/README.md names variables the role neither takes nor sets: %s" % (role, unknown)
    for path in re.findall(r"`((?:playbooks|docs)/[\w./-]+\.(?:yml|md))`", readme):
        assert os.path.exists(os.path.join(ROOT, path)), "roles/%s/README.md: %s does not exist" % (role, path)


def test_copying_is_the_licence_galaxy_yml_declares():
    with open(os.path.join(ROOT, "COPYING"), encoding="utf-8") as f:
        text = f.read()
    assert text.lstrip().startswith("GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007")
    assert "END OF TERMS AND CONDITIONS" in text
    assert GALAXY["license"] == ["GPL-3.0-or-later"]
    assert "license_file" not in GALAXY     # Galaxy takes one of license and license_file


def test_version_added_is_a_release():
    """A plugin or option added in a version that was never released (0.2.0 in a 0.1.0 collection) is wrong in
    the docs site and the changelog's new-plugin lists."""
    changelog = load_yaml("changelogs", "changelog.yaml")
    allowed = set(changelog.get("releases") or {}) | {GALAXY["version"]}
    wrong = []
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True)
                       + glob.glob(os.path.join(ROOT, "plugins", "**", "*.yml"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                m = re.match(r"""\s*version_added:\s*['"]?([0-9][0-9.]*)['"]?\s*$""", line)
                if m and m.group(1) not in allowed:
                    wrong.append("%s:%d: %s" % (os.path.relpath(path, ROOT), number, m.group(1)))
    assert not wrong, "version_added must be one of %s: %s" % (sorted(allowed), wrong)


def test_changelog_agrees_with_galaxy_yml():
    changelog = load_yaml("changelogs", "changelog.yaml")
    releases = sorted(changelog["releases"], key=version_tuple)
    assert releases, "changelogs/changelog.yaml has no release (antsibull-changelog release)"
    assert version_tuple(releases[-1]) <= version_tuple(GALAXY["version"])
    with open(os.path.join(ROOT, "CHANGELOG.rst"), encoding="utf-8") as f:
        rst = f.read()
    for version in releases:
        assert "\nv%s\n" % version in rst, "CHANGELOG.rst lacks v%s: run antsibull-changelog generate" % version
    # A release removes the fragments it took; the directory must survive in git for the next ones.
    assert os.path.isfile(os.path.join(ROOT, "changelogs", "fragments", ".keep"))
    config = load_yaml("changelogs", "config.yaml")
    assert config["title"] == "%s.%s" % (GALAXY["namespace"], GALAXY["name"])


def test_requires_ansible_is_what_the_readme_says_is_tested():
    runtime = load_yaml("meta", "runtime.yml")
    m = re.fullmatch(r">=(\d+\.\d+)\.0", runtime["requires_ansible"])
    assert m, runtime["requires_ansible"]
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert "ansible-core | >= %s (the lowest tested" % m.group(1) in readme
    for heading in ("## Tested versions", "## Support", "## Communication", "## Code of conduct",
                    "## Release notes", "## Licence"):
        assert "\n%s\n" % heading in readme, "README.md: no %r section" % heading


def test_build_ignore_keeps_artefacts_out_of_the_tarball(tmp_path):
    """The release tarball of a tree full of what a checkout accumulates holds only the collection's files."""
    src = tmp_path / "src"
    wanted = ["plugins/modules/thing.py", "roles/r/tasks/main.yml", "tests/unit/test_x.py", "docs/guide.md"]
    artefacts = ["tests/simulator/ovirt_engine_sim.egg-info/PKG-INFO", "tests/output/junit/x.xml",
                 ".venv/bin/python", ".sim-state/state.json", ".pytest_cache/v/cache/lastfailed",
                 "tests/benchmarks/results/provision.json", "plugins/modules/__pycache__/thing.cpython-311.pyc",
                 "build/docsite/conf.py", ".ansible/collections/x", "sre-ovirt-0.1.0.tar.gz",
                 "importer_result.json", "changelogs/.plugin-cache.yaml"]
    for rel in wanted + artefacts:
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as f:
        (src / "galaxy.yml").write_text(f.read())
    out = tmp_path / "out"
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(src)],
                   check=True, capture_output=True, env=dict(os.environ, ANSIBLE_HOME=str(tmp_path / "home")))
    with tarfile.open(next(out.glob("*.tar.gz"))) as tar:
        files = sorted(m.name for m in tar.getmembers() if m.isfile())
    assert files == sorted(wanted + ["MANIFEST.json", "FILES.json"])


def test_guide_links_become_references_the_docs_site_resolves(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    (docs / "docsite" / "rst").mkdir(parents=True)
    (docs / "a.md").write_text(
        "# Guide A\n\nSee [b.md](b.md), [the part](b.md#part-two), [below](#later), [the code](../plugins/x.py)"
        " and <https://example.com>.\n\n![a plot](images/p.png)\n\n```\nplain text\n```\n\n<!-- marker -->\n\n"
        "## Later {#later}\n\nText.\n")
    (docs / "b.md").write_text("# Guide B\n\n## Part two\n\nText.\n")
    (docs / "docsite" / "rst" / "handwritten.rst").write_text(".. _x:\n\nMine\n====\n")
    monkeypatch.setattr(docsite, "DOCS", str(docs))
    monkeypatch.setattr(docsite, "DOCSITE", str(docs / "docsite"))
    monkeypatch.setattr(docsite, "RST_DIR", str(docs / "docsite" / "rst"))
    monkeypatch.setattr(docsite, "EXTRA_DOCS", str(docs / "docsite" / "extra-docs.yml"))
    assert docsite.main(["--check"]) == 1
    assert docsite.main([]) == 0
    assert docsite.main(["--check"]) == 0
    a = (docs / "docsite" / "rst" / "a.rst").read_text()
    p = "ansible_collections.sre.ovirt.docsite."
    assert ".. _%sa:\n" % p in a
    assert ":ref:`%sb`" % p in a
    assert ":ref:`the part <%sb.part-two>`" % p in a
    assert ":ref:`below <%sa.later>`" % p in a
    assert ".. _%sa.later:\n\nLater\n-----" % p in a
    assert "the code (``plugins/x.py``)" in a
    assert "https://example.com" in a
    assert "[Figure: a plot - docs/images/p.png in the collection]" in a
    assert ".. code:: text" in a
    assert "marker" not in a and "raw::" not in a
    extra = yaml.safe_load((docs / "docsite" / "extra-docs.yml").read_text())
    assert extra["sections"][0]["toctree"] == [{"ref": "a"}, {"ref": "b"}]
    assert (docs / "docsite" / "rst" / "handwritten.rst").exists()
    (docs / "b.md").unlink()
    assert docsite.main([]) == 0
    assert not (docs / "docsite" / "rst" / "b.rst").exists()
    assert (docs / "docsite" / "rst" / "handwritten.rst").exists()
