"""Run the example project as a user would: migrate, load the demo, serve, tour.

The example runs in child processes on ``example_project.settings`` with a
SQLite file in a temporary directory, while this test process keeps the test
settings. The tour talks to a real ``runserver`` over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
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
    return make_example_env(tmp_path)


def make_example_env(tmp_path: Path) -> dict[str, str]:
    """Return the environment for example processes that keep files in ``tmp_path``."""
    env = dict(os.environ)
    # The child must pick its own settings module and SQLite file, not the
    # ones of this test run.
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    env["EXAMPLE_DB_PATH"] = str(tmp_path / "example.sqlite3")
    # A key of this run's own, so the example does not write its key file
    # into the checkout.
    env["JWTSAFE_SIGNING_KEY"] = secrets.token_urlsafe(32)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run_manage(env, *args)
    assert result.returncode == 0, (
        f"manage.py {' '.join(args)} exited with {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return result


def _wait_until_serving(
    base_url: str, server: subprocess.Popen[str], log_path: Path
) -> None:
    """Wait until ``server`` responds to HTTP, failing if it exits first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"the server exited with {server.returncode} before serving:\n"
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
        f"the server did not answer within {STARTUP_TIMEOUT_SECONDS} s:\n"
        f"{log_path.read_text()}"
    )


def start_server(
    env: dict[str, str], args: list[str], log_path: Path
) -> subprocess.Popen[str]:
    """Start ``python args`` in the checkout, logging its output to ``log_path``."""
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def stop(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


@pytest.fixture
def example_server(example_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Migrate, load the demo data, start runserver and return its base URL."""
    manage(example_env, "check")
    manage(example_env, "migrate", "--verbosity", "0")
    manage(example_env, "load_demo")

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "runserver.log"
    server = start_server(
        example_env,
        ["manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        log_path,
    )
    try:
        _wait_until_serving(base_url, server, log_path)
        yield base_url
    finally:
        stop(server)


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
    assert step_status(output, "alice's shared note, bob reads") == 200
    assert step_status(output, "alice's shared note, bob edits") == 403
    assert step_status(output, "forged token: sub set to bob, same signature") == 401
    assert step_status(output, "alice's claims signed with another key") == 401
    assert step_status(output, "log out alice") == 204
    assert step_status(output, "alice's token after logout") == 401

    # The example's LOGGING shows jwtsafe's rejections on the console.
    assert "WARNING jwtsafe: Rejected token: reason=bad_signature" in server_log
    assert "WARNING jwtsafe: Rejected token: reason=session_revoked" in server_log


# Startup with a weak key

CHOSEN_KEY = "mysecret123"


def test_check_stops_a_chosen_key(example_env: dict[str, str]) -> None:
    example_env["JWTSAFE_SIGNING_KEY"] = CHOSEN_KEY
    result = run_manage(example_env, "check")
    assert result.returncode != 0
    assert "jwtsafe.E002" in result.stderr
    assert "jwtsafe.E003" in result.stderr
    assert "python manage.py jwtsafe_keygen" in result.stderr
    assert CHOSEN_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "command", [["jwtsafe_keygen"], ["jwtsafe_fingerprint"], ["help", "check"]]
)
def test_key_commands_run_with_a_chosen_key(
    example_env: dict[str, str], command: list[str]
) -> None:
    example_env["JWTSAFE_SIGNING_KEY"] = CHOSEN_KEY
    result = run_manage(example_env, *command)
    assert result.returncode == 0, result.stderr
    assert CHOSEN_KEY not in result.stdout + result.stderr


def test_runserver_stops_a_chosen_key(example_env: dict[str, str]) -> None:
    example_env["JWTSAFE_SIGNING_KEY"] = CHOSEN_KEY
    port = _free_port()
    result = run_manage(example_env, "runserver", f"127.0.0.1:{port}", "--noreload")
    assert result.returncode != 0
    assert "jwtsafe.E003" in result.stderr


def start_gunicorn(
    env: dict[str, str], port: int, log_path: Path
) -> subprocess.Popen[str]:
    return start_server(
        env,
        [
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "example_project.wsgi:application",
        ],
        log_path,
    )


def test_gunicorn_exits_on_a_chosen_key(
    example_env: dict[str, str], tmp_path: Path
) -> None:
    example_env["JWTSAFE_SIGNING_KEY"] = CHOSEN_KEY
    log_path = tmp_path / "gunicorn.log"
    server = start_gunicorn(example_env, _free_port(), log_path)
    try:
        returncode = server.wait(timeout=STARTUP_TIMEOUT_SECONDS * 2)
    finally:
        stop(server)
    log = log_path.read_text()
    assert returncode != 0, log
    assert "jwtsafe.E003" in log
    assert "python manage.py jwtsafe_keygen" in log
    assert CHOSEN_KEY not in log


def test_gunicorn_serves_with_a_strong_key(
    example_env: dict[str, str], tmp_path: Path
) -> None:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    server = start_gunicorn(example_env, port, log_path)
    try:
        _wait_until_serving(base_url, server, log_path)
        request = urllib.request.Request(
            f"{base_url}/api/me/", headers={"Authorization": "Bearer abc.def.ghi"}
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=5)
    finally:
        stop(server)
    assert raised.value.code == 401
    assert raised.value.headers["WWW-Authenticate"].startswith("Bearer ")
