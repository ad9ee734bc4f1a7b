# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The capacity report (docs/capacity.md): history per cluster and resource, trend and forecast (forecast.py),
N+1 headroom, a recommendation; Markdown, a self-contained HTML page with plots, and the mail that carries it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import io
import json
import math
import os
import time

from ansible_collections.sre.ovirt.plugins.module_utils.monitoring import forecast as F
from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.metrics import cluster_usage

DEFAULT_THRESHOLDS = {"cpu": (70.0, 90.0), "memory": (80.0, 90.0), "storage": (80.0, 90.0), "network": (70.0, 90.0)}
RESOURCES = ("cpu", "memory", "network")
LABELS = {"cpu": "CPU used", "memory": "memory used", "memory_allocated": "memory allocated to running VMs",
          "storage": "storage used", "network": "network used"}
# PromQL per resource: one series per cluster (storage: per storage domain), in percent.
PROMQL = {  # $step: each point averages the samples of its step, whatever the scrape interval
    "cpu": "avg by (cluster) (avg_over_time(ovirt_cluster_cpu_percent[$step]))",
    "memory": "avg by (cluster) (avg_over_time(ovirt_cluster_memory_percent[$step]))",
    "memory_allocated": "100 * avg by (cluster) (avg_over_time(ovirt_cluster_memory_overcommit_ratio[$step]))",
    "network": "avg by (cluster) (avg_over_time(ovirt_cluster_network_percent[$step]))",
    "storage": "100 * sum by (storage_domain) (avg_over_time(ovirt_storage_domain_used_bytes[$step])) / (sum by "
               "(storage_domain) (avg_over_time(ovirt_storage_domain_used_bytes[$step])) + sum by (storage_domain) "
               "(avg_over_time(ovirt_storage_domain_available_bytes[$step])))",
}


