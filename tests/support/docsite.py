# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: (c) 2026, sre.ovirt contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guides in docs/*.md as antsibull-docs extra docs: docs/docsite/rst/<guide>.rst and the toctree in
docs/docsite/extra-docs.yml, generated with pandoc (the pinned pypandoc-binary), so the Markdown stays the one
source that people edit and the docs site carries the same text.

    python tests/support/docsite.py          # (re)write docs/docsite/rst/*.rst and extra-docs.yml
    python tests/support/docsite.py --check  # exit 1 naming the files that are out of date (make test)

Links between guides become ``:ref:`` references to the labels antsibull-docs wants
(``ansible_collections.sre.ovirt.docsite.<guide>[.<anchor>]``), links to other files of the repository become
their path in literal text, and images become their caption (the site carries text only).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(REPO, "docs")
DOCSITE = os.path.join(DOCS, "docsite")
RST_DIR = os.path.join(DOCSITE, "rst")
EXTRA_DOCS = os.path.join(DOCSITE, "extra-docs.yml")
LABEL_PREFIX = "ansible_collections.sre.ovirt.docsite."

# The order of the README's guide list; guides not named here follow in alphabetical order.
ORDER = ["real-engine", "awx", "inventory", "slo", "ha", "patching", "backup", "dr", "monitoring", "capacity",
         "simulator", "architecture"]

LUA_FILTER = r"""
local guide = nil
local guides = {}
local prefix = nil

local function label(g, anchor)
  if anchor == nil or anchor == "" then
    return prefix .. g
  end
  return prefix .. g .. "." .. anchor
end

local function repo_path(t)                      -- a path relative to docs/, as a path in the repository
  if t:sub(1, 3) == "../" then
    return t:sub(4)
  end
  return "docs/" .. t
end

local function ref(text_inlines, target)
  local text = pandoc.utils.stringify(text_inlines):gsub("`", "")
  if text:match("^[%w_-]+%.md[%w#_-]*$") then
    return pandoc.RawInline("rst", ":ref:`" .. target .. "`")   -- "backup.md": the guide's title reads better
  end
  return pandoc.RawInline("rst", ":ref:`" .. text .. " <" .. target .. ">`")
end

local function header(h)
  local id = h.identifier
  h.identifier = ""
  if id == nil or id == "" then
    return h
  end
  return {pandoc.RawBlock("rst", ".. _" .. label(guide, id) .. ":"), h}
end

local function link(l)
  local t = l.target
  if t:match("^%a[%w+.-]*:") then
    return l                                     -- http:, https:, mailto: ...
  end
  if t:sub(1, 1) == "#" then
    return ref(l.content, label(guide, t:sub(2)))
  end
  local file, anchor = t:match("^([^#]*)#?(.*)$")
  local name = file:match("^([%w_-]+)%.md$")
  if name ~= nil and guides[name] then
    return ref(l.content, label(name, anchor))
  end
  -- another file of the repository: the text, then the path as literal text
  local out = {}
  for _, i in ipairs(l.content) do table.insert(out, i) end
  table.insert(out, pandoc.Str(" ("))
  table.insert(out, pandoc.Code(repo_path(t)))
  table.insert(out, pandoc.Str(")"))
  return out
end

local function image(img)
  local caption = pandoc.utils.stringify(img.caption)
  return pandoc.Emph({pandoc.Str("[Figure: " .. caption .. " - " .. repo_path(img.src) .. " in the collection]")})
end

local function code_block(cb)
  if #cb.classes == 0 then
    cb.classes = {"text"}                          -- not the site's default YAML+Jinja highlighting
  end
  return cb
end

local function raw_block(b)
  if b.format == "html" and b.text:match("^%s*<!%-%-.*%-%->%s*$") then
    return {}                                      -- an HTML comment (markers for generators): not for the site
  end
  return b
end

function Pandoc(doc)
  guide = pandoc.utils.stringify(doc.meta.guide)
  prefix = pandoc.utils.stringify(doc.meta.label_prefix)
  for g in pandoc.utils.stringify(doc.meta.guides):gmatch("[^,]+") do guides[g] = true end
  doc = doc:walk({Link = link, Image = image, CodeBlock = code_block, RawBlock = raw_block})
  doc = doc:walk({Header = header})
  local blocks = {pandoc.RawBlock("rst", ".. _" .. label(guide, nil) .. ":")}
  for _, b in ipairs(doc.blocks) do table.insert(blocks, b) end
  doc.blocks = blocks
  return doc
end
"""


