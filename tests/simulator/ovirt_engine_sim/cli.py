# SPDX-License-Identifier: GPL-3.0-or-later
"""``ovirt-engine-sim``: run the simulator until SIGTERM."""

import argparse
import json
import os
import select
import signal
import sys


def parse_listen(text):
    host, dummy, port = text.rpartition(":")
    if not host:
        raise argparse.ArgumentTypeError("--listen takes HOST:PORT, e.g. 127.0.0.1:0")
    return host.strip("[]"), int(port)


def main(argv=None):
    p = argparse.ArgumentParser(prog="ovirt-engine-sim", description=__doc__)
    p.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 0), help="HOST:PORT (port 0 picks one)")
    p.add_argument("--state-dir", required=True, help="where objects, disks, the CA and the log persist")
    p.add_argument("--seed", choices=("default", "large", "patch", "dr-primary", "dr-secondary"), default="default",
                   help="topology for a new state dir (ignored when the dir already holds state)")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="real seconds per simulated second: 1 is real time, 0.01 is 100x faster")
    p.add_argument("--clock", choices=("free", "manual"), default="free",
                   help="manual: time moves only when POST /sim/clock advances it")
    p.add_argument("--username", default="admin@internal")
    p.add_argument("--password", default=os.environ.get("OVIRT_SIM_PASSWORD"),
                   help="default: generated once and kept in the state dir (or $OVIRT_SIM_PASSWORD)")
    args = p.parse_args(argv)
    if args.time_scale <= 0:
        p.error("--time-scale must be > 0")

    from .app import Simulator
    sim = Simulator(args.state_dir, listen=args.listen, seed=args.seed, time_scale=args.time_scale,
                    clock_mode=args.clock, username=args.username, password=args.password)
    stop_requested = wait_for_signals((signal.SIGTERM, signal.SIGINT))
    sim.start()
    sys.stdout.write(json.dumps(sim.info()) + "\n")
    sys.stdout.flush()
    stop_requested()
    sim.stop()
    return 0


def wait_for_signals(signums):
    """Install handlers for ``signums`` and return a function that blocks until one of them arrives.

    The handlers take no lock: a Python signal handler runs in the main thread between two bytecodes, possibly
    while that thread holds a lock (``threading.Event.wait`` holds its condition's lock around each timed wait), so
    a handler that calls ``Event.set()`` can deadlock. Here the C-level handler writes the signal number to a pipe
    (``signal.set_wakeup_fd``) and the Python handler only records it; the waiter sleeps in ``select`` on the
    pipe, which no handler can block."""
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    os.set_blocking(rfd, False)
    signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
    received = []

    def on_signal(signum, frame):
        received.append(signum)

    for signum in signums:
        signal.signal(signum, on_signal)

    def wait():
        while not received:
            select.select([rfd], [], [], 1.0)
            try:
                while os.read(rfd, 64):
                    pass
            except BlockingIOError:
                pass
        return received[0]
    return wait


if __name__ == "__main__":
    sys.exit(main())
