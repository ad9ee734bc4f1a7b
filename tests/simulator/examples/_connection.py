# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection settings shared by the examples: the OVIRT_* variables (what AWX injects), so every example runs
unchanged against a real Engine or against ovirt-engine-sim."""

import logging
import os

import ovirtsdk4 as sdk


def connect():
    logging.basicConfig(level=logging.DEBUG, filename=os.environ.get("EXAMPLE_LOG", "example.log"))
    return sdk.Connection(
        url=os.environ["OVIRT_URL"],
        username=os.environ["OVIRT_USERNAME"],
        password=os.environ["OVIRT_PASSWORD"],
        ca_file=os.environ["OVIRT_CAFILE"],
        debug=True,
        log=logging.getLogger(),
    )
