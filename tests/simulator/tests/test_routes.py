# SPDX-License-Identifier: GPL-3.0-or-later
"""The route table (routes.py) is the simulator's list of endpoints: every handler is in it, every row names a
collection or view of model.py and a method of the Engine."""

from ovirt_engine_sim.engine import Engine
from ovirt_engine_sim.model import COLLS, VIEWS
from ovirt_engine_sim.routes import ROUTES

KINDS = ("list", "add", "get", "update", "remove", "action", "view", "viewadd", "viewget", "viewupdate", "viewremove",
         "viewaction")
VIEW_KEYS = set("%s_%s" % k for k in VIEWS)


def method_name(kind, key):
    return "%s_%s" % (kind, "_".join(key) if isinstance(key, tuple) else key)


def test_every_row_names_a_known_resource_and_an_engine_method():
    for (kind, key), fn in ROUTES.items():
        assert kind in KINDS
        target = key[0] if isinstance(key, tuple) else key
        assert target in (COLLS if not kind.startswith("view") else VIEW_KEYS), (kind, key)
        assert getattr(Engine, method_name(kind, key), None) is fn, "row %r names %s" % ((kind, key), fn.__name__)


def test_no_handler_is_left_out_of_the_table():
    routed = set(method_name(kind, key) for kind, key in ROUTES)
    names = [n for n in dir(Engine) if callable(getattr(Engine, n)) and n.split("_", 1)[0] in KINDS]
    handlers = []
    for n in names:
        kind, rest = n.split("_", 1)
        if kind.startswith("view"):
            if any(rest == v or rest.startswith(v + "_") for v in VIEW_KEYS):
                handlers.append(n)
        elif rest in COLLS or (kind == "action" and any(rest.startswith(c + "_") for c in COLLS)):
            handlers.append(n)
    assert sorted(set(handlers) - routed) == []
