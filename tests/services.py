"""Find the PostgreSQL and Redis servers that the test settings use.

Under CI (``CI`` set) a missing Redis is an error. Elsewhere the suite falls
back to a throwaway ``redis-server`` when one is installed, and otherwise runs
without Redis: the tests that need it are skipped with a notice.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_throwaway_redis() -> str | None:
    executable = shutil.which("redis-server")
    if executable is None:
        return None
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="jwtsafe-redis-")
    process = subprocess.Popen(
        [
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(process.terminate)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if _answers("127.0.0.1", port):
            return f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    process.terminate()
    return None


def find_redis_url() -> str | None:
    """Return the URL of a Redis server for the tests, or None."""
    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    parts = urlsplit(url)
    if _answers(parts.hostname or "127.0.0.1", parts.port or 6379):
        return url
    if os.environ.get("CI"):
        raise RuntimeError(
            f"No Redis server answers at {url}; CI runs must have one. "
            "Start redis-server or set REDIS_URL."
        )
    return _start_throwaway_redis()
