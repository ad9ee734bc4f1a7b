# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DR mapping file: generated from two site inventories, validated against them, read and written.

Pure logic: an *inventory* is a plain dict read from one Engine by ``dr.inventory.read_site`` (or written by hand in
tests)::

    {"url": ..., "data_center": "dc-east", "clusters": ["east"], "mac_pools": ["Default"],
     "vnic_profiles": [{"network": "app", "profile": "app", "id": "..."}],
     "affinity_groups": ["g"], "affinity_labels": ["l"], "roles": ["custom"], "domains": ["internal-authz"],
     "storage_domains": [{"name", "id", "type", "address", "path", "data_center", "status", "has_vm_disks"}],
     "vms": [{"name", "id", "status", "ha", "priority", "cluster", "storage_domains": [names]}]}

The mapping file (YAML) is described in the dr_plan module's documentation. Every error names the section, the
entry and the object that does not map, so the operator can fix the file or the secondary site.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible_collections.sre.ovirt.plugins.module_utils.model import dr as facts

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

SECTIONS = tuple(name for name, _what in facts.NAME_SECTIONS)
WHAT = dict(facts.NAME_SECTIONS)
LIST_SECTIONS = SECTIONS + (facts.PROFILE_SECTION, "storage_domains", "vms")


class MappingError(Exception):
    """The mapping file cannot be read or is malformed; ``field`` names where."""

    def __init__(self, msg, field=None, errors=None):
        super(MappingError, self).__init__(msg)
        self.field = field
        self.errors = errors or [msg]


# -- name_map --------------------------------------------------------------------------------
def check_name_map(name_map):
    """``name_map`` is ``{primary: secondary}`` (applies to every kind of object, and to storage paths and
    addresses) or, per kind, ``{SECTION: {primary: secondary}}``; return a list of errors."""
    errors = []
    for key, value in (name_map or {}).items():
        if isinstance(value, dict):
            if key not in LIST_SECTIONS and key != "networks":
                errors.append("name_map.%s: not a section (one of %s) - a rule maps a name to a name" % (
                    key, ", ".join(SECTIONS + (facts.PROFILE_SECTION, "networks", "storage_domains"))))
            for k, v in value.items():
                if not isinstance(v, str):
                    errors.append("name_map.%s.%s: must be a name, got %r" % (key, k, v))
        elif not isinstance(value, str):
            errors.append("name_map.%s: must be a name (or a section of rules), got %r" % (key, value))
    return errors


def rename(name_map, section, name):
    """The secondary's name for the primary's ``name`` of this ``section``: a rule of the section, a flat rule,
    else the same name."""
    if name is None:
        return None
    name_map = name_map or {}
    scoped = name_map.get(section)
    if isinstance(scoped, dict) and name in scoped:
        return scoped[name]
    flat = name_map.get(name)
    return flat if isinstance(flat, str) else name


# -- generation ------------------------------------------------------------------------------
def vm_order(vms):
    """Primary VMs in start order: HA first, higher priority first, then by name."""
    return sorted(vms, key=lambda v: (not v.get("ha"), -(v.get("priority") or 0), v.get("name") or ""))


def select_domains(primary, names=None):
    """The primary's domains to replicate: ``names`` (each must exist), else every data domain with VM disks."""
    by_name = dict((sd["name"], sd) for sd in primary.get("storage_domains") or [])
    errors = []
    if names:
        chosen = []
        for name in names:
            if name not in by_name:
                errors.append("storage_domains: no storage domain named %s in data center %s on the primary" % (
                    name, primary.get("data_center")))
            elif name in facts.NOT_IMPORTABLE_NAMES:
                errors.append("storage_domains: %s is the hosted-engine domain; it cannot be replicated" % name)
            else:
                chosen.append(by_name[name])
        return chosen, errors
    chosen = [sd for sd in primary.get("storage_domains") or []
              if sd.get("has_vm_disks") and sd["name"] not in facts.NOT_IMPORTABLE_NAMES]
    if not chosen:
        errors.append("storage_domains: no data domain of data center %s on the primary holds VM disks; "
                      "name the replicated domains" % primary.get("data_center"))
    return chosen, errors


