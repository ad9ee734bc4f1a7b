# SPDX-License-Identifier: GPL-3.0-or-later
"""Loaded by every published SDK example the conformance suite runs (PYTHONPATH points here).

It changes nothing in the scripts: it redirects ``ovirtsdk4.Connection`` to the simulator (url, credentials,
CA file, from CONFORMANCE_* variables), and shortens ``time.sleep`` to at most CONFORMANCE_MAX_SLEEP seconds,
since the scripts pace their polling for a real Engine and the simulator runs on a fast clock.
"""

import inspect
import os
import time

if os.environ.get("CONFORMANCE_URL"):
    import ovirtsdk4

    _init = ovirtsdk4.Connection.__init__

    _signature = inspect.signature(_init)

    def _redirected(self, *args, **kwargs):
        kwargs = dict(_signature.bind(self, *args, **kwargs).arguments)
        kwargs.pop("self")
        kwargs.update(url=os.environ["CONFORMANCE_URL"], username=os.environ["CONFORMANCE_USERNAME"],
                      password=os.environ["CONFORMANCE_PASSWORD"], ca_file=os.environ["CONFORMANCE_CAFILE"],
                      insecure=False, token=None)
        _init(self, **kwargs)

    ovirtsdk4.Connection.__init__ = _redirected

    _sleep = time.sleep
    _max = float(os.environ.get("CONFORMANCE_MAX_SLEEP", "0.2"))

    def _short_sleep(seconds):
        _sleep(min(seconds, _max))

    time.sleep = _short_sleep
