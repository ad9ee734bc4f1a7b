#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: capacity_report
short_description: Capacity trend, forecast and recommendation per cluster, as Markdown, HTML with plots and mail
version_added: 0.1.0
description:
  - Reads the history of CPU, memory (used, and allocated to running VMs), network per cluster and storage per
    storage domain - from Prometheus (range queries over the metrics of C(sre-ovirt-exporter)) or from the samples
    file the collection keeps (O(samples_file), one sample appended per run) - and the Engine's current state.
  - Per cluster and resource, fits a robust trend (Theil-Sen on daily means, the weekly pattern removed) and gives
    the growth per month and the dates the warning and critical thresholds are reached, with 95 % intervals, or
    "not within the horizon". See docs/capacity.md for the method.
  - Adds N+1 headroom per cluster (the VMs with the largest host gone) and recommendations such as
    "add 2 hosts like host01 to cluster prod before 2027-03".
  - Writes Markdown, JSON, PNG plots and a self-contained HTML page (plots embedded) to O(output_dir), and mails the
    HTML page with the plots attached (O(mail)).
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy.read_only
  - sre.ovirt.attributes
requirements:
  - matplotlib (for the plots, the HTML page and the mail)
options:
  source:
    description:
      - Where the history comes from. Default C(prometheus) when O(prometheus_url) is set, else C(samples).
    type: str
    choices: [prometheus, samples]
  prometheus_url:
    description: Prometheus scraping C(sre-ovirt-exporter), e.g. C(http://prometheus:9090).
    type: str
  samples_file:
    description:
      - A JSON-lines file of samples the collection keeps. Each run (not in check mode) appends the current sample
        to it; with O(source=samples) it is also the history.
    type: path
  history_days:
    description: Days of history to read.
    type: int
    default: 180
  step:
    description: Seconds between history points read from Prometheus.
    type: int
    default: 3600
  horizon_days:
    description: How far ahead a threshold crossing is reported; later is "not within the horizon".
    type: int
    default: 730
  thresholds:
    description: Warning and critical thresholds in percent, C([warning, critical]) per resource.
    type: dict
    suboptions:
      cpu:
        description: CPU used.
        type: list
        elements: float
        default: [70, 90]
      memory:
        description: Memory used (and allocated).
        type: list
        elements: float
        default: [80, 90]
      storage:
        description: Storage domain space used.
        type: list
        elements: float
        default: [80, 90]
      network:
        description: Network use of the hosts' links.
        type: list
        elements: float
        default: [70, 90]
  output_dir:
    description: Write C(capacity.md), C(capacity.json), C(capacity.html) and the PNG plots here.
    type: path
  title:
    description: Title of the report and subject of the mail.
    type: str
    default: oVirt capacity report
  mail:
    description: Send the report by mail (SMTP).
    type: dict
    suboptions:
      host:
        description: SMTP server.
        type: str
        required: true
      port:
        description: SMTP port.
        type: int
        default: 25
      starttls:
        description: Upgrade the connection with STARTTLS (verified against O(mail.ca_file) or the system CAs).
        type: bool
        default: false
      ca_file:
        description: CA bundle for STARTTLS.
        type: path
      username:
        description: Log in with this user (after STARTTLS).
        type: str
      password:
        description: Password of O(mail.username).
        type: str
      sender:
        description: From address.
        type: str
        required: true
      to:
        description: Recipients.
        type: list
        elements: str
        required: true
      timeout:
        description: Seconds for the SMTP conversation.
        type: int
        default: 30
attributes:
  check_mode:
    support: full
    details: The report is computed and returned; no file is written, no sample appended and no mail sent.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Weekly capacity report from Prometheus, mailed
  sre.ovirt.capacity_report:
    prometheus_url: http://prometheus.example.com:9090
    output_dir: /var/www/capacity
    mail:
      host: smtp.example.com
      port: 587
      starttls: true
      username: capacity
      password: "{{ vault_smtp_password }}"
      sender: ovirt-capacity@example.com
      to: [sre@example.com]
  register: capacity

- name: Without Prometheus - the collection keeps its own samples (run it daily)
  sre.ovirt.capacity_report:
    samples_file: /var/lib/sre-ovirt/capacity-samples.jsonl
"""

RETURN = r"""
report:
  description:
    - C(rows) - per cluster (storage - per storage domain) and resource - C(current), C(growth_per_month) (points
      per month) with its C(growth_interval), C(warning_date), C(critical_date) and their intervals, C(note).
    - C(first_to_fill), C(first_to_fill_resource), C(n_plus_one) per cluster, C(recommendations).
  returned: always
  type: dict
first_to_fill:
  description: The cluster (or storage domain) that reaches its critical threshold first, or null.
  returned: always
  type: str
recommendations:
  description: What to add and by when.
  returned: always
  type: list
  elements: str
markdown:
  description: The report as Markdown.
  returned: always
  type: str
files:
  description: Files written to O(output_dir).
  returned: always
  type: list
  elements: str
mail:
  description: Recipients, attachments and size of the mail sent.
  returned: when O(mail) is set and not in check mode
  type: dict
"""

import json
import os
import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import matplotlib
    HAS_MATPLOTLIB = bool(matplotlib.__version__)
    MATPLOTLIB_ERROR = None
except ImportError:
    HAS_MATPLOTLIB = False
    MATPLOTLIB_ERROR = traceback.format_exc()

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError
    from ansible_collections.sre.ovirt.plugins.module_utils.monitoring import capacity as C
    from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.collect import Collector
except ImportError:  # pragma: no cover - EngineModule reports the missing SDK
    pass

MAIL_SPEC = dict(host=dict(type="str", required=True), port=dict(type="int", default=25),
                 starttls=dict(type="bool", default=False), ca_file=dict(type="path"),
                 username=dict(type="str"), password=dict(type="str", no_log=True),
                 sender=dict(type="str", required=True), to=dict(type="list", elements="str", required=True),
                 timeout=dict(type="int", default=30))
THRESHOLD_SPEC = dict(cpu=dict(type="list", elements="float", default=[70, 90]),
                      memory=dict(type="list", elements="float", default=[80, 90]),
                      storage=dict(type="list", elements="float", default=[80, 90]),
                      network=dict(type="list", elements="float", default=[70, 90]))


def main():
    module = EngineModule(
        argument_spec=dict(source=dict(type="str", choices=["prometheus", "samples"]), prometheus_url=dict(type="str"),
                           samples_file=dict(type="path"), history_days=dict(type="int", default=180),
                           step=dict(type="int", default=3600), horizon_days=dict(type="int", default=730),
                           thresholds=dict(type="dict", options=THRESHOLD_SPEC), output_dir=dict(type="path"),
                           title=dict(type="str", default="oVirt capacity report"),
                           mail=dict(type="dict", options=MAIL_SPEC)),
        supports_check_mode=True, waits=False, mutating=False)
    p = module.params
    source = p["source"] or ("prometheus" if p["prometheus_url"] else "samples")
    if source == "prometheus" and not p["prometheus_url"]:
        module.fail_json(msg="prometheus_url: required with source=prometheus", field="prometheus_url")
    if source == "samples" and not p["samples_file"]:
        module.fail_json(msg="samples_file: required with source=samples (or give prometheus_url)",
                         field="samples_file")
    thresholds = {}
    for key, pair in (p["thresholds"] or {}).items():
        if pair is None:
            continue
        if len(pair) != 2 or not 0 < pair[0] < pair[1] <= 100:
            module.fail_json(msg="thresholds.%s: give [warning, critical] with 0 < warning < critical <= 100, got %s"
                             % (key, pair), field="thresholds.%s" % key)
        thresholds[key] = (float(pair[0]), float(pair[1]))
    if p["history_days"] < 3:
        module.fail_json(msg="history_days: at least 3 days are needed for a trend", field="history_days")
    if (p["output_dir"] or p["mail"]) and not HAS_MATPLOTLIB:
        module.fail_json(msg=missing_required_lib("matplotlib"), exception=MATPLOTLIB_ERROR)

    try:
        snap = Collector(module.client).snapshot()
    except EngineError as exc:
        module.fail_from(exc)
    if snap["errors"].get("hosts") or snap["errors"].get("engine"):
        module.fail_json(msg="could not read the Engine: %s" % snap["errors"])
    sample = C.sample_from_snapshot(snap)
    try:
        if source == "prometheus":
            history = C.history_from_prometheus(p["prometheus_url"], p["history_days"], step=p["step"],
                                                now=snap["time"])
        else:
            history = C.history_from_samples(p["samples_file"], p["history_days"], now=snap["time"])
    except (IOError, OSError, ValueError) as exc:
        module.fail_json(msg="%s: could not read the history: %s" % (
            "prometheus_url" if source == "prometheus" else "samples_file", exc),
            field="prometheus_url" if source == "prometheus" else "samples_file")
    if not any(history.values()):
        module.warn("no history in %s for the last %d days: the report has no trend" % (
            p["prometheus_url"] if source == "prometheus" else p["samples_file"], p["history_days"]))
    report = C.analyse(history, snap, thresholds=thresholds, horizon_days=p["horizon_days"])
    md = C.markdown(report, p["title"])
    result = dict(report=C.public(report), first_to_fill=report["first_to_fill"], markdown=md, files=[],
                  recommendations=[r["text"] for r in report["recommendations"]], changed=False)
    figures = None
    if p["output_dir"] or p["mail"]:
        figures = C.plots(report)
    if p["samples_file"] and not module.check_mode:
        with open(p["samples_file"], "a") as f:
            f.write(json.dumps(sample, sort_keys=True) + "\n")
        result["changed"] = True
    page = C.html(report, figures, p["title"]) if figures is not None else None
    if p["output_dir"]:
        files = {"capacity.md": md.encode(), "capacity.html": page.encode(),
                 "capacity.json": (json.dumps(C.public(report), indent=2, sort_keys=True) + "\n").encode()}
        files.update(figures)
        result["files"] = [os.path.join(p["output_dir"], n) for n in sorted(files)]
        result["changed"] = True
        if not module.check_mode:
            if not os.path.isdir(p["output_dir"]):
                os.makedirs(p["output_dir"])
            for name, data in files.items():
                with open(os.path.join(p["output_dir"], name), "wb") as f:
                    f.write(data)
    if p["mail"] and not module.check_mode:
        mail = p["mail"]
        if mail.get("username") and not mail.get("password"):
            module.fail_json(msg="mail.password: required with mail.username", field="mail.password")
        try:
            result["mail"] = C.send_mail(mail, p["title"], page, md, figures)
        except Exception as exc:  # noqa: BLE001 - smtplib, ssl and socket errors alike
            module.fail_json(msg="mail: could not send through %s:%s: %s" % (mail["host"], mail["port"], exc),
                             field="mail", **result)
        result["changed"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()
