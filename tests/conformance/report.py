# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the conformance counts go: ``tests/output/conformance/NAME.json``, and pytest's closing report."""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(os.path.dirname(HERE), "output", "conformance")
RESULTS = {}     # name -> summary, printed by conftest's pytest_terminal_summary


def write_result(name, data):
    os.makedirs(OUTPUT, exist_ok=True)
    path = os.path.join(OUTPUT, name + ".json")
    with open(path, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    RESULTS[name] = dict(data.get("summary", {}), json=os.path.relpath(path))
    return path
