#!/usr/bin/env python
"""Drive the running example notes API over HTTP and show which tokens it rejects.

Start the example first (``python manage.py migrate``, ``python manage.py
load_demo``, ``python manage.py runserver``), then run::

    python example_project/tour.py [BASE_URL]

BASE_URL defaults to http://127.0.0.1:8000. The tour logs in as the demo
users alice and bob, reads notes with a valid access token, then sends a
forged token, a token signed with another key and a logged-out token, which
the API must reject with 401. It prints each request and its status, and
exits with status 1 when any status differs from the expected one, or 2 when
the server cannot be reached.

The script uses only the standard library, so any Python 3.11 runs it. It
never prints a whole token, only the first 12 characters.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 10

# The demo users that `python manage.py load_demo` creates. These passwords
# are public and valid only in the local example database.
ALICE = ("alice", "alice-demo-password")
BOB = ("bob", "bob-demo-password")


class TourAborted(Exception):
    """Raised when a step fails in a way that leaves nothing to test after it."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any


def shorten(token: str) -> str:
    """Return the first 12 characters of ``token`` and an ellipsis."""
    return token[:12] + "..."


# Token surgery. A compact JWT is three base64url segments without padding:
# header.payload.signature (RFC 7515).


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def read_claims(token: str) -> dict[str, Any]:
    """Decode the payload of ``token`` without verifying it, for display only."""
    payload = json.loads(b64url_decode(token.split(".")[1]))
    if not isinstance(payload, dict):
        raise ValueError("The token payload is not a JSON object.")
    return payload


def forge_subject(token: str, subject: str) -> str:
    """Return ``token`` with its ``sub`` claim replaced and the signature kept."""
    header, _, signature = token.split(".")
    claims = read_claims(token)
    claims["sub"] = subject
    payload = b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{signature}"


def sign_with_random_key(token: str) -> str:
    """Return ``token`` with the same header and claims, signed with a new key.

    The key is 32 random bytes for HS256, as strong as the server's own but
    unknown to it.
    """
    header, payload, _ = token.split(".")
    signing_input = f"{header}.{payload}".encode("ascii")
    key = secrets.token_bytes(32)
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url_encode(signature)}"


@dataclass
class Tour:
    base_url: str
    failures: list[str] = field(default_factory=list)

    def send(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> Response:
        """Send one request and return its status, headers and JSON body.

        Raises ``urllib.error.URLError`` when the server cannot be reached.
        """
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", "jwtsafe-example-tour")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:
                return Response(reply.status, dict(reply.headers), _json(reply.read()))
        except urllib.error.HTTPError as error:
            # urllib raises on 4xx and 5xx. Those are results here, not errors.
            with error:
                return Response(error.code, dict(error.headers), _json(error.read()))

    def step(
        self,
        method: str,
        path: str,
        label: str,
        expected: int,
        *,
        token: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> Response:
        """Send one request, print it with its status and record a mismatch."""
        response = self.send(method, path, token=token, body=body)
        verdict = "ok" if response.status == expected else f"expected {expected}"
        print(f"{method:<5} {path:<18} {label:<48} -> {response.status}  {verdict}")
        if response.status != expected:
            self.failures.append(
                f"{method} {path} ({label}): {response.status}, expected {expected}"
            )
        return response

    def log_in(self, username: str, password: str) -> str:
        """Log in and return the access token. Raises ``TourAborted`` on failure."""
        response = self.step(
            "POST",
            "/auth/login/",
            f"log in as {username}",
            200,
            body={"username": username, "password": password},
        )
        if response.status == 429:
            raise TourAborted(
                f"Login as {username} was throttled (HTTP 429). jwtsafe allows 5 "
                "attempts a minute per username by default. Wait a minute and "
                "run the tour again."
            )
        if response.status != 200:
            raise TourAborted(
                f"Cannot log in as {username}. Create the demo users with "
                "`python manage.py load_demo` and run the tour again."
            )
        access: str = response.body["access"]
        detail(f"access token {shorten(access)} (refresh token also returned)")
        return access

    def run(self) -> None:
        print(f"Touring the example notes API at {self.base_url}")

        print()
        alice_token = self.log_in(*ALICE)
        alice = self.step(
            "GET", "/api/me/", "who am I, with alice's token", 200, token=alice_token
        )
        detail(f"id {alice.body.get('id')}, username {alice.body.get('username')}")
        notes = self.step("GET", "/api/notes/", "alice's notes", 200, token=alice_token)
        alice_notes = notes.body.get("results", []) if notes.status == 200 else []
        titles = ", ".join(repr(note["title"]) for note in alice_notes)
        detail(f"{len(alice_notes)} notes: {titles}")

        print()
        bob_token = self.log_in(*BOB)
        bob = self.step(
            "GET", "/api/me/", "who am I, with bob's token", 200, token=bob_token
        )
        bob_id = str(bob.body.get("id"))
        detail(f"id {bob_id}, username {bob.body.get('username')}")
        private = [note for note in alice_notes if not note["shared_with"]]
        shared = [note for note in alice_notes if "bob" in note["shared_with"]]
        if private:
            self.step(
                "GET",
                f"/api/notes/{private[0]['id']}/",
                "alice's note, with bob's token",
                404,
                token=bob_token,
            )
            detail("bob's queryset holds his notes and those shared with him")
        if shared:
            note_path = f"/api/notes/{shared[0]['id']}/"
            self.step(
                "GET", note_path, "alice's shared note, bob reads", 200, token=bob_token
            )
            self.step(
                "PATCH",
                note_path,
                "alice's shared note, bob edits",
                403,
                token=bob_token,
                body={"title": "Changed by bob"},
            )
            detail("a reader may read a shared note but not change it")

        print()
        self.step(
            "GET",
            "/api/notes/",
            "forged token: sub set to bob, same signature",
            401,
            token=forge_subject(alice_token, bob_id),
        )
        alice_id = read_claims(alice_token)["sub"]
        detail(f"sub {alice_id} -> {bob_id}, so the signature no longer matches")
        foreign = self.step(
            "GET",
            "/api/notes/",
            "alice's claims signed with another key",
            401,
            token=sign_with_random_key(alice_token),
        )
        detail(f"WWW-Authenticate: {header(foreign, 'WWW-Authenticate')}")

        print()
        self.step("POST", "/auth/logout/", "log out alice", 204, token=alice_token)
        self.step(
            "GET", "/api/notes/", "alice's token after logout", 401, token=alice_token
        )
        detail("the token has not expired, but its session is revoked")
        self.step("POST", "/auth/logout/", "log out bob", 204, token=bob_token)


def _json(raw: bytes) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}


def header(response: Response, name: str) -> str:
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return value
    return "(missing)"


def detail(text: str) -> None:
    print(f"{'':<25}{text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "base_url",
        nargs="?",
        default=DEFAULT_BASE_URL,
        help=f"URL of the running example (default {DEFAULT_BASE_URL})",
    )
    args = parser.parse_args(argv)
    tour = Tour(args.base_url.rstrip("/"))

    try:
        tour.run()
    except urllib.error.URLError as error:
        print(
            f"\nCannot reach {tour.base_url}: {error.reason}. Start the example "
            "with `python manage.py runserver` and run the tour again.",
            file=sys.stderr,
        )
        return 2
    except TourAborted as error:
        print(f"\n{error}", file=sys.stderr)
        return 1

    print()
    if tour.failures:
        print(f"{len(tour.failures)} unexpected statuses:")
        for failure in tour.failures:
            print(f"  {failure}")
        return 1
    print("Every status was as expected.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
