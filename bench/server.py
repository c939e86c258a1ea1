"""The servers under test: gunicorn with deploy/gunicorn.conf.py serving ``bench.app:app``,
and the shipped nginx site (deploy/nginx/buergerbuero.conf) in front of it."""

from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every benchmark client comes from 127.0.0.1, so the shipped per-address limits (API
# 10 r/s, writes 20 a minute) would refuse most requests: the bench's nginx raises them.
BENCH_RATE = "100000r/s"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with the production settings; the environment chooses bind, workers,
    the worker class and (gthread) threads from ``args``."""

    def __init__(self, args, database_url: str, instance_dir: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "BOOKING_ENV": "production",
            "SECRET_KEY": "bench-secret-" + os.urandom(8).hex(),
            "DATABASE_URL": database_url,
            "BOOKING_INSTANCE_PATH": instance_dir,
            "BOOKING_BASE_URL": self.base,
            "OUTBOX_BACKGROUND": "0",
            "OUTBOX_POLL_SECONDS": "86400",  # emails stay queued, whatever starts a sender
            "MAIL_SERVER": "",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(args.workers),
            "GUNICORN_THREADS": str(args.threads),
            "GUNICORN_WORKER_CLASS": args.worker_class,
            # no worker recycling in the middle of a measured run
            "GUNICORN_MAX_REQUESTS": str(args.max_requests),
            "GUNICORN_MAX_REQUESTS_JITTER": "0" if not args.max_requests else "200",
            "GUNICORN_LOGLEVEL": "warning",
        }
        self.command = [sys.executable, "-m", "gunicorn", "-c",
                        os.path.join(ROOT, "deploy", "gunicorn.conf.py"),
                        "--access-logfile", "/dev/null", "bench.app:app"]
        self.log_path = os.path.join(instance_dir, "gunicorn.log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as fh:
            self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=fh,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + self.read_log())
            time.sleep(0.2)
        time.sleep(2)  # every worker should have loaded the app

    def read_log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(entry))
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far."""
        total = 0
        for pid in [self.proc.pid, *self.worker_pids()]:
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_nginx(work_dir: str, upstream_port: int):
    """The shipped site in front of gunicorn, rendered by tests/test_nginx.py (app server,
    ports, certificate and log paths), with three changes for the benchmark: the rate
    limits raised (BENCH_RATE), a microcache directory in ``work_dir`` if the renderer
    left the shipped one, and ``worker_processes auto`` as in a packaged nginx.
    Returns the test's running ``Nginx`` (``https_port``, ``stop()``)."""
    from tests.test_nginx import Nginx

    tmp = pathlib.Path(work_dir) / "nginx"
    tmp.mkdir()
    nginx = Nginx(tmp, upstream_port)
    site = tmp / "site.conf"
    text, limits = re.subn(r"(limit_req_zone [^;]*\brate=)\d+r/[sm]", rf"\g<1>{BENCH_RATE}",
                           site.read_text())
    assert limits, "the shipped site has no limit_req_zone any more: see BENCH_RATE"
    text = re.sub(r"(proxy_cache_path\s+)/var/\S+", rf"\g<1>{tmp / 'microcache'}", text)
    site.write_text(text)
    nginx.conf.write_text(nginx.conf.read_text().replace("worker_processes 1;",
                                                         "worker_processes auto;"))
    check = nginx.check()
    if check.returncode != 0:
        raise RuntimeError("nginx -t failed:\n" + check.stderr)
    nginx.start()
    return nginx
