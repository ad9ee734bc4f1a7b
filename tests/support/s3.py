# SPDX-License-Identifier: GPL-3.0-or-later
"""A real S3 API server on loopback for tests and benchmarks: moto's server (the one amazon.aws tests with) in a
process of its own, with a request log.

    with start_s3(workdir) as s3:
        s3.client().create_bucket(Bucket="backups")
        ... s3.url, s3.env() (AWS_* variables for ansible-playbook), s3.requests(), s3.writes()

Run directly (``python tests/support/s3.py PORT LOG``) it serves until SIGTERM. Requests are logged with their
method, path and query (never their headers: they carry the signature), and read back from ``/__sre/requests``.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

try:
    from tests.support.prometheus import Process
except ImportError:        # run directly as the server: the class is not needed
    Process = object

ACCESS_KEY = "AKIASREOVIRTTEST0001"
SECRET_KEY = "sre-ovirt-s3-secret-9f2c41d7e0b84a6c"      # what the no-secret tests look for in every output
REGION = "us-east-1"
LOG_PATH = "/__sre/requests"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server(Process):
    """The server process (stop, context manager: tests.support.prometheus.Process) and what tests ask of it."""

    def env(self):
        """What ansible-playbook (and the module) need to reach this server with boto3's defaults."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL_S3": self.url}

    def client(self, **config):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, config=Config(**config) if config else None)

    def requests(self, since=0):
        with urllib.request.urlopen(self.url + LOG_PATH + "?since=%d" % since, timeout=10) as r:
            return json.loads(r.read().decode())

    def last_seq(self):
        reqs = self.requests()
        return reqs[-1]["seq"] if reqs else 0

    def writes(self, since=0):
        """PUT, POST and DELETE requests: anything that changes the bucket."""
        return [r for r in self.requests(since) if r["method"] in ("PUT", "POST", "DELETE")]


def start_s3(workdir, timeout=60):
    port = free_port()
    log = os.path.join(workdir, "s3.log")
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen([sys.executable, os.path.join(here, "s3.py"), str(port)], stdout=subprocess.DEVNULL,
                            stderr=open(log, "w"))
    url = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the S3 server exited: %s" % open(log).read()[-2000:])
        try:
            with urllib.request.urlopen(url + LOG_PATH, timeout=2) as r:
                if r.status == 200:
                    return S3Server(proc, url, log)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the S3 server did not answer in %ss: %s" % (timeout, open(log).read()[-2000:]))


def _serve(port):
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    moto_app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()
    log = []

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == LOG_PATH:
            since = int((environ.get("QUERY_STRING") or "since=0").split("=")[-1] or 0)
            with lock:
                body = json.dumps([r for r in log if r["seq"] > since]).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        with lock:
            log.append({"seq": len(log) + 1, "method": environ["REQUEST_METHOD"], "path": path,
                        "query": environ.get("QUERY_STRING", "")})
        return moto_app(environ, start_response)

    class Quiet(MotoRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Quiet)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
