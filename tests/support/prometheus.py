# SPDX-License-Identifier: GPL-3.0-or-later
"""A real Prometheus and Pushgateway on loopback for tests and benchmarks, with deterministic history
backfilled by ``promtool tsdb create-blocks-from openmetrics``.

The history matches ``tests/support/sli_history.py``: one availability series up all the time (except the
``downtime`` intervals), and boots, migrations, storage IO and API calls as cumulative histograms, all within
their SLO thresholds. Samples sit at 30 s past each minute so that no sample lies on an evaluation boundary.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.request

STEP = 60


def binaries():
    found = {name: shutil.which(name) for name in ("prometheus", "promtool", "prometheus-pushgateway")}
    missing = [n for n, p in found.items() if not p]
    if missing:
        raise RuntimeError("missing %s: `make test` installs Debian's prometheus and prometheus-pushgateway "
                           "when run as root" % ", ".join(missing))
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openmetrics(now, days=30, downtime=(), step=STEP, hist_step=150, vm="history", histograms=True):
    """OpenMetrics text: ``days`` of history ending at ``now``; ``downtime``: (start, end) epoch intervals in
    which the availability series is 0. Histograms are sampled every ``hist_step`` seconds (two samples in
    each 5-minute evaluation step, enough for ``increase``)."""
    end = int(now) - int(now) % step
    start = end - days * 86400
    hist = {  # name: (threshold le, value per event, events per sample)
        "sre_ovirt_vm_boot_seconds": ("60", 30.0, 1),
        "sre_ovirt_vm_migration_seconds": ("30", 10.0, 1),
        "sre_ovirt_storage_io_seconds": ("0.005", 0.001, 20),
        "sre_ovirt_engine_api_seconds": ("2", 0.05, 5),
    }
    out = ["# HELP sre_ovirt_vm_up Whether a VM that should run is up.", "# TYPE sre_ovirt_vm_up gauge"]
    times = list(range(start + 30, end, step))
    for t in times:
        down = any(a <= t < b for a, b in downtime)
        out.append('sre_ovirt_vm_up{vm="%s"} %d %d' % (vm, 0 if down else 1, t))
    htimes = list(range(start + 30, end, hist_step)) if histograms else []
    for name, (le, value, per) in (hist.items() if histograms else ()):
        out.append("# TYPE %s histogram" % name)
        for i, t in enumerate(htimes, 1):
            n = i * per
            out.append('%s_bucket{le="%s"} %d %d' % (name, le, n, t))
            out.append('%s_bucket{le="+Inf"} %d %d' % (name, n, t))
            out.append("%s_count %d %d" % (name, n, t))
            out.append("%s_sum %g %d" % (name, n * value, t))
    out.append("# EOF")
    return "\n".join(out) + "\n"


def backfill(data_dir, text, workdir):
    os.makedirs(data_dir, exist_ok=True)
    src = os.path.join(workdir, "history.om")
    with open(src, "w") as f:
        f.write(text)
    subprocess.run([binaries()["promtool"], "tsdb", "create-blocks-from", "openmetrics", src, data_dir],
                   check=True, capture_output=True, timeout=600)
    os.unlink(src)


class Process:
    def __init__(self, proc, url, log):
        self.proc, self.url, self.log = proc, url, log

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _wait_ready(proc, url, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited: %s" % (url, open(log).read()[-2000:]))
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("%s not ready in %ss: %s" % (url, timeout, open(log).read()[-2000:]))


def start_prometheus(workdir, data_dir, scrape=(), scrape_interval="5s"):
    """``scrape``: (job name, "host:port", scheme, metrics path, ca_file or None) tuples."""
    port = free_port()
    cfg = os.path.join(workdir, "prometheus.yml")
    lines = ["global:", "  scrape_interval: %s" % scrape_interval, "scrape_configs:"]
    for job, target, scheme, path, ca in scrape:
        lines += ["  - job_name: %s" % job, "    scheme: %s" % scheme, "    metrics_path: %s" % path,
                  "    honor_labels: true", "    static_configs:", "      - targets: ['%s']" % target]
        if ca:
            lines += ["    tls_config:", "      ca_file: %s" % ca]
    if not scrape:
        lines[-1] = "scrape_configs: []"
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    log = os.path.join(workdir, "prometheus.log")
    proc = subprocess.Popen([binaries()["prometheus"], "--config.file=" + cfg, "--storage.tsdb.path=" + data_dir,
                             "--storage.tsdb.retention.time=60d", "--web.listen-address=127.0.0.1:%d" % port,
                             "--query.lookback-delta=5m"],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    url = "http://127.0.0.1:%d" % port
    _wait_ready(proc, url + "/-/ready", log)
    return Process(proc, url, log)


def start_pushgateway(workdir):
    port = free_port()
    log = os.path.join(workdir, "pushgateway.log")
    # Debian's build persists to /var/lib/prometheus/pushgateway.data by default: keep each test's in memory.
    proc = subprocess.Popen([binaries()["prometheus-pushgateway"], "--web.listen-address=127.0.0.1:%d" % port,
                             "--persistence.file="],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    url = "http://127.0.0.1:%d" % port
    _wait_ready(proc, url + "/-/ready", log)
    return Process(proc, url, log)