def generate(primary, secondary, name_map=None, storage_domains=None):
    """(mapping, errors): every primary object matched by name on the secondary, else by a ``name_map`` rule."""
    errors = check_name_map(name_map)
    mapping = {"sites": {
        "primary": {"url": primary.get("url"), "data_center": primary.get("data_center")},
        "secondary": {"url": secondary.get("url"), "data_center": secondary.get("data_center")}}}
    domains, sd_errors = select_domains(primary, storage_domains)
    errors.extend(sd_errors)
    mapping["storage_domains"] = [dict(
        name=sd["name"], id=sd.get("id"), type=sd.get("type"),
        primary_address=sd.get("address"), secondary_address=rename(name_map, "storage_domains", sd.get("address")),
        primary_path=sd.get("path"), secondary_path=rename(name_map, "storage_domains", sd.get("path")),
        data_center_primary=primary.get("data_center"), data_center_secondary=secondary.get("data_center"))
        for sd in domains]
    for section in SECTIONS:
        entries = []
        have = set(secondary.get(section) or [])
        for name in primary.get(section) or []:
            target = rename(name_map, section, name)
            if target not in have:
                errors.append("%s: the primary's %s %s has no match on the secondary (no %s named %s there; add a "
                              "name_map rule or create it)" % (section, WHAT[section], name, WHAT[section], target))
                continue
            entries.append({"primary": name, "secondary": target})
        mapping[section] = entries
    profiles = []
    have = set((p["network"], p["profile"]) for p in secondary.get(facts.PROFILE_SECTION) or [])
    for p in primary.get(facts.PROFILE_SECTION) or []:
        net = rename(name_map, "networks", p["network"])
        prof = rename(name_map, facts.PROFILE_SECTION, p["profile"])
        if (net, prof) not in have:
            errors.append("vnic_profiles: the primary's vNIC profile %s on network %s has no match on the secondary "
                          "(no profile %s on network %s there; add a name_map rule or create it)" % (
                              p["profile"], p["network"], prof, net))
            continue
        profiles.append(dict(primary_network=p["network"], primary_profile=p["profile"],
                             secondary_network=net, secondary_profile=prof))
    mapping[facts.PROFILE_SECTION] = profiles
    chosen = set(sd["name"] for sd in domains)
    mapping["vms"] = [dict(name=v["name"], id=v.get("id"), ha=bool(v.get("ha")), priority=v.get("priority") or 0,
                           cluster=v.get("cluster"), storage_domains=list(v.get("storage_domains") or []))
                      for v in vm_order(primary.get("vms") or []) if chosen.intersection(v.get("storage_domains") or [])]
    return mapping, errors


# -- shape and validation --------------------------------------------------------------------
def check_shape(mapping):
    """Errors in the file's structure (lists of entries with the right keys, no duplicates)."""
    if not isinstance(mapping, dict):
        return ["mapping file: must be a YAML mapping with the sections %s" % ", ".join(LIST_SECTIONS)]
    errors = []
    sites = mapping.get("sites")
    if not isinstance(sites, dict) or not all(isinstance(sites.get(s), dict) for s in ("primary", "secondary")):
        errors.append("sites: must hold primary and secondary, each {url, data_center}")
    for section in LIST_SECTIONS:
        value = mapping.get(section)
        if value is None:
            continue
        if not isinstance(value, list):
            errors.append("%s: must be a list, got %s" % (section, type(value).__name__))
            continue
        keys = facts.PROFILE_KEYS if section == facts.PROFILE_SECTION else (
            ("name",) if section in ("storage_domains", "vms") else ("primary", "secondary"))
        seen = set()
        for i, entry in enumerate(value):
            if not isinstance(entry, dict):
                errors.append("%s[%d]: must be a mapping with %s" % (section, i, ", ".join(keys)))
                continue
            absent = [k for k in keys if not entry.get(k)]
            if absent:
                errors.append("%s[%d]: missing %s" % (section, i, ", ".join(absent)))
                continue
            key = tuple(entry[k] for k in keys[:2 if section == facts.PROFILE_SECTION else 1])
            if key in seen:
                errors.append("%s[%d]: %s is mapped twice" % (section, i, "/".join(key)))
            seen.add(key)
    return errors