def pandoc_path():
    """The pandoc binary of the pinned pypandoc-binary (the same pandoc everywhere, so the output is stable)."""
    import pypandoc  # pylint: disable=import-outside-toplevel
    return pypandoc.get_pandoc_path()


def guides():
    """Guide names (docs/<name>.md), in the site's order."""
    names = sorted(f[:-3] for f in os.listdir(DOCS) if f.endswith(".md"))
    return [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]


def render_guide(name, all_guides, lua_path, pandoc):
    """The RST of docs/<name>.md."""
    src = os.path.join(DOCS, name + ".md")
    out = subprocess.run(
        [pandoc, "--from", "gfm+attributes", "--to", "rst", "--wrap", "preserve", "--columns", "120",
         "--lua-filter", lua_path, "--metadata", "guide=" + name, "--metadata", "guides=" + ",".join(all_guides),
         "--metadata", "label_prefix=" + LABEL_PREFIX, src],
        check=True, capture_output=True, text=True).stdout
    # pandoc puts a raw block right above the heading that follows; RST wants a blank line after a target
    out = re.sub(r"^(\.\. _%s[^\n]*:)\n(?!\n|\.\. _)" % re.escape(LABEL_PREFIX), r"\1\n\n", out, flags=re.M)
    head = (".. Generated from docs/%s.md by tests/support/docsite.py - edit the Markdown, then run\n"
            ".. `make docs-guides`.\n\n" % name)
    return head + out


def render_extra_docs(all_guides):
    """docs/docsite/extra-docs.yml: one section with every guide."""
    lines = ["---", "# Generated by tests/support/docsite.py from docs/*.md (make docs-guides).", "sections:",
             "  - title: Guides", "    toctree:"]
    for name in all_guides:
        lines.append("      - ref: %s" % name)     # the page's own title names it in the toctree
    return "\n".join(lines) + "\n"


def expected_files():
    """Path -> content of every generated file."""
    all_guides = guides()
    files = {EXTRA_DOCS: render_extra_docs(all_guides)}
    pandoc = pandoc_path()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA_FILTER)
    try:
        for name in all_guides:
            files[os.path.join(RST_DIR, name + ".rst")] = render_guide(name, all_guides, lua.name, pandoc)
    finally:
        os.unlink(lua.name)
    return files


def stale_files(files):
    """Generated files whose content differs, and .rst files no guide generates any more."""
    stale = []
    for path, content in sorted(files.items()):
        try:
            with open(path, encoding="utf-8") as f:
                if f.read() == content:
                    continue
        except FileNotFoundError:
            pass
        stale.append(path)
    if os.path.isdir(RST_DIR):
        for f in sorted(os.listdir(RST_DIR)):
            path = os.path.join(RST_DIR, f)
            if f.endswith(".rst") and path not in files:
                with open(path, encoding="utf-8") as fh:
                    if fh.readline().startswith(".. Generated from docs/"):
                        stale.append(path)    # a guide that is gone; hand-written pages are left alone
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    files = expected_files()
    stale = stale_files(files)
    if args.check:
        for path in stale:
            print("out of date: %s (run: make docs-guides)" % os.path.relpath(path, REPO))
        return 1 if stale else 0
    os.makedirs(RST_DIR, exist_ok=True)
    for path in stale:
        if path in files:
            with open(path, "w", encoding="utf-8") as f:
                f.write(files[path])
        else:
            os.unlink(path)
        print("wrote %s" % os.path.relpath(path, REPO) if path in files else "removed %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
