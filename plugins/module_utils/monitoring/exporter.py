# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sre-ovirt-exporter: the Engine's state for Prometheus (docs/monitoring.md).

Run it as ``sre-ovirt-exporter`` (the entry point the collection's Python package installs), or
``python -m ansible_collections.sre.ovirt.plugins.module_utils.monitoring.exporter``. Configuration: the
``OVIRT_*`` variables (as for every sre.ovirt client) and ``SRE_OVIRT_EXPORTER_*``, or a YAML/JSON file
(``--config``, ``SRE_OVIRT_EXPORTER_CONFIG``) with the same keys in lower case (``auth`` holds the connection).

The Engine is read at most once per ``cache_seconds``: scrapes in between are answered from the last snapshot,
and a refresh in progress is shared by the scrapes that wait for it. A refresh that fails is reported by
``sre_ovirt_exporter_up`` and ``sre_ovirt_exporter_collector_up``, never by a failed scrape or a crash."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import logging
import os
import sys
import threading
import time

try:
    from prometheus_client import core as prom_core
    from prometheus_client import exposition as prom_exposition
    HAS_PROMETHEUS_CLIENT = True
except ImportError:  # pragma: no cover - the exporter falls back to its own text renderer
    HAS_PROMETHEUS_CLIENT = False

from ansible_collections.sre.ovirt.plugins.module_utils.client.connection import (
    EngineClient, EngineSettings, RetryPolicy)
from ansible_collections.sre.ovirt.plugins.module_utils.monitoring import metrics as M
from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.collect import Collector

LOG = logging.getLogger("sre-ovirt-exporter")

DEFAULTS = {"listen": "0.0.0.0", "port": 9810, "cache_seconds": 30.0, "backup_repository": None, "vm_nics": "auto",
            "request_timeout": 30}
ENV_PREFIX = "SRE_OVIRT_EXPORTER_"


def load_config(path=None, env=None):
    env = os.environ if env is None else env
    cfg = dict(DEFAULTS)
    cfg["auth"] = {}
    path = path or env.get(ENV_PREFIX + "CONFIG")
    if path:
        with open(path) as f:
            raw = f.read()
        try:
            data = json.loads(raw)
        except ValueError:
            import yaml
            data = yaml.safe_load(raw) or {}
        cfg.update(dict((k, v) for k, v in data.items() if k != "auth"))
        cfg["auth"] = dict(data.get("auth") or {})
    for key in DEFAULTS:
        if ENV_PREFIX + key.upper() in env:
            cfg[key] = env[ENV_PREFIX + key.upper()]
    cfg["port"] = int(cfg["port"])
    cfg["cache_seconds"] = float(cfg["cache_seconds"])
    cfg["request_timeout"] = int(cfg["request_timeout"])
    nics = str(cfg["vm_nics"]).strip().lower()
    cfg["vm_nics"] = "auto" if nics == "auto" else nics in ("1", "true", "yes", "on")
    return cfg


class EngineExporter:
    """The cache between Prometheus and the Engine. ``collect()`` is what ``prometheus_client`` calls."""

    def __init__(self, cfg, client=None, clock=time.monotonic):
        self.cfg = cfg
        auth = dict(cfg.get("auth") or {})
        auth.setdefault("timeout", cfg.get("request_timeout", 30))
        self.client = client or EngineClient(EngineSettings.from_auth(auth),
                                             policy=RetryPolicy(attempts=2, deadline=10.0))
        self.collector = Collector(self.client, vm_nics=cfg.get("vm_nics", "auto"),
                                   backup_repository=cfg.get("backup_repository"))
        self.clock = clock
        self.lock = threading.Lock()
        self.snap = None
        self.fetched = None
        self.refresh_error = None
        self.refreshes = 0
        self.api = {"buckets": dict((b, 0) for b in M.API_BUCKETS), "count": 0, "sum": 0.0}

    def snapshot(self):
        with self.lock:
            if self.snap is None or self.clock() - self.fetched >= self.cfg["cache_seconds"]:
                self.refresh()
            return self.snap

    def refresh(self):
        try:
            snap = self.collector.snapshot()
            self.refresh_error = None
        except Exception as exc:  # noqa: BLE001 - scrape errors are metrics
            LOG.exception("refresh failed")
            snap = {"time": time.time(), "errors": {"engine": str(exc)}, "clusters": [], "hosts": [], "vms": [],
                    "storage_domains": [], "engine": {}, "backups": {}, "requests": []}
            self.refresh_error = str(exc)
        for entry in snap.get("requests") or ():
            self.api["count"] += 1
            self.api["sum"] += entry["seconds"]
            for b in M.API_BUCKETS:
                if entry["seconds"] <= b:
                    self.api["buckets"][b] += 1
        del self.client.request_log[:]   # the histogram keeps the counts; the log would grow forever
        if snap["errors"]:
            LOG.warning("refresh errors: %s", snap["errors"])
        self.snap, self.fetched = snap, self.clock()
        self.refreshes += 1

    def histogram(self):
        return {"buckets": [("%g" % b, self.api["buckets"][b]) for b in M.API_BUCKETS] + [("+Inf", self.api["count"])],
                "count": self.api["count"], "sum": self.api["sum"]}

    def families(self):
        snap = self.snapshot()
        return M.families(snap, api_histogram=self.histogram(), refresh_errors=self.refresh_error)

    def text(self):
        return M.text(self.families())

    # prometheus_client's collector protocol
    def collect(self):
        for name, typ, help_text, samples in self.families():
            if typ == "histogram":
                h = prom_core.HistogramMetricFamily(name, help_text, buckets=samples["buckets"],
                                                    sum_value=samples["sum"])
                yield h
                continue
            keys = sorted(samples[0][0]) if samples else []
            g = prom_core.GaugeMetricFamily(name, help_text, labels=keys)
            for labels, value in samples:
                g.add_metric([str(labels[k]) for k in keys], float(value))
            yield g

    def describe(self):
        return []


def serve(exporter, listen, port):
    """Serve /metrics (and / with a link); returns the HTTP server (its ``server_address`` has the port)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    registry = None
    if HAS_PROMETHEUS_CLIENT:
        registry = prom_core.CollectorRegistry(auto_describe=False)
        registry.register(exporter)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404)
                return
            if self.path == "/":
                body, ctype = b'<html><body><a href="/metrics">metrics</a></body></html>', "text/html"
            elif registry is not None:
                body, ctype = prom_exposition.generate_latest(registry), prom_exposition.CONTENT_TYPE_LATEST
            else:
                body, ctype = exporter.text().encode(), "text/plain; version=0.0.4; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            LOG.debug(fmt, *args)

    server = ThreadingHTTPServer((listen, port), Handler)
    server.daemon_threads = True
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(prog="sre-ovirt-exporter", description="oVirt Engine metrics for Prometheus")
    parser.add_argument("--config", help="YAML or JSON file (default: $SRE_OVIRT_EXPORTER_CONFIG)")
    parser.add_argument("--listen", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (default 9810)")
    parser.add_argument("--cache-seconds", type=float, help="read the Engine at most this often (default 30)")
    parser.add_argument("--backup-repository", help="sre.ovirt backup repository, for the newest backup per VM")
    parser.add_argument("--once", action="store_true", help="print the metrics once and exit")
    parser.add_argument("--log-level", default=os.environ.get(ENV_PREFIX + "LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.config)
    for key in ("listen", "port", "cache_seconds", "backup_repository"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    try:
        exporter = EngineExporter(cfg)
    except Exception as exc:  # noqa: BLE001 - a configuration error: say which and stop
        sys.stderr.write("sre-ovirt-exporter: %s\n" % exc)
        return 2
    if args.once:
        sys.stdout.write(exporter.text())
        return 0
    server = serve(exporter, cfg["listen"], cfg["port"])
    LOG.info("serving http://%s:%d/metrics (Engine %s, cache %ss)", cfg["listen"], server.server_address[1],
             exporter.client.settings.url, cfg["cache_seconds"])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        exporter.client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
