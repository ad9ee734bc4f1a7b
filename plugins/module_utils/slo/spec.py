# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OpenSLO ``openslo/v1`` documents: load, validate (errors name the document and the field), resolve.

Kinds: ``SLO``, ``SLI``, ``DataSource``, ``AlertPolicy``. An SLO names its indicator inline
(``spec.indicator``) or by reference (``spec.indicatorRef``). Its metric sources carry, under
``metricSource.spec``, one query per SLI source this collection reads:

``ledger``      ``{measurement: vm_boot_seconds, le: 60}`` (good: rows with value <= 60) or ``ge``; without a
                bound it is the total. Rows are weighted (seconds for time-based SLIs, 1 for events).
``prometheus``  a PromQL expression with ``$window`` where the range goes, e.g.
                ``sum(increase(sre_ovirt_vm_boot_seconds_bucket{le="60"}[$window]))``.
``engine``      the same shape as ``ledger``; measured from the Engine's events and statistics.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sre.ovirt.plugins.module_utils.slo.budget import METHODS, parse_duration

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - ansible-core depends on PyYAML
    HAS_YAML = False

API_VERSION = "openslo/v1"
KINDS = ("SLO", "SLI", "DataSource", "AlertPolicy")
SOURCES = ("ledger", "prometheus", "engine")


class SloSpecError(ValueError):
    """A document is invalid: ``where`` names the file, document and field."""

    def __init__(self, where, message):
        super(SloSpecError, self).__init__("%s: %s" % (where, message))
        self.where = where


class Slo:
    """One resolved SLO: what the gate needs to evaluate it."""

    def __init__(self, name, display, target, window, rolling, method, slice_window, slice_target, good, total,
                 stale_after, description="", bad=None):
        self.name, self.display, self.target, self.window = name, display, target, window
        self.rolling, self.method = rolling, method
        self.slice_window, self.slice_target = slice_window, slice_target
        # metricSource.spec dicts ({ledger: ..., prometheus: ...}); ``bad`` instead of ``good`` when the SLI
        # counts bad events (good = total - bad).
        self.good, self.bad, self.total = good, bad, total
        self.stale_after = stale_after
        self.description = description
        self.calendar = None   # (start epoch, duration text) for a calendar window
        # annotation sre.ovirt/optional: an SLO that applies only once something feeds it (backup freshness
        # before any VM is protected): without any data it never blocks a change
        self.optional = False

    def query(self, source, which):
        """The query for ``source`` ("ledger", "prometheus", "engine") of ``which`` ("good", "bad", "total")."""
        spec = {"good": self.good, "bad": self.bad, "total": self.total}[which] or {}
        return spec.get(source)

    def to_dict(self):
        return {"name": self.name, "display_name": self.display, "target": self.target, "window": self.window,
                "rolling": self.rolling, "budgeting_method": self.method, "time_slice_window": self.slice_window,
                "time_slice_target": self.slice_target}


