# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulated clock.

Simulated durations are realistic (a VM boots in ~20 s, a host reboots in ~3 min). ``time_scale``
is the number of real seconds one simulated second takes: 1.0 is real time, 0.01 runs a hundred
times faster. In ``manual`` mode the clock stands still until the admin API advances it.
"""

import time


class Clock:
    def __init__(self, start, time_scale=1.0, mode="free"):
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        self.mode = mode
        self._sim_base = float(start)
        self._real_base = time.monotonic()

    def now(self):
        if self.mode == "manual":
            return self._sim_base
        return self._sim_base + (time.monotonic() - self._real_base) / self.time_scale

    def _rebase(self):
        self._sim_base = self.now()
        self._real_base = time.monotonic()

    def set_mode(self, mode):
        if mode not in ("free", "manual"):
            raise ValueError("mode must be 'free' or 'manual'")
        self._rebase()
        self.mode = mode

    def set_scale(self, time_scale):
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self._rebase()
        self.time_scale = float(time_scale)

    def jump(self, seconds):
        """Move simulated time forward by ``seconds`` (both modes)."""
        self._rebase()
        self._sim_base += float(seconds)

    def real_delay(self, sim_seconds):
        """How many real seconds until ``sim_seconds`` of simulated time pass (None in manual mode)."""
        if self.mode == "manual":
            return None
        return max(0.0, sim_seconds * self.time_scale)