def validate(mapping, primary, secondary):
    """(errors, warnings): every primary object maps to an existing secondary object; each error names it."""
    errors = check_shape(mapping)
    warnings = []
    if errors:
        return errors, warnings
    for site, inv in (("primary", primary), ("secondary", secondary)):
        dc = (mapping["sites"][site] or {}).get("data_center")
        if dc and inv is not None and dc != inv.get("data_center"):
            errors.append("sites.%s.data_center: the file names %s, the %s site's data center is %s" % (
                site, dc, site, inv.get("data_center")))
    for section in SECTIONS:
        entries = mapping.get(section) or []
        mapped = set(e["primary"] for e in entries)
        on_primary = set(primary.get(section) or [])
        on_secondary = set(secondary.get(section) or [])
        for name in sorted(on_primary - mapped):
            errors.append("%s: the primary's %s %s is not mapped" % (section, WHAT[section], name))
        for i, e in enumerate(entries):
            if e["primary"] not in on_primary:
                errors.append("%s[%d].primary: no %s named %s on the primary" % (
                    section, i, WHAT[section], e["primary"]))
            if e["secondary"] not in on_secondary:
                errors.append("%s[%d].secondary: no %s named %s on the secondary" % (
                    section, i, WHAT[section], e["secondary"]))
    entries = mapping.get(facts.PROFILE_SECTION) or []
    mapped = set((e["primary_network"], e["primary_profile"]) for e in entries)
    on_primary = set((p["network"], p["profile"]) for p in primary.get(facts.PROFILE_SECTION) or [])
    on_secondary = set((p["network"], p["profile"]) for p in secondary.get(facts.PROFILE_SECTION) or [])
    for net, prof in sorted(on_primary - mapped):
        errors.append("vnic_profiles: the primary's vNIC profile %s on network %s is not mapped" % (prof, net))
    for i, e in enumerate(entries):
        if (e["primary_network"], e["primary_profile"]) not in on_primary:
            errors.append("vnic_profiles[%d]: no vNIC profile %s on network %s on the primary" % (
                i, e["primary_profile"], e["primary_network"]))
        if (e["secondary_network"], e["secondary_profile"]) not in on_secondary:
            errors.append("vnic_profiles[%d]: no vNIC profile %s on network %s on the secondary" % (
                i, e["secondary_profile"], e["secondary_network"]))
    p_domains = dict((sd["name"], sd) for sd in primary.get("storage_domains") or [])
    s_domains = dict((sd["name"], sd) for sd in secondary.get("storage_domains") or [])
    if not mapping.get("storage_domains"):
        errors.append("storage_domains: the file names no replicated storage domain")
    for i, sd in enumerate(mapping.get("storage_domains") or []):
        if sd["name"] in facts.NOT_IMPORTABLE_NAMES:
            errors.append("storage_domains[%d]: %s is the hosted-engine domain; it cannot be replicated" % (
                i, sd["name"]))
        if sd.get("type") and sd["type"] not in facts.IMPORT_TYPES:
            errors.append("storage_domains[%d].type: %s is not one of %s" % (
                i, sd["type"], ", ".join(facts.IMPORT_TYPES)))
        if sd["name"] not in p_domains:
            errors.append("storage_domains[%d]: no storage domain named %s in the primary's data center" % (
                i, sd["name"]))
        if sd.get("data_center_secondary") and sd["data_center_secondary"] != secondary.get("data_center"):
            errors.append("storage_domains[%d].data_center_secondary: no data center %s on the secondary" % (
                i, sd["data_center_secondary"]))
        there = s_domains.get(sd["name"])
        if there is not None and there.get("status") == facts.SD_ACTIVE and (
                sd["name"] in p_domains and p_domains[sd["name"]].get("status") == facts.SD_ACTIVE):
            warnings.append("storage_domains[%d]: %s is active on both sites; a replicated domain must not be "
                            "attached at the secondary while the primary uses it" % (i, sd["name"]))
    return errors, warnings


def _profile_key(entry):
    return (entry.get("primary_network"), entry.get("primary_profile"))


def _name_key(entry):
    return entry.get("primary")


def merged(file_mapping, mappings):
    """The file's mapping with the ``mappings`` option on top: an option's entry replaces the file's entry for
    the same primary object, other entries are kept."""
    out = dict(file_mapping or {})
    for section, entries in (mappings or {}).items():
        if entries is None:
            continue
        key = _profile_key if section == facts.PROFILE_SECTION else _name_key
        given = dict((key(e), e) for e in entries if isinstance(e, dict))
        kept = [e for e in (out.get(section) or []) if isinstance(e, dict) and key(e) not in given]
        out[section] = kept + list(entries)
    return out


def lookup(mapping, section, name):
    """The secondary name a section maps ``name`` to, or None."""
    for e in (mapping or {}).get(section) or []:
        if e.get("primary") == name:
            return e.get("secondary")
    return None


# -- file ------------------------------------------------------------------------------------
def read_file(path, field="mapping_file"):
    if not os.path.exists(path):
        raise MappingError("%s: %s does not exist (generate it with dr_plan state=generated)" % (field, path),
                           field=field)
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError("%s: cannot read %s: %s" % (field, path, exc), field=field)
    errors = check_shape(data)
    if errors:
        raise MappingError("%s: %s is malformed: %s" % (field, path, "; ".join(errors)), field=field, errors=errors)
    return data


def dump(mapping):
    ordered = ["sites", "storage_domains"] + list(SECTIONS) + [facts.PROFILE_SECTION, "vms"]
    text = "# sre.ovirt disaster-recovery mapping (sre.ovirt.dr_plan); primary -> secondary\n"
    for key in ordered + sorted(k for k in mapping if k not in ordered):
        if key in mapping:
            text += yaml.safe_dump({key: mapping[key]}, default_flow_style=False, sort_keys=False)
    return text


def write_file(path, text):
    """Write atomically (a reader never sees half a file); return True when the content changed."""
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                return False
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return True
