"""Run the example project as a user would: migrate, load the demo, serve, tour.

The example runs in child processes on ``example_project.settings`` with a
SQLite file in a temporary directory, while this test process keeps the test
settings. The tour talks to a real ``runserver`` over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def example_env(tmp_path: Path) -> dict[str, str]:
    """Return the environment for the example's processes."""
    env = dict(os.environ)
    # The child must pick its own settings module and SQLite file, not the
    # ones of this test run.
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    env["EXAMPLE_DB_PATH"] = str(tmp_path / "example.sqlite3")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, (
        f"manage.py {' '.join(args)} exited with {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return result


def _wait_until_serving(
    base_url: str, server: subprocess.Popen[str], log_path: Path
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"runserver exited with {server.returncode} before serving:\n"
                f"{log_path.read_text()}"
            )
        try:
            with urllib.request.urlopen(f"{base_url}/api/me/", timeout=1):
                return
        except urllib.error.HTTPError:
            # Any HTTP status, here 401 without a token, means it is serving.
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(
        f"runserver did not answer within {STARTUP_TIMEOUT_SECONDS} s:\n"
        f"{log_path.read_text()}"
    )


@pytest.fixture
def example_server(example_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Migrate, load the demo data, start runserver and return its base URL."""
    manage(example_env, "check")
    manage(example_env, "migrate", "--verbosity", "0")
    manage(example_env, "load_demo")

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "runserver.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
            ],
            cwd=REPO_ROOT,
            env=example_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_until_serving(base_url, server, log_path)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def step_status(output: str, label: str) -> int:
    """Return the status that the tour printed for the step named ``label``."""
    match = re.search(rf"{re.escape(label)}\s+-> (\d{{3}})", output)
    assert match is not None, f"no step {label!r} in the tour output:\n{output}"
    return int(match.group(1))


def test_tour_against_runserver(example_server: str, tmp_path: Path) -> None:
    tour = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "example_project" / "tour.py"),
            example_server,
        ],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    output = tour.stdout + tour.stderr
    server_log = (tmp_path / "runserver.log").read_text()

    assert tour.returncode == 0, f"{output}\nrunserver log:\n{server_log}"
    assert step_status(output, "log in as alice") == 200
    assert step_status(output, "alice's notes") == 200
    assert step_status(output, "alice's note, with bob's token") == 404
    assert step_status(output, "forged token: sub set to bob, same signature") == 401
    assert step_status(output, "alice's claims signed with another key") == 401
    assert step_status(output, "log out alice") == 204
    assert step_status(output, "alice's token after logout") == 401

    # The example's LOGGING shows jwtsafe's rejections on the console.
    assert "WARNING jwtsafe: Rejected token: reason=bad_signature" in server_log
    assert "WARNING jwtsafe: Rejected token: reason=session_revoked" in server_log
