# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The waiter, on a fake clock: deadline, immediate failure, objects that vanish, check mode."""

import pytest

from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineFailedState, EngineTimeout
from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import WaitInCheckMode, wait_for


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def sequence(*states):
    items = list(states)
    return lambda: items.pop(0) if len(items) > 1 else items[0]


def test_returns_when_done_with_backoff_up_to_interval():
    clock = FakeClock()
    out = wait_for(sequence("a", "b", "c", "d", "e", "up"), done=lambda s: s == "up", interval=1.0, jitter=0,
                   sleep=clock.sleep, clock=clock)
    assert out == "up"
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.8, 1.0]


def test_fails_at_once_on_a_failure_state_with_the_engine_error():
    clock = FakeClock()
    with pytest.raises(EngineFailedState) as err:
        wait_for(sequence("wait_for_launch", "down"), done=lambda s: s == "up", failed=lambda s: s == "down",
                 describe=lambda s: "status %s" % s, latest_error=lambda: "event 54: Failed to run VM",
                 sleep=clock.sleep, clock=clock, jitter=0)
    assert "status down" in str(err.value) and "event 54" in str(err.value)
    assert len(clock.sleeps) == 1


def test_times_out_with_the_last_state():
    clock = FakeClock()
    with pytest.raises(EngineTimeout) as err:
        wait_for(lambda: "installing", done=lambda s: s == "up", timeout=10, interval=3, jitter=0,
                 describe=lambda s: "host is %s" % s, sleep=clock.sleep, clock=clock)
    assert "host is installing" in str(err.value)
    assert clock.now == pytest.approx(10)


def test_gone_is_a_failure_unless_expected():
    clock = FakeClock()
    with pytest.raises(EngineFailedState):
        wait_for(lambda: None, done=lambda s: s == "up", sleep=clock.sleep, clock=clock)
    assert wait_for(sequence("down", None), done=lambda s: s is None, gone_ok=True, sleep=clock.sleep,
                    clock=clock) is None


def test_never_waits_in_check_mode():
    with pytest.raises(WaitInCheckMode):
        wait_for(lambda: "x", done=lambda s: True, check_mode=True)


def test_not_immediate_sleeps_before_the_first_poll():
    clock = FakeClock()
    calls = []
    wait_for(lambda: calls.append(clock.now) or "up", done=lambda s: s == "up", immediate=False, jitter=0,
             sleep=clock.sleep, clock=clock)
    assert calls == [0.1]
