"""Runs a real frontdesk deployment on this machine: ``frontdesk serve`` and workers as processes.

Used by ``frontdesk bench pipeline`` and by the fault tests, which need real processes to kill,
real ports to post to and real log files to read. Loopback only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """Samples a process's resident memory on a background thread, to see whether it levels off."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid = pid
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(rss_mb(self.pid))
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        """Peak of each quarter of the run: memory that levels off has equal last two quarters."""
        quarters = [
            self.samples[i * len(self.samples) // 4 : (i + 1) * len(self.samples) // 4] for i in range(4)
        ]
        peaks = [max(q) if q else 0.0 for q in quarters]
        return {f"peak_quarter_{i + 1}": peak for i, peak in enumerate(peaks)} | {
            "samples": len(self.samples)
        }


def frontdesk_executable() -> str:
    candidate = Path(sys.executable).parent / "frontdesk"
    return str(candidate) if candidate.exists() else "frontdesk"


@dataclass
class LocalStack:
    database_url: str
    broker_url: str
    workdir: Path
    api_keys: str = '{"bench-inbound": ["inbound"], "bench-admin": ["admin"]}'
    twilio_token: str = "bench-twilio-token"
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    beat: subprocess.Popen[bytes] | None = None
    _logs: list[Path] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "FRONTDESK_DATABASE_URL": self.database_url,
                "FRONTDESK_BROKER_URL": self.broker_url,
                "FRONTDESK_API_KEYS": self.api_keys,
                "FRONTDESK_TWILIO_AUTH_TOKEN": self.twilio_token,
                "FRONTDESK_PUBLIC_BASE_URL": self.base_url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / f"{name}.log"
        self._logs.append(log)
        handle = log.open("ab")
        return subprocess.Popen(
            [frontdesk_executable(), *args],
            env=self.env(),
            cwd=self.workdir,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_api(self, timeout: float = 60.0) -> None:
        self.api = self._spawn("api", "serve", "--host", "127.0.0.1", "--port", str(self.port))
        wait_until(lambda: self._ready(), timeout, "API did not become ready")

    def _ready(self) -> bool:
        try:
            return httpx.get(self.base_url + "/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        process = self._spawn(
            f"worker{len(self.workers)}", "worker", "--no-beat", "--loglevel", "INFO", *extra
        )
        self.workers.append(process)
        return process

    def start_beat(self) -> subprocess.Popen[bytes]:
        """The sweeper schedule (``frontdesk beat``) as its own process, so workers can be killed freely."""
        self.beat = self._spawn("beat", "beat", "--loglevel", "INFO")
        return self.beat

    def kill(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        if process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(timeout=30)

    def stop(self) -> None:
        processes = [*self.workers, *(p for p in (self.beat, self.api) if p is not None)]
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self._logs if p.exists())

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(condition: Callable[[], bool], timeout: float, message: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    if not condition():
        raise TimeoutError(message)
