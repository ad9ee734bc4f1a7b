# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.sre.ovirt`` importable: the checkout is symlinked at
<tmp>/ansible_collections/sre/ovirt and that directory goes on sys.path."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.support.collection import collections_path  # noqa: E402

sys.path.insert(0, collections_path())