def day(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d") if epoch else None


def month(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m") if epoch else None


# -- history ----------------------------------------------------------------------------------------------
def history_from_prometheus(url, days, step=3600, now=None, timeout=60, opener=None):
    """{resource: {subject: (times, values)}} from range queries."""
    import urllib.parse
    from ansible.module_utils.urls import open_url
    opener = opener or open_url
    now = time.time() if now is None else now
    out = {}
    for resource, expr in PROMQL.items():
        q = urllib.parse.urlencode({"query": expr.replace("$step", "%ds" % step), "start": "%d" % (now - days * F.DAY), "end": "%d" % now,
                                    "step": "%d" % step})
        with opener("%s/api/v1/query_range?%s" % (url.rstrip("/"), q), timeout=timeout) as r:
            data = json.loads(r.read())
        if data.get("status") != "success":
            raise ValueError("Prometheus: %s" % data.get("error"))
        series = out.setdefault(resource, {})
        for s in data["data"]["result"]:
            subject = s["metric"].get("storage_domain" if resource == "storage" else "cluster", "")
            series[subject] = ([float(p[0]) for p in s["values"]], [float(p[1]) for p in s["values"]])
    return out


def sample_from_snapshot(snap):
    """One sample per cluster and storage domain, for the samples file the collection keeps."""
    usage = cluster_usage(snap)
    rec = {"time": snap["time"], "clusters": {}, "storage_domains": {}}
    for name, u in usage.items():
        rec["clusters"][name] = {"cpu": u["cpu_percent"], "memory": u["memory_percent"],
                                 "memory_allocated": u["memory_allocated_percent"], "network": u["network_percent"]}
    for sd in snap["storage_domains"]:
        if sd["used"] is not None and sd["available"] is not None and (sd["used"] + sd["available"]):
            rec["storage_domains"][sd["name"]] = 100.0 * sd["used"] / (sd["used"] + sd["available"])
    return rec


def history_from_samples(path, days, now=None):
    now = time.time() if now is None else now
    out = dict((r, {}) for r in PROMQL)
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if rec["time"] < now - days * F.DAY:
                continue
            for cluster, vals in rec.get("clusters", {}).items():
                for resource, v in vals.items():
                    t, y = out.setdefault(resource, {}).setdefault(cluster, ([], []))
                    t.append(rec["time"])
                    y.append(v)
            for sd, v in rec.get("storage_domains", {}).items():
                t, y = out["storage"].setdefault(sd, ([], []))
                t.append(rec["time"])
                y.append(v)
    return out


# -- analysis ---------------------------------------------------------------------------------------------
def analyse(history, snap, thresholds=None, horizon_days=730, now=None):
    th = dict(DEFAULT_THRESHOLDS)
    th.update(thresholds or {})
    th["memory_allocated"] = th["memory"]
    now = snap["time"] if now is None else now
    usage = cluster_usage(snap)
    rows = []
    for resource, series in sorted(history.items()):
        warn, crit = th[resource]
        for subject, (times, values) in sorted(series.items()):
            model = F.fit(times, values)
            row = {"resource": resource, "subject": subject, "kind": "storage_domain" if resource == "storage"
                   else "cluster", "warning": warn, "critical": crit, "samples": len(times),
                   "current": values[-1] if values else None}
            if model is None:
                row.update(growth_per_month=None, warning_date=None, critical_date=None,
                           note="not enough history (%d days)" % len(F.daily(times, values)))
                rows.append(row)
                continue
            w, c = F.crossing(model, warn, now=now, horizon_days=horizon_days), \
                F.crossing(model, crit, now=now, horizon_days=horizon_days)
            row.update(growth_per_month=round(model["growth_per_month"], 3),
                       growth_interval=[round(model["slope_low"] * F.MONTH, 3),
                                        round(model["slope_high"] * F.MONTH, 3)],
                       level=round(model["level"], 2), warning_date=day(w["date"]),
                       warning_interval=[day(w["low"]), day(w["high"])] if w["date"] else None,
                       critical_date=day(c["date"]), critical_interval=[day(c["low"]), day(c["high"])]
                       if c["date"] else None, warning_epoch=w["date"], critical_epoch=c["date"],
                       note=c["reason"] if c["date"] is None or c.get("reached") else None,
                       _model=model, _times=times, _values=values)
            rows.append(row)
    headroom = n_plus_one(usage)
    first = sorted([r for r in rows if r.get("critical_epoch")], key=lambda r: r["critical_epoch"])
    recs = recommendations(rows, usage, headroom, now, th)
    return {"generated": now, "rows": rows, "n_plus_one": headroom, "first_to_fill": first[0]["subject"]
            if first else None, "first_to_fill_resource": first[0]["resource"] if first else None,
            "recommendations": recs, "usage": usage}


def n_plus_one(usage):
    """Per cluster: whether the VMs would still fit with the largest host gone, and the headroom left."""
    out = {}
    for name, u in usage.items():
        if not u["hosts_up"]:
            out[name] = {"ok": False, "memory_percent_without_largest": None, "cpu_percent_without_largest": None,
                         "headroom_memory_percent": None}
            continue
        mem_left = u["memory"] - u["host_memory_max"]
        cores_left = u["cores"] - u["host_cores_max"]
        mem = 100.0 * u["memory_used"] / mem_left if mem_left > 0 else float("inf")
        cpu = 100.0 * u["cpu_sum"] / 100.0 / cores_left if cores_left > 0 else float("inf")
        out[name] = {"ok": mem <= 100.0 and cpu <= 100.0,
                     "memory_percent_without_largest": round(mem, 1) if mem != float("inf") else None,
                     "cpu_percent_without_largest": round(cpu, 1) if cpu != float("inf") else None,
                     "headroom_memory_percent": round(100.0 - mem, 1) if mem != float("inf") else None}
    return out


def recommendations(rows, usage, headroom, now, th, plan_days=180):
    """For each cluster resource that reaches its warning threshold within ``plan_days``: how many hosts like its
    largest host keep it below the warning threshold for the plan, with N+1, and by when."""
    out = []
    for r in rows:
        if r["kind"] != "cluster" or r["resource"] not in RESOURCES or not r.get("warning_epoch"):
            continue
        if r["warning_epoch"] > now + plan_days * F.DAY:
            continue
        u = usage.get(r["subject"])
        if not u or not u["hosts_up"]:
            continue
        level_then = r["level"] + r["growth_per_month"] * plan_days / 30.0
        # Capacity in "hosts": the same work on n hosts stays below warning with one host failed (N+1).
        per_host = 1.0 / u["hosts_up"]
        needed = level_then / r["warning"]          # fraction of today's capacity needed
        hosts_needed = int(math.ceil(needed / per_host)) + 1
        add = max(1, hosts_needed - u["hosts_up"])
        out.append({"cluster": r["subject"], "resource": r["resource"], "add_hosts": add,
                    "like": u["host_model"], "before": month(r["warning_epoch"]),
                    "text": "add %d host%s like %s to cluster %s before %s (%s reaches %g %% around %s)" % (
                        add, "s" if add > 1 else "", u["host_model"], r["subject"], month(r["warning_epoch"]),
                        LABELS[r["resource"]], r["warning"], r["warning_date"])})
    out.sort(key=lambda x: x["before"])
    return out


# -- output -----------------------------------------------------------------------------------------------
def plots(report, out_dir=None):
    """{name: png bytes}: one figure per cluster (CPU, memory, network) and one for storage; history, trend and
    forecast with its 95 % interval, warning and critical thresholds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figures = {}
    groups = {}
    for r in report["rows"]:
        if "_model" in r:
            groups.setdefault("storage" if r["kind"] == "storage_domain" else "cluster-%s" % r["subject"],
                              []).append(r)
    for name, rows in sorted(groups.items()):
        fig, axes = plt.subplots(len(rows), 1, figsize=(8, 2.6 * len(rows)), squeeze=False)
        for ax, r in zip(axes[:, 0], rows):
            m = r["_model"]
            hx = [datetime.datetime.utcfromtimestamp(x) for x in m["xs"]]
            ax.plot(hx, [y + m["profile"][int(x // F.DAY) % 7] for x, y in zip(m["xs"], m["ys"])], ".", ms=2,
                    color="#555555", label="daily mean")
            fut = [m["end"] + i * F.DAY for i in range(0, 366, 3)]
            pred = [F.predict(m, t) for t in fut]
            fx = [datetime.datetime.utcfromtimestamp(t) for t in fut]
            trend_x = [m["xs"][0], m["end"]]
            ax.plot([datetime.datetime.utcfromtimestamp(t) for t in trend_x],
                    [m["intercept"] + m["slope"] * t for t in trend_x], "-", color="#1f77b4", label="trend")
            ax.plot(fx, [p[0] for p in pred], "--", color="#1f77b4", label="forecast")
            ax.fill_between(fx, [p[1] for p in pred], [p[2] for p in pred], color="#1f77b4", alpha=0.15,
                            label="95 % interval")
            ax.axhline(r["warning"], color="#ff7f0e", lw=1, label="warning %g %%" % r["warning"])
            ax.axhline(r["critical"], color="#d62728", lw=1, label="critical %g %%" % r["critical"])
            ax.set_ylim(0, 105)
            ax.set_ylabel("%")
            title = "%s %s: %+.2f points/month" % (r["subject"], LABELS[r["resource"]], r["growth_per_month"])
            if r.get("critical_date"):
                title += ", %g %% on %s" % (r["critical"], r["critical_date"])
            ax.set_title(title, fontsize=9)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6, loc="upper left")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        plt.close(fig)
        figures[name + ".png"] = buf.getvalue()
    if out_dir:
        for fname, data in figures.items():
            with open(os.path.join(out_dir, fname), "wb") as f:
                f.write(data)
    return figures


def public(report):
    """The report without the internals (models, raw series): what the module returns and the JSON holds."""
    out = dict((k, v) for k, v in report.items() if k != "usage")
    out["rows"] = [dict((k, v) for k, v in r.items() if not k.startswith("_") and not k.endswith("_epoch"))
                   for r in report["rows"]]
    return out


def markdown(report, title="oVirt capacity report"):
    lines = ["# %s" % title, "", "Generated %s. Method: Theil-Sen trend on daily means with the weekly pattern "
             "removed, 95 %% intervals (docs/capacity.md)." % day(report["generated"]), ""]
    if report["first_to_fill"]:
        lines += ["**First to fill up: %s (%s)**." % (report["first_to_fill"], LABELS[report["first_to_fill_resource"]]),
                  ""]
    if report["recommendations"]:
        lines += ["## Recommendations", ""] + ["- %s" % r["text"] for r in report["recommendations"]] + [""]
    lines += ["## Forecast", "", "| subject | resource | now % | growth points/month | warning (interval) | "
              "critical (interval) | note |", "|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        wi = " (%s .. %s)" % tuple(r["warning_interval"]) if r.get("warning_interval") else ""
        ci = " (%s .. %s)" % tuple(r["critical_interval"]) if r.get("critical_interval") else ""
        lines.append("| %s | %s | %s | %s | %s%s | %s%s | %s |" % (
            r["subject"], LABELS[r["resource"]], "%.1f" % r["current"] if r["current"] is not None else "-",
            "%+.2f" % r["growth_per_month"] if r.get("growth_per_month") is not None else "-",
            r.get("warning_date") or "-", wi, r.get("critical_date") or "-", ci, r.get("note") or ""))
    lines += ["", "## N+1 headroom", "", "| cluster | N+1 | memory % without the largest host | "
              "CPU % without the largest host |", "|---|---|---|---|"]
    for name, h in sorted(report["n_plus_one"].items()):
        lines.append("| %s | %s | %s | %s |" % (
            name, "yes" if h["ok"] else "**no**", h["memory_percent_without_largest"],
            h["cpu_percent_without_largest"]))
    return "\n".join(lines) + "\n"


def html(report, figures, title="oVirt capacity report"):
    import html as H
    md = markdown(report, title)
    rows = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % H.escape(c.strip()) for c in line.strip("|").split("|"))
                   for line in md.splitlines() if line.startswith("| ") and not line.startswith("| subject")
                   and not line.startswith("| cluster"))
    recs = "".join("<li>%s</li>" % H.escape(r["text"]) for r in report["recommendations"])
    imgs = "".join('<figure><img alt="%s" src="data:image/png;base64,%s"/><figcaption>%s</figcaption></figure>' % (
        H.escape(name), base64.b64encode(data).decode(), H.escape(name)) for name, data in sorted(figures.items()))
    first = ("<p><strong>First to fill up: %s (%s)</strong></p>" % (
        H.escape(report["first_to_fill"]), H.escape(LABELS[report["first_to_fill_resource"]]))
        if report["first_to_fill"] else "")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title><style>body{font-family:sans-serif;"
            "max-width:60em;margin:auto}table{border-collapse:collapse}td{border:1px solid #ccc;padding:2px 6px}"
            "img{max-width:100%%}</style></head><body><h1>%s</h1><p>Generated %s.</p>%s<h2>Recommendations</h2>"
            "<ul>%s</ul><h2>Forecast and N+1</h2><table>%s</table><h2>Plots</h2>%s</body></html>\n") % (
        H.escape(title), H.escape(title), day(report["generated"]), first, recs or "<li>none</li>", rows, imgs)


def send_mail(mail, subject, html_text, text, figures):
    """SMTP with STARTTLS and authentication when asked; the HTML page in the body, the PNGs attached."""
    import smtplib
    import ssl
    from email.message import EmailMessage
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = mail["sender"]
    msg["To"] = ", ".join(mail["to"])
    msg.set_content(text)
    msg.add_alternative(html_text, subtype="html")
    for name, data in sorted(figures.items()):
        msg.add_attachment(data, maintype="image", subtype="png", filename=name)
    smtp = smtplib.SMTP(mail["host"], mail["port"], timeout=mail.get("timeout") or 30)
    try:
        if mail.get("starttls"):
            ctx = ssl.create_default_context(cafile=mail.get("ca_file"))
            smtp.starttls(context=ctx)
        if mail.get("username"):
            smtp.login(mail["username"], mail["password"] or "")
        smtp.send_message(msg)
    finally:
        try:
            smtp.quit()
        except Exception:  # noqa: BLE001 - the message went; a failing QUIT does not matter
            pass
    return {"to": list(mail["to"]), "attachments": sorted(figures), "bytes": len(msg.as_bytes())}