def load_text(text, origin="<slo file>"):
    if not HAS_YAML:
        raise SloSpecError(origin, "PyYAML is needed to read OpenSLO files")
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        docs = [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except yaml.YAMLError as exc:
        raise SloSpecError(origin, "not valid YAML: %s" % exc)
    return resolve(docs, origin)


def load_file(path):
    try:
        with open(path) as f:
            text = f.read()
    except (IOError, OSError) as exc:
        raise SloSpecError(path, "cannot read the SLO file: %s" % exc)
    return load_text(text, path)


def _where(origin, index, doc, field=None):
    name = ((doc.get("metadata") or {}).get("name") if isinstance(doc, dict) else None) or "?"
    kind = doc.get("kind", "?") if isinstance(doc, dict) else "?"
    out = "%s: document %d (%s %s)" % (origin, index + 1, kind, name)
    return out + (": " + field if field else "")


def resolve(docs, origin="<slo file>"):
    """Validate every document and return the SLOs, with SLI references resolved."""
    slis, sources, slo_docs, names = {}, {}, [], set()
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise SloSpecError("%s: document %d" % (origin, i + 1), "must be a mapping")
        if doc.get("apiVersion") != API_VERSION:
            raise SloSpecError(_where(origin, i, doc, "apiVersion"),
                               "must be %s, got %r" % (API_VERSION, doc.get("apiVersion")))
        kind = doc.get("kind")
        if kind not in KINDS:
            raise SloSpecError(_where(origin, i, doc, "kind"),
                               "must be one of %s, got %r" % (", ".join(KINDS), kind))
        name = (doc.get("metadata") or {}).get("name")
        if not name or not isinstance(name, str):
            raise SloSpecError(_where(origin, i, doc, "metadata.name"), "is required")
        if (kind, name) in names:
            raise SloSpecError(_where(origin, i, doc, "metadata.name"), "duplicate %s named %r" % (kind, name))
        names.add((kind, name))
        spec = doc.get("spec")
        if not isinstance(spec, dict):
            raise SloSpecError(_where(origin, i, doc, "spec"), "is required and must be a mapping")
        if kind == "SLI":
            slis[name] = (i, doc)
            _check_sli(origin, i, doc, spec)
        elif kind == "DataSource":
            if not spec.get("type"):
                raise SloSpecError(_where(origin, i, doc, "spec.type"), "is required")
            sources[name] = doc
        elif kind == "SLO":
            slo_docs.append((i, doc))
    out = []
    for i, doc in slo_docs:
        out.append(_slo(origin, i, doc, slis))
    if not out:
        raise SloSpecError(origin, "holds no SLO document")
    return out


def _check_sli(origin, i, doc, spec, field="spec"):
    ratio, threshold = spec.get("ratioMetric"), spec.get("thresholdMetric")
    if bool(ratio) == bool(threshold):
        raise SloSpecError(_where(origin, i, doc, field),
                           "needs exactly one of ratioMetric or thresholdMetric")
    if ratio:
        if not isinstance(ratio, dict):
            raise SloSpecError(_where(origin, i, doc, field + ".ratioMetric"), "must be a mapping")
        parts = [k for k in ("good", "bad", "total") if k in ratio]
        if "total" not in parts or len(parts) != 2:
            raise SloSpecError(_where(origin, i, doc, field + ".ratioMetric"),
                               "needs total and one of good or bad, got %s" % (", ".join(parts) or "none"))
        for k in parts:
            _check_source(origin, i, doc, ratio[k], "%s.ratioMetric.%s" % (field, k))
    else:
        _check_source(origin, i, doc, threshold, field + ".thresholdMetric")


def _check_source(origin, i, doc, metric, field):
    src = (metric or {}).get("metricSource") if isinstance(metric, dict) else None
    if not isinstance(src, dict):
        raise SloSpecError(_where(origin, i, doc, field + ".metricSource"), "is required")
    spec = src.get("spec")
    if not isinstance(spec, dict) or not any(k in spec for k in SOURCES):
        raise SloSpecError(_where(origin, i, doc, field + ".metricSource.spec"),
                           "needs a query for at least one of %s" % ", ".join(SOURCES))
    for key in ("ledger", "engine"):
        q = spec.get(key)
        if q is None:
            continue
        if not isinstance(q, dict) or not q.get("measurement"):
            raise SloSpecError(_where(origin, i, doc, "%s.metricSource.spec.%s.measurement" % (field, key)),
                               "is required")
        for bound in ("le", "ge"):
            if bound in q and not isinstance(q[bound], (int, float)):
                raise SloSpecError(_where(origin, i, doc, "%s.metricSource.spec.%s.%s" % (field, key, bound)),
                                   "must be a number, got %r" % (q[bound],))
    if "prometheus" in spec and "$window" not in str(spec["prometheus"]):
        raise SloSpecError(_where(origin, i, doc, field + ".metricSource.spec.prometheus"),
                           "must contain $window where the range goes")


def _spec_of(metric):
    return dict(metric["metricSource"]["spec"]) if metric else None


def _slo(origin, i, doc, slis):
    spec = doc["spec"]
    name = doc["metadata"]["name"]
    if "indicator" in spec and "indicatorRef" in spec:
        raise SloSpecError(_where(origin, i, doc, "spec"), "has both indicator and indicatorRef")
    if "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        if ref not in slis:
            raise SloSpecError(_where(origin, i, doc, "spec.indicatorRef"),
                               "no SLI named %r (known: %s)" % (ref, ", ".join(sorted(slis)) or "none"))
        sli_spec = slis[ref][1]["spec"]
    elif "indicator" in spec:
        ind = spec["indicator"]
        if not isinstance(ind, dict) or not isinstance(ind.get("spec"), dict):
            raise SloSpecError(_where(origin, i, doc, "spec.indicator.spec"), "is required")
        _check_sli(origin, i, doc, ind["spec"], "spec.indicator.spec")
        sli_spec = ind["spec"]
    else:
        raise SloSpecError(_where(origin, i, doc, "spec.indicator"), "an SLO needs indicator or indicatorRef")

    windows = spec.get("timeWindow")
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        raise SloSpecError(_where(origin, i, doc, "spec.timeWindow"), "must be a list of one window")
    tw = windows[0]
    try:
        window = parse_duration(tw.get("duration"))
    except ValueError as exc:
        raise SloSpecError(_where(origin, i, doc, "spec.timeWindow[0].duration"), str(exc))
    rolling = bool(tw.get("isRolling", False))
    if not rolling and not isinstance(tw.get("calendar"), dict):
        raise SloSpecError(_where(origin, i, doc, "spec.timeWindow[0]"),
                           "a window is rolling (isRolling: true) or has a calendar (startTime, timeZone)")
    calendar_start = None
    if not rolling:
        try:
            calendar_start = _calendar_start(tw["calendar"])
        except ValueError as exc:
            raise SloSpecError(_where(origin, i, doc, "spec.timeWindow[0].calendar"), str(exc))

    method = spec.get("budgetingMethod")
    if method not in METHODS:
        raise SloSpecError(_where(origin, i, doc, "spec.budgetingMethod"),
                           "must be one of %s, got %r" % (", ".join(METHODS), method))
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or len(objectives) != 1 or not isinstance(objectives[0], dict):
        raise SloSpecError(_where(origin, i, doc, "spec.objectives"), "must be a list of one objective")
    obj = objectives[0]
    target = obj.get("target")
    if not isinstance(target, (int, float)) or isinstance(target, bool) or not 0 < target < 1:
        raise SloSpecError(_where(origin, i, doc, "spec.objectives[0].target"),
                           "must be a number between 0 and 1 (exclusive), e.g. 0.999; got %r" % (target,))
    slice_window, slice_target = None, 1.0
    if method != "Occurrences":
        try:
            slice_window = parse_duration(obj.get("timeSliceWindow"))
        except ValueError as exc:
            raise SloSpecError(_where(origin, i, doc, "spec.objectives[0].timeSliceWindow"),
                               "is required for %s: %s" % (method, exc))
        if method == "Timeslices":
            slice_target = obj.get("timeSliceTarget")
            if not isinstance(slice_target, (int, float)) or not 0 < slice_target <= 1:
                raise SloSpecError(_where(origin, i, doc, "spec.objectives[0].timeSliceTarget"),
                                   "must be a number in (0, 1] for Timeslices, got %r" % (slice_target,))
    ratio = sli_spec.get("ratioMetric")
    bad = None
    if ratio:
        total = _spec_of(ratio["total"])
        good = _spec_of(ratio.get("good"))
        bad = _spec_of(ratio.get("bad"))
    else:
        total = good = _spec_of(sli_spec["thresholdMetric"])
    annotations = (doc.get("metadata") or {}).get("annotations") or {}
    stale = annotations.get("sre.ovirt/stale-after")
    try:
        stale_after = parse_duration(stale) if stale else None
    except ValueError as exc:
        raise SloSpecError(_where(origin, i, doc, "metadata.annotations.sre.ovirt/stale-after"), str(exc))
    display = (doc.get("metadata") or {}).get("displayName") or obj.get("displayName") or name
    slo = Slo(name, display, float(target), window, rolling, method, slice_window, float(slice_target),
              good, total, stale_after, spec.get("description", ""), bad=bad)
    if calendar_start is not None:
        slo.calendar = (calendar_start, str(tw["duration"]))
    slo.optional = str(annotations.get("sre.ovirt/optional", "false")).lower() in ("true", "yes", "1")
    return slo


def _calendar_start(cal):
    """Epoch seconds of ``calendar.startTime`` ("2026-01-01 00:00:00") in ``calendar.timeZone`` (IANA name)."""
    import calendar as _cal
    import datetime
    text = str(cal.get("startTime", ""))
    try:
        start = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError("startTime must look like 2026-01-01 00:00:00, got %r" % text)
    zone = cal.get("timeZone") or "UTC"
    if zone != "UTC":
        try:
            from zoneinfo import ZoneInfo
            start = start.replace(tzinfo=ZoneInfo(zone))
            return start.timestamp()
        except Exception:  # noqa: BLE001 - unknown zone or no zoneinfo: say which
            raise ValueError("timeZone %r is not a known IANA time zone" % zone)
    return float(_cal.timegm(start.timetuple()))


def period_start(slo, now):
    """Start of the calendar period holding ``now`` (months, quarters and years are calendar months)."""
    import datetime
    start, duration = slo.calendar
    unit, n = duration[-1], int(duration[:-1])
    if unit in "MQY":
        months = n * {"M": 1, "Q": 3, "Y": 12}[unit]
        utc = datetime.timezone.utc
        s = datetime.datetime.fromtimestamp(start, utc)
        t = datetime.datetime.fromtimestamp(now, utc)
        elapsed = (t.year - s.year) * 12 + (t.month - s.month)
        if (t.day, t.hour, t.minute, t.second) < (s.day, s.hour, s.minute, s.second):
            elapsed -= 1
        k = elapsed // months * months
        y, m = divmod(s.month - 1 + k, 12)
        return s.replace(year=s.year + y, month=m + 1).timestamp()
    return start + ((now - start) // slo.window) * slo.window
