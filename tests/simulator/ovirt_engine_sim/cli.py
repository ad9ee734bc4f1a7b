"""``ovirt-engine-sim``: run the simulator until SIGTERM."""

import argparse
import json
import os
import signal
import sys
import threading


def parse_listen(text):
    host, dummy, port = text.rpartition(":")
    if not host:
        raise argparse.ArgumentTypeError("--listen takes HOST:PORT, e.g. 127.0.0.1:0")
    return host.strip("[]"), int(port)


def main(argv=None):
    p = argparse.ArgumentParser(prog="ovirt-engine-sim", description=__doc__)
    p.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 0), help="HOST:PORT (port 0 picks one)")
    p.add_argument("--state-dir", required=True, help="where objects, disks, the CA and the log persist")
    p.add_argument("--seed", choices=("default", "large", "patch"), default="default",
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
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sim.start()
    sys.stdout.write(json.dumps(sim.info()) + "\n")
    sys.stdout.flush()
    while not done.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
