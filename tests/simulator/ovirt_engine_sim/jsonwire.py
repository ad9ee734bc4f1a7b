# SPDX-License-Identifier: GPL-3.0-or-later
"""JSON on the wire, in the shape the Engine's REST API gives it (Jackson over the JAXB model, see
ovirt-engine restapi ``CustomObjectMapperFactory``): an entity is an object whose XML attributes (``id``,
``href``) and elements are keys; a collection wraps its members in a list keyed by the member's tag
(``{"vm": [...]}``, also nested: ``"disk_attachments": {"disk_attachment": [...]}``); links are
``"link": [{"href": ..., "rel": ...}]``; numbers and booleans are JSON numbers and booleans; dates are epoch
milliseconds; empty collections and unset values are left out (``{}`` for an empty list)."""

import datetime
import json
import xml.etree.ElementTree as ET

from ovirtsdk4.reader import Reader


def _leaf(text, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return text if text is not None else ""


def _convert(elem, value):
    """One XML element (with the SDK value it was written from) as the Engine's JSON value."""
    if len(elem) == 0 and not elem.attrib:
        return _leaf(elem.text, value)
    out = {}
    for key, val in elem.attrib.items():
        out[key] = val
    links = []
    groups = {}
    for child in elem:
        groups.setdefault(child.tag, []).append(child)
    is_list = isinstance(value, list)
    for tag, children in groups.items():
        if is_list:
            items = list(value)
            out[tag] = [_convert(c, items[i] if i < len(items) else None) for i, c in enumerate(children)]
            continue
        sub = getattr(value, tag, None) if value is not None and hasattr(value, tag) else None
        for child in children:
            if len(child) == 0 and list(child.attrib) == ["href"] and (sub is None or isinstance(sub, list)):
                # a link to a sub-collection: the Engine writes <link rel href>
                links.append({"href": child.attrib["href"], "rel": child.attrib["href"].rsplit("/", 1)[-1]})
                continue
            if tag == "link":
                links.append(dict(child.attrib))
                continue
            conv = _convert(child, sub)
            if isinstance(sub, list) and len(child) == 0 and not child.attrib:
                continue  # empty list: left out
            if len(children) > 1:
                out.setdefault(tag, []).append(conv)
            else:
                out[tag] = conv
    if links:
        out["link"] = links
    return out


def xml_to_json(text):
    """The Engine's JSON for an XML document the simulator produced."""
    if not text:
        return ""
    root = ET.fromstring(text)
    try:
        value = Reader.read(text)
    except Exception:  # noqa: BLE001 - not an SDK document: convert by shape alone
        value = None
    if isinstance(value, list):
        items = list(value)
        out = {}
        if len(root):
            out[root[0].tag] = [_convert(c, items[i] if i < len(items) else None) for i, c in enumerate(root)]
        for key, val in root.attrib.items():
            out[key] = val
        return json.dumps(out, indent=2)
    return json.dumps(_convert(root, value), indent=2)


def _scalar(val):
    if isinstance(val, bool):
        return "true" if val else "false"
    if val is None:
        return ""
    return str(val)


_ATTRIBUTES = ("id", "href", "rel")


def _build(parent, tag, val):
    if isinstance(val, list):
        for item in val:
            _build(parent, tag, item)
        return
    elem = ET.SubElement(parent, tag)
    _fill(elem, val)


def _fill(elem, val):
    if isinstance(val, dict):
        for key, sub in val.items():
            if key in _ATTRIBUTES and not isinstance(sub, (dict, list)):
                elem.set(key, _scalar(sub))
            else:
                _build(elem, key, sub)
    else:
        elem.text = _scalar(val)


def json_to_xml(body, root_tag):
    """A JSON request body (the Engine's shape, no root wrapper) as the XML the SDK's reader takes."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError("Cannot parse JSON: %s" % exc)
    if not isinstance(data, dict):
        raise ValueError("Cannot parse JSON: expected an object")
    root = ET.Element(root_tag)
    _fill(root, data)
    return ET.tostring(root)


def root_tag_of(typ):
    """The XML tag the SDK's writer uses for a type (``T.Vm`` → ``vm``)."""
    from ovirtsdk4.writer import Writer
    return ET.fromstring(Writer.write(typ())).tag
