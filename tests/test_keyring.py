"""The key ring: ``KEYS`` settings, key sources, every algorithm, JWKS and rotation.

Tokens go through real requests to the login, refresh and protected views.
Keys are generated per test session; none is committed.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from django.conf import settings
from django.core import checks as django_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.views.debug import ExceptionReporter

from jwtsafe import checks, keyring, tokens
from jwtsafe.conf import jwtsafe_settings
from jwtsafe.keys import fingerprint
from jwtsafe.models import Session
from jwtsafe.tokens import TokenError, verify_token
from tests.conftest import (
    SECRETS_MADE,
    login,
    mint,
    private_pem,
    public_pem,
    split_token,
)
from tests.test_attacks import assert_rejected, assert_user, get_protected, post_refresh

HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"]
ASYMMETRIC_ALGORITHMS = [
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]
ALL_ALGORITHMS = HMAC_ALGORITHMS + ASYMMETRIC_ALGORITHMS

EC_CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}

# JWK members that contain private key material (RFC 7518 section 6).
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def new_private_key(algorithm: str) -> Any:
    if algorithm.startswith(("RS", "PS")):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm in EC_CURVES:
        return ec.generate_private_key(EC_CURVES[algorithm])
    return ed25519.Ed25519PrivateKey.generate()


_generated: dict[tuple[str, str], Any] = {}


def private_key(algorithm: str, name: str = "a") -> Any:
    """Return a key pair for ``algorithm``, the same one for the same name."""
    found = _generated.get((algorithm, name))
    if found is None:
        found = _generated[(algorithm, name)] = new_private_key(algorithm)
    return found


def public_der(key: Any) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def hmac_secret(algorithm: str = "HS256") -> str:
    secret = secrets.token_urlsafe({"HS256": 32, "HS384": 48, "HS512": 64}[algorithm])
    # The suite's log scan fails the run if this appears in any log record.
    SECRETS_MADE.add(secret)
    return secret


def entry(
    kid: str, algorithm: str, state: str = "signing", **material: Any
) -> dict[str, Any]:
    """Return a ``KEYS`` entry; without material, a fresh inline key."""
    if not material and state != "retired":
        if algorithm.startswith("HS"):
            material = {"secret": hmac_secret(algorithm)}
        else:
            material = {"private_key": private_pem(private_key(algorithm, kid))}
    return {"kid": kid, "algorithm": algorithm, "state": state, **material}


def ring_settings(*entries: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Return the test JWTSAFE dict with ``KEYS`` in place of the single key."""
    config = {
        name: value
        for name, value in settings.JWTSAFE.items()
        if name not in ("ALGORITHM", "SIGNING_KEY", "VERIFYING_KEY", "KEY_ID")
    }
    config["KEYS"] = list(entries)
    config.update(changes)
    return config


def reason_for(token: str) -> str:
    with pytest.raises(TokenError) as raised:
        verify_token(token, "at+jwt")
    return raised.value.reason


# The shape of KEYS


BAD_ENTRIES = [
    pytest.param("not-a-dict", "must be a dict", id="not-a-dict"),
    pytest.param({"algorithm": "HS256", "state": "signing"}, "'kid'", id="no-kid"),
    pytest.param({"kid": "", "algorithm": "HS256"}, "'kid'", id="empty-kid"),
    pytest.param({"kid": "a b", "algorithm": "HS256"}, "'kid'", id="kid-with-space"),
    pytest.param({"kid": "k\u00e9", "algorithm": "HS256"}, "'kid'", id="kid-non-ascii"),
    pytest.param({"kid": "k" * 129, "algorithm": "HS256"}, "'kid'", id="kid-too-long"),
    pytest.param({"kid": 1, "algorithm": "HS256"}, "'kid'", id="kid-number"),
    pytest.param({"kid": "k1", "state": "signing"}, "'algorithm'", id="no-algorithm"),
    pytest.param({"kid": "k1", "algorithm": "HS256"}, "'state'", id="no-state"),
    pytest.param(
        {"kid": "k1", "algorithm": "HS256", "state": "active"},
        "'state'",
        id="bad-state",
    ),
    pytest.param(
        {"kid": "k1", "algorithm": "HS256", "state": "signing"}, "no key", id="no-key"
    ),
    pytest.param(
        {"kid": "k1", "algorithm": "HS256", "state": "signing", "key": "x" * 40},
        "unknown fields: 'key'",
        id="unknown-field",
    ),
    pytest.param(
        {
            "kid": "k1",
            "algorithm": "HS256",
            "state": "signing",
            "secret": "x" * 40,
            "secret_env": "X",
        },
        "more than one way",
        id="two-sources",
    ),
    pytest.param(
        {
            "kid": "k1",
            "algorithm": "ES256",
            "state": "signing",
            "secret": "x" * 40,
            "public_key": "y",
        },
        "both an HMAC secret and an asymmetric key",
        id="secret-and-key-pair",
    ),
    pytest.param(
        {"kid": "k1", "algorithm": "HS256", "state": "signing", "secret": 12345},
        "must be a string or bytes",
        id="secret-number",
    ),
    pytest.param(
        {"kid": "k1", "algorithm": "HS256", "state": "signing", "secret_file": 3},
        "must be a path",
        id="file-not-a-path",
    ),
]


class TestSettingsShape:
    @pytest.mark.parametrize(("bad", "message"), BAD_ENTRIES)
    def test_bad_entry_rejected(self, bad, message):
        with override_settings(JWTSAFE=ring_settings(bad)):
            with pytest.raises(ImproperlyConfigured) as raised:
                _ = jwtsafe_settings.keys
        assert message in str(raised.value)

    @pytest.mark.parametrize("value", [[], (), {}, "k1", None])
    def test_keys_must_be_a_list(self, value):
        with override_settings(JWTSAFE=ring_settings(KEYS=value)):
            with pytest.raises(ImproperlyConfigured, match="non-empty list"):
                _ = jwtsafe_settings.keys

    @pytest.mark.parametrize(
        "name", ["SIGNING_KEY", "VERIFYING_KEY", "ALGORITHM", "KEY_ID"]
    )
    def test_keys_beside_single_key_setting_rejected(self, name):
        config = ring_settings(entry("k1", "HS256"), **{name: "HS256"})
        with override_settings(JWTSAFE=config):
            with pytest.raises(ImproperlyConfigured, match=f"both KEYS and {name}"):
                _ = jwtsafe_settings.keys

    def test_message_never_quotes_a_key(self):
        secret = hmac_secret()
        bad = {"kid": "k1", "algorithm": "HS256", "state": "signing", secret: secret}
        with override_settings(JWTSAFE=ring_settings(bad)):
            with pytest.raises(ImproperlyConfigured) as raised:
                _ = jwtsafe_settings.keys
        assert secret not in str(raised.value)

    def test_retired_key_needs_no_material(self):
        config = ring_settings(entry("k2", "HS256"), entry("k1", "HS256", "retired"))
        with override_settings(JWTSAFE=config):
            ring = keyring.current()
        assert ring.by_kid["k1"].verifying_key is None


# Where keys come from


@pytest.fixture
def loaded(settings) -> Callable[..., keyring.KeyRing]:
    def load(*entries: dict[str, Any]) -> keyring.KeyRing:
        settings.JWTSAFE = ring_settings(*entries)
        return keyring.current()

    return load


class TestKeySources:
    def test_secret_from_file_loses_final_newline(self, loaded, tmp_path):
        secret = hmac_secret()
        path = tmp_path / "k1.secret"
        path.write_text(secret + "\n")
        ring = loaded(entry("k1", "HS256", secret_file=path))
        assert ring.signing.verifying_key == secret.encode()

    def test_secret_from_environment(self, loaded, monkeypatch):
        secret = hmac_secret()
        monkeypatch.setenv("JWTSAFE_TEST_SECRET", secret)
        ring = loaded(entry("k1", "HS256", secret_env="JWTSAFE_TEST_SECRET"))
        assert ring.signing.verifying_key == secret.encode()

    def test_private_key_from_file(self, loaded, tmp_path):
        key = private_key("ES256")
        path = tmp_path / "k1.pem"
        path.write_text(private_pem(key))
        ring = loaded(entry("k1", "ES256", private_key_file=str(path)))
        assert ring.signing.verifying_key.public_numbers() == (
            key.public_key().public_numbers()
        )

    def test_public_key_from_environment(self, loaded, monkeypatch):
        key = private_key("RS256")
        monkeypatch.setenv("JWTSAFE_TEST_PUBLIC", public_pem(key))
        ring = loaded(
            entry("k2", "RS256"),
            entry("k1", "RS256", "verify-only", public_key_env="JWTSAFE_TEST_PUBLIC"),
        )
        verifying = ring.by_kid["k1"]
        assert verifying.signing_key is None
        assert verifying.verifying_key.public_numbers() == (
            key.public_key().public_numbers()
        )

    def test_public_key_alone_verifies_but_cannot_sign(self, loaded):
        key = private_key("EdDSA")
        ring = loaded(entry("k1", "EdDSA", public_key=public_pem(key)))
        assert ring.signing.signing_key is None
        assert ring.signing.verifying_key is not None

    @pytest.mark.parametrize(
        ("material", "message"),
        [
            ({"secret_file": "/nonexistent/jwtsafe.secret"}, "cannot read"),
            ({"secret_env": "JWTSAFE_TEST_UNSET"}, "not set or is empty"),
            ({"secret_file": "/"}, "cannot read"),
        ],
        ids=["missing-file", "unset-variable", "directory"],
    )
    def test_unreadable_source_rejected(self, loaded, material, message, monkeypatch):
        monkeypatch.delenv("JWTSAFE_TEST_UNSET", raising=False)
        with pytest.raises(keyring.KeySourceError, match=message):
            loaded(entry("k1", "HS256", **material))

    def test_empty_and_oversized_files_rejected(self, loaded, tmp_path):
        empty = tmp_path / "empty"
        empty.write_bytes(b"")
        with pytest.raises(keyring.KeySourceError, match="is empty"):
            loaded(entry("k1", "HS256", secret_file=empty))
        large = tmp_path / "large"
        large.write_bytes(b"a" * (keyring.MAX_KEY_FILE_BYTES + 1))
        with pytest.raises(keyring.KeySourceError, match="larger than any key"):
            loaded(entry("k1", "HS256", secret_file=large))

    def test_file_read_once_until_settings_change(self, loaded, tmp_path):
        path = tmp_path / "k1.secret"
        first, second = hmac_secret(), hmac_secret()
        path.write_text(first)
        loaded(entry("k1", "HS256", secret_file=path))
        path.write_text(second)
        assert keyring.current().signing.verifying_key == first.encode()
        ring = loaded(entry("k1", "HS256", secret_file=path))
        assert ring.signing.verifying_key == second.encode()

    @pytest.mark.parametrize(
        ("algorithm", "key", "message"),
        [
            ("RS256", lambda: private_key("ES256"), "needs an RSA key"),
            ("ES256", lambda: private_key("ES384"), "needs an EC key on secp256r1"),
            ("EdDSA", lambda: ed448.Ed448PrivateKey.generate(), "not an RSA, EC"),
            (
                "RS256",
                lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
                "1024 bits",
            ),
        ],
        ids=["ec-for-rs256", "p384-for-es256", "ed448-for-eddsa", "rsa-1024"],
    )
    def test_key_that_does_not_fit_rejected(self, loaded, algorithm, key, message):
        with pytest.raises(ImproperlyConfigured, match=message):
            loaded(entry("k1", algorithm, private_key=private_pem(key())))

    def test_mismatched_pair_rejected(self, loaded):
        with pytest.raises(ImproperlyConfigured, match="not the private key's"):
            loaded(
                entry(
                    "k1",
                    "ES256",
                    private_key=private_pem(private_key("ES256", "x")),
                    public_key=public_pem(private_key("ES256", "y")),
                )
            )

    @pytest.mark.parametrize(
        ("entries", "message"),
        [
            (
                lambda: [entry("a", "HS256"), entry("a", "HS256", "verify-only")],
                "twice",
            ),
            (lambda: [entry("a", "HS256"), entry("b", "HS256")], "2 keys in state"),
            (lambda: [entry("a", "HS256", "verify-only")], "0 keys in state"),
            (
                lambda: [entry("a", "HS256"), entry("b", "ES256", "verify-only")],
                "mixes",
            ),
        ],
        ids=["duplicate-kid", "two-signing", "no-signing", "mixed-families"],
    )
    def test_ring_that_does_not_fit_rejected(self, loaded, entries, message):
        with pytest.raises(ImproperlyConfigured, match=message):
            loaded(*entries())


# Every algorithm, end to end


class TestEveryAlgorithm:
    @pytest.mark.parametrize("algorithm", ALL_ALGORITHMS)
    def test_ring_key_signs_and_verifies(self, client, user, settings, algorithm):
        settings.JWTSAFE = ring_settings(entry("main", algorithm))
        tokens = login(client, user)
        header, _ = split_token(tokens["access"])
        assert header == {"alg": algorithm, "typ": "at+jwt", "kid": "main"}
        assert_user(get_protected(client, f"Bearer {tokens['access']}"), user)
        refreshed = post_refresh(client, tokens["refresh"])
        assert refreshed.status_code == 200
        assert_user(get_protected(client, f"Bearer {refreshed.json()['access']}"), user)

    @pytest.mark.parametrize("algorithm", ASYMMETRIC_ALGORITHMS)
    def test_single_key_signs_and_verifies(self, client, user, settings, algorithm):
        key = private_key(algorithm)
        settings.JWTSAFE = {
            **settings.JWTSAFE,
            "ALGORITHM": algorithm,
            "SIGNING_KEY": private_pem(key),
            "VERIFYING_KEY": public_pem(key),
        }
        tokens = login(client, user)
        assert split_token(tokens["access"])[0] == {"alg": algorithm, "typ": "at+jwt"}
        assert_user(get_protected(client, f"Bearer {tokens['access']}"), user)

    @pytest.mark.parametrize("algorithm", ASYMMETRIC_ALGORITHMS)
    def test_other_key_of_same_algorithm_rejected(
        self, client, user, settings, algorithm
    ):
        settings.JWTSAFE = ring_settings(entry("main", algorithm))
        tokens = login(client, user)
        other = private_key(algorithm, "other")
        settings.JWTSAFE = ring_settings(
            entry("main", algorithm, private_key=private_pem(other))
        )
        assert_rejected(get_protected(client, f"Bearer {tokens['access']}"))
        assert reason_for(tokens["access"]) == "bad_signature"


class TestVerifyingHost:
    """A host that verifies with public keys only, beside one that issues."""

    def test_public_keys_verify_tokens_of_the_issuing_host(
        self, client, user, settings
    ):
        signing = private_key("ES256", "issuer")
        previous = private_key("ES256", "previous")
        issuing = ring_settings(
            entry("new", "ES256", private_key=private_pem(signing)),
            entry("old", "ES256", "verify-only", private_key=private_pem(previous)),
        )
        verifying = ring_settings(
            entry("new", "ES256", public_key=public_pem(signing)),
            entry("old", "ES256", "verify-only", public_key=public_pem(previous)),
        )
        settings.JWTSAFE = issuing
        tokens = login(client, user)
        settings.JWTSAFE = verifying
        assert_user(get_protected(client, f"Bearer {tokens['access']}"), user)

    def test_verifying_host_cannot_issue(self, client, user, settings):
        key = private_key("ES256", "issuer")
        settings.JWTSAFE = ring_settings(
            entry("new", "ES256", private_key=private_pem(key))
        )
        tokens = login(client, user)
        settings.JWTSAFE = ring_settings(
            entry("new", "ES256", public_key=public_pem(key))
        )
        with pytest.raises(ImproperlyConfigured, match="not issue them"):
            login(client, user)
        with pytest.raises(ImproperlyConfigured, match="not issue them"):
            post_refresh(client, tokens["refresh"])
        # Nothing was written: no new session, and the refresh token still
        # works on the issuing host.
        assert Session.objects.filter(user_id=user.pk).count() == 1
        settings.JWTSAFE = ring_settings(
            entry("new", "ES256", private_key=private_pem(key))
        )
        assert post_refresh(client, tokens["refresh"]).status_code == 200


# The JWKS endpoint

JWKS_URL = "/auth/jwks.json"


class TestJwks:
    def ring(self) -> dict[str, Any]:
        return ring_settings(
            entry("rs-old", "RS256", "verify-only"),
            entry("es-new", "ES256"),
            entry(
                "ed-next",
                "EdDSA",
                "verify-only",
                public_key=public_pem(private_key("EdDSA")),
            ),
            entry(
                "retired",
                "ES256",
                "retired",
                private_key=private_pem(private_key("ES256", "r")),
            ),
        )

    def test_publishes_public_keys_that_verify(self, client, settings):
        settings.JWTSAFE = self.ring()
        response = client.get(JWKS_URL)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        published = response.json()["keys"]
        assert [key["kid"] for key in published] == ["es-new", "rs-old", "ed-next"]
        assert [key["alg"] for key in published] == ["ES256", "RS256", "EdDSA"]
        assert [key["kty"] for key in published] == ["EC", "RSA", "OKP"]
        assert {key["use"] for key in published} == {"sig"}
        for key in published:
            assert PRIVATE_JWK_MEMBERS.isdisjoint(key)

    def test_published_keys_are_the_configured_ones(self, client, settings):
        settings.JWTSAFE = self.ring()
        published = jwt.PyJWKSet.from_dict(client.get(JWKS_URL).json())
        expected = private_key("ES256", "es-new").public_key().public_numbers()
        assert published["es-new"].key.public_numbers() == expected

    def test_published_key_verifies_issued_token(self, client, user, settings):
        # Another service that reads the JWKS can check jwtsafe's tokens.
        settings.JWTSAFE = self.ring()
        access = login(client, user)["access"]
        published = jwt.PyJWKSet.from_dict(client.get(JWKS_URL).json())
        claims = jwt.decode(
            access,
            published[split_token(access)[0]["kid"]].key,
            algorithms=["ES256"],
            audience=settings.JWTSAFE["AUDIENCE"],
            issuer=settings.JWTSAFE["ISSUER"],
        )
        assert claims["sub"] == str(user.pk)

    def test_cache_control(self, client, settings):
        settings.JWTSAFE = self.ring()
        response = client.get(JWKS_URL)
        assert response["Cache-Control"] == "public, max-age=300"
        assert "Set-Cookie" not in response
        assert "Cookie" not in response.get("Vary", "")

    def test_max_age_follows_setting(self, client, settings):
        from datetime import timedelta

        settings.JWTSAFE = {**self.ring(), "JWKS_MAX_AGE": timedelta(hours=1)}
        assert client.get(JWKS_URL)["Cache-Control"] == "public, max-age=3600"

    def test_hmac_secrets_never_published(self, client, settings):
        secret = hmac_secret()
        settings.JWTSAFE = ring_settings(
            entry("k1", "HS256", secret=secret),
            entry("k0", "HS256", "verify-only"),
        )
        response = client.get(JWKS_URL)
        assert response.json() == {"keys": []}
        assert secret.encode() not in response.content

    def test_single_hmac_key_never_published(self, client, settings):
        response = client.get(JWKS_URL)
        assert response.json() == {"keys": []}
        assert settings.JWTSAFE["SIGNING_KEY"].encode() not in response.content

    def test_single_asymmetric_key_published_without_kid(self, client, settings):
        key = private_key("PS256")
        settings.JWTSAFE = {
            **settings.JWTSAFE,
            "ALGORITHM": "PS256",
            "SIGNING_KEY": private_pem(key),
        }
        [published] = client.get(JWKS_URL).json()["keys"]
        assert "kid" not in published
        assert published["alg"] == "PS256"
        assert jwt.PyJWK(published).key.public_numbers() == (
            key.public_key().public_numbers()
        )

    @pytest.mark.parametrize("method", ["post", "put", "delete"])
    def test_only_read_methods(self, client, settings, method):
        settings.JWTSAFE = self.ring()
        assert getattr(client, method)(JWKS_URL).status_code == 405

    def test_head(self, client, settings):
        settings.JWTSAFE = self.ring()
        assert client.head(JWKS_URL).status_code == 200


# Rotation, step by step, under live requests


def rotation_steps(old: str, new: str) -> list[dict[str, Any]]:
    """Return the key rings of the documented rotation, one per step.

    0: the old key signs. 1: the new key is added, verify-only, on every
    host. 2: the new key signs; the old one still verifies. 3: after the
    longest token lifetime, the old key is retired.
    """

    def key(name: str, algorithm: str, state: str) -> dict[str, Any]:
        if state == "retired":
            return entry(name, algorithm, state)
        if algorithm.startswith("HS"):
            secret = _secrets.setdefault(name, hmac_secret(algorithm))
            return entry(name, algorithm, state, secret=secret)
        return entry(
            name,
            algorithm,
            state,
            private_key=private_pem(private_key(algorithm, name)),
        )

    _secrets: dict[str, str] = {}
    return [
        ring_settings(key("old", old, "signing")),
        ring_settings(key("old", old, "signing"), key("new", new, "verify-only")),
        ring_settings(key("new", new, "signing"), key("old", old, "verify-only")),
        ring_settings(key("new", new, "signing"), key("old", old, "retired")),
    ]


def kid_of(token: str) -> str:
    return split_token(token)[0]["kid"]


@pytest.mark.parametrize(
    ("old", "new"),
    [("HS256", "HS256"), ("RS256", "ES256"), ("ES256", "EdDSA")],
    ids=["hmac", "rs256-to-es256", "es256-to-eddsa"],
)
def test_rotation_logs_no_one_out(client, user, other_user, old, new):
    steps = rotation_steps(old, new)

    def whoami(step: int, access: str) -> Any:
        with override_settings(JWTSAFE=steps[step]):
            return get_protected(client, f"Bearer {access}")

    def refresh(step: int, token: str) -> dict[str, str]:
        with override_settings(JWTSAFE=steps[step]):
            response = post_refresh(client, token)
        assert response.status_code == 200, response.content
        return response.json()

    def jwks_kids(step: int) -> list[str]:
        with override_settings(JWTSAFE=steps[step]):
            return [key["kid"] for key in client.get(JWKS_URL).json()["keys"]]

    # Step 0: the old key signs. Two users are signed in.
    with override_settings(JWTSAFE=steps[0]):
        alice = login(client, user)
        bob = login(client, other_user)
    assert kid_of(alice["access"]) == "old"

    # Step 1, rolled out host by host: hosts still on step 0 and hosts on
    # step 1 accept each other's tokens, which the old key still signs.
    assert_user(whoami(1, alice["access"]), user)
    alice = refresh(1, alice["refresh"])
    assert kid_of(alice["access"]) == "old"
    assert_user(whoami(0, alice["access"]), user)
    if not old.startswith("HS"):
        # Services that read the JWKS learn the new key before it signs.
        assert jwks_kids(1) == ["old", "new"]

    # Step 2, rolled out host by host: a host on step 2 signs with the new
    # key, and a host still on step 1 accepts that token, because step 1
    # put the new key everywhere.
    alice = refresh(2, alice["refresh"])
    assert kid_of(alice["access"]) == "new"
    assert_user(whoami(1, alice["access"]), user)
    assert_user(whoami(2, alice["access"]), user)
    # Bob still has tokens of the old key, and keeps working.
    assert_user(whoami(2, bob["access"]), other_user)
    bob = refresh(2, bob["refresh"])
    assert kid_of(bob["refresh"]) == "new"

    # Step 3, after the longest token lifetime: the old key is retired.
    # Both users have tokens of the new key and stay signed in.
    assert_user(whoami(3, alice["access"]), user)
    assert_user(whoami(3, bob["access"]), other_user)
    alice = refresh(3, alice["refresh"])
    assert_user(whoami(3, alice["access"]), user)
    if not old.startswith("HS"):
        assert jwks_kids(3) == ["new"]
    assert not Session.objects.filter(revoked_at__isnull=False).exists()


def test_early_retirement_rejects_old_tokens(client, user):
    # Why step 3 waits: a token of the old key still inside its lifetime is
    # rejected once that key is retired.
    steps = rotation_steps("ES256", "ES256")
    with override_settings(JWTSAFE=steps[0]):
        tokens = login(client, user)
    with override_settings(JWTSAFE=steps[2]):
        assert_user(get_protected(client, f"Bearer {tokens['access']}"), user)
    with override_settings(JWTSAFE=steps[3]):
        assert_rejected(get_protected(client, f"Bearer {tokens['access']}"))
        assert reason_for(tokens["access"]) == "retired_key"
        assert post_refresh(client, tokens["refresh"]).status_code == 401


# System checks on KEYS


@pytest.fixture
def ring_check_ids(tmp_path: Path) -> Callable[..., list[str]]:
    def run(
        *entries: dict[str, Any], deploy: bool = False, **changes: Any
    ) -> list[str]:
        with override_settings(
            JWTSAFE=ring_settings(*entries, **changes), BASE_DIR=tmp_path
        ):
            messages = django_checks.run_checks(include_deployment_checks=deploy)
        return sorted(m.id for m in messages if m.id and m.id.startswith("jwtsafe."))

    return run


def weak_rsa() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


RING_CHECK_CASES = [
    pytest.param(
        lambda: [entry("a", "ES256"), entry("a", "ES256", "verify-only")],
        ["jwtsafe.E025"],
        id="duplicate-kid",
    ),
    pytest.param(
        lambda: [entry("a", "ES256"), entry("b", "ES256")],
        ["jwtsafe.E026"],
        id="two-signing-keys",
    ),
    pytest.param(
        lambda: [entry("a", "ES256", "verify-only"), entry("b", "ES256", "retired")],
        ["jwtsafe.E026"],
        id="no-signing-key",
    ),
    pytest.param(
        lambda: [entry("a", "ES256"), entry("b", "HS256", "verify-only")],
        ["jwtsafe.E027"],
        id="hmac-beside-asymmetric",
    ),
    pytest.param(
        lambda: [entry("a", "HS256", secret_file="/nonexistent/jwtsafe.secret")],
        ["jwtsafe.E028"],
        id="missing-key-file",
    ),
    pytest.param(
        lambda: [entry("a", "HS256", secret_env="JWTSAFE_TEST_UNSET")],
        ["jwtsafe.E028"],
        id="unset-key-variable",
    ),
    pytest.param(
        lambda: [entry("a", "RS256", private_key=private_pem(weak_rsa()))],
        ["jwtsafe.E007"],
        id="rsa-1024",
    ),
    pytest.param(
        lambda: [
            entry("a", "ES256"),
            entry(
                "b", "ES256", "verify-only", public_key=public_pem(private_key("ES384"))
            ),
        ],
        ["jwtsafe.E008"],
        id="p384-for-es256",
    ),
    pytest.param(
        lambda: [
            entry(
                "a", "EdDSA", private_key=private_pem(ed448.Ed448PrivateKey.generate())
            )
        ],
        ["jwtsafe.E011"],
        id="ed448-for-eddsa",
    ),
    pytest.param(
        lambda: [entry("a", "ES256", private_key=hmac_secret())],
        ["jwtsafe.E011"],
        id="secret-as-private-key",
    ),
    pytest.param(
        lambda: [entry("a", "HS256", secret=public_pem(private_key("RS256")))],
        ["jwtsafe.E011"],
        id="public-key-as-secret",
    ),
    pytest.param(
        lambda: [
            entry("a", "HS256"),
            entry("b", "HS256", "verify-only", secret="x" * 40),
        ],
        ["jwtsafe.E003"],
        id="guessable-verify-only-secret",
    ),
    pytest.param(
        lambda: [entry("a", "HS512", secret=secrets.token_urlsafe(24))],
        ["jwtsafe.E002"],
        id="short-secret",
    ),
    pytest.param(
        lambda: [
            entry("a", "HS256", secret=_shared_secret),
            entry("b", "HS256", "verify-only", secret=_shared_secret),
        ],
        ["jwtsafe.E005"],
        id="one-secret-two-kids",
    ),
    pytest.param(
        lambda: [
            entry("a", "ES256"),
            entry(
                "b",
                "ES256",
                "verify-only",
                public_key=public_pem(private_key("ES256", "a")),
            ),
        ],
        ["jwtsafe.E005"],
        id="one-key-pair-two-kids",
    ),
    pytest.param(
        lambda: [
            entry(
                "a",
                "ES256",
                private_key=private_pem(private_key("ES256", "x")),
                public_key=public_pem(private_key("ES256", "y")),
            )
        ],
        ["jwtsafe.E005"],
        id="mismatched-pair",
    ),
    pytest.param(
        lambda: [
            entry("a", "ES256"),
            entry(
                "b",
                "ES256",
                "verify-only",
                public_key=private_pem(private_key("ES256", "b")),
            ),
        ],
        ["jwtsafe.E009"],
        id="private-key-as-public-key",
    ),
    pytest.param(
        lambda: [entry("a", "ES256", private_key=public_pem(private_key("ES256")))],
        ["jwtsafe.E022"],
        id="public-key-as-private-key",
    ),
    pytest.param(
        lambda: [entry("a", "none", secret=hmac_secret())],
        ["jwtsafe.E010"],
        id="alg-none",
    ),
    pytest.param(
        lambda: [entry("a", "ES256", public_key=public_pem(private_key("ES256")))],
        ["jwtsafe.W008"],
        id="signing-key-without-private-key",
    ),
    pytest.param(
        lambda: [entry("a", "ES256"), {"kid": "b", "algorithm": "ES256"}],
        ["jwtsafe.E017"],
        id="entry-without-state",
    ),
    # Key-pair fields on an HMAC key: the material itself passes the
    # strength checks, so only loading the ring finds the mistake.
    pytest.param(
        lambda: [entry("a", "HS256", private_key=hmac_secret())],
        ["jwtsafe.E029"],
        id="private-key-field-for-hmac",
    ),
]

_shared_secret = hmac_secret()


class TestRingChecks:
    def test_good_ring_has_no_messages(self, ring_check_ids):
        found = ring_check_ids(
            entry("new", "ES256"),
            entry(
                "old",
                "ES256",
                "verify-only",
                public_key=public_pem(private_key("ES256", "o")),
            ),
            # A retired key's material is not checked: it verifies nothing.
            entry("older", "ES256", "retired", private_key=private_pem(weak_rsa())),
        )
        assert found == []

    @pytest.mark.parametrize(("entries", "expected"), RING_CHECK_CASES)
    def test_bad_ring_gives_exact_ids(
        self, ring_check_ids, entries, expected, monkeypatch
    ):
        monkeypatch.delenv("JWTSAFE_TEST_UNSET", raising=False)
        assert ring_check_ids(*entries()) == expected

    def test_keys_beside_signing_key(self, ring_check_ids):
        found = ring_check_ids(entry("a", "HS256"), SIGNING_KEY=hmac_secret())
        assert found == ["jwtsafe.E017"]

    def test_load_failure_stops_startup(self, monkeypatch):
        config = ring_settings(entry("a", "HS256", public_key=hmac_secret()))
        with override_settings(JWTSAFE=config):
            monkeypatch.setattr("sys.argv", ["gunicorn", "project.wsgi"])
            with pytest.raises(ImproperlyConfigured, match="jwtsafe.E029"):
                checks.enforce_startup_checks()

    def test_errors_stop_startup(self, monkeypatch):
        config = ring_settings(entry("a", "ES256"), entry("a", "ES256", "verify-only"))
        with override_settings(JWTSAFE=config):
            monkeypatch.setattr("sys.argv", ["gunicorn", "project.wsgi"])
            with pytest.raises(ImproperlyConfigured, match="jwtsafe.E025"):
                checks.enforce_startup_checks()

    def test_errors_cannot_be_silenced(self, ring_check_ids):
        found = ring_check_ids(
            entry("a", "ES256"),
            entry("b", "ES256"),
        )
        with override_settings(SILENCED_SYSTEM_CHECKS=["jwtsafe.E026"]):
            silenced = ring_check_ids(entry("a", "ES256"), entry("b", "ES256"))
        assert found == silenced == ["jwtsafe.E026"]

    def test_inline_ring_secret_found_in_source(self, ring_check_ids, tmp_path):
        secret = hmac_secret()
        (tmp_path / "settings.py").write_text(f"KEY = {secret!r}\n")
        assert ring_check_ids(entry("a", "HS256", secret=secret)) == ["jwtsafe.W004"]

    def test_kid_containing_secret(self, ring_check_ids):
        secret = hmac_secret()
        found = ring_check_ids(entry(f"k-{secret}"[:128], "HS256", secret=secret))
        assert found == ["jwtsafe.E005"]

    def test_messages_never_quote_a_key(self, tmp_path):
        secret = "x" * 40
        config = ring_settings(
            entry("a", "HS256"), entry("b", "HS256", "verify-only", secret=secret)
        )
        with override_settings(JWTSAFE=config, BASE_DIR=tmp_path):
            messages = django_checks.run_checks()
        text = "\n".join(str(message) for message in messages)
        assert "jwtsafe.E003" in text
        assert secret not in text


# jwtsafe_keygen


def keygen(*args: str) -> str:
    output = StringIO()
    call_command("jwtsafe_keygen", *args, stdout=output)
    return output.getvalue()


class TestKeygen:
    @pytest.mark.parametrize("algorithm", ASYMMETRIC_ALGORITHMS)
    def test_prints_pem_pair_and_jwk(self, algorithm):
        output = keygen("--algorithm", algorithm, "--kid", "2026-12")
        jwk = json.loads(output[output.index("{") :])
        assert jwk["kid"] == "2026-12"
        assert jwk["alg"] == algorithm
        assert jwk["use"] == "sig"
        assert PRIVATE_JWK_MEMBERS.isdisjoint(jwk)
        private = output[output.index("-----BEGIN PRIVATE KEY") :]
        key = serialization.load_pem_private_key(private.encode(), password=None)
        assert public_der(jwt.PyJWK(jwk).key) == public_der(key.public_key())

    def test_writes_files_for_keys(self, tmp_path, client, user, settings):
        output = keygen(
            "--algorithm", "ES384", "--kid", "k1", "--output-dir", str(tmp_path)
        )
        private = tmp_path / "k1.private.pem"
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
        assert (tmp_path / "k1.public.pem").exists()
        jwk = json.loads((tmp_path / "k1.jwk.json").read_text())
        assert jwk["kid"] == "k1"
        assert f"'private_key_file': '{private}'" in output
        settings.JWTSAFE = ring_settings(
            entry("k1", "ES384", private_key_file=str(private))
        )
        assert_user(
            get_protected(client, f"Bearer {login(client, user)['access']}"), user
        )

    def test_writes_hmac_secret_file(self, tmp_path, ring_check_ids):
        output = keygen(
            "--algorithm", "HS512", "--kid", "k1", "--output-dir", str(tmp_path)
        )
        path = tmp_path / "k1.secret"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() not in output
        assert ring_check_ids(entry("k1", "HS512", secret_file=str(path))) == []

    def test_never_overwrites_a_key(self, tmp_path):
        keygen("--algorithm", "EdDSA", "--kid", "k1", "--output-dir", str(tmp_path))
        before = (tmp_path / "k1.private.pem").read_bytes()
        with pytest.raises(CommandError, match="exists"):
            keygen("--algorithm", "EdDSA", "--kid", "k1", "--output-dir", str(tmp_path))
        assert (tmp_path / "k1.private.pem").read_bytes() == before

    @pytest.mark.parametrize("kid", ["../k1", "a b", ""])
    def test_kid_must_be_plain(self, tmp_path, kid):
        with pytest.raises(CommandError, match="--kid"):
            keygen("--algorithm", "EdDSA", "--kid", kid, "--output-dir", str(tmp_path))
        assert os.listdir(tmp_path) == []


class TestHmacRing:
    """Kid selection among HMAC secrets, where every key signs and verifies."""

    @pytest.fixture
    def ring(self, settings) -> dict[str, str]:
        secrets_by_kid = {"new": hmac_secret(), "old": hmac_secret()}
        settings.JWTSAFE = ring_settings(
            entry("new", "HS256", secret=secrets_by_kid["new"]),
            entry("old", "HS256", "verify-only", secret=secrets_by_kid["old"]),
            entry("gone", "HS256", "retired"),
        )
        return secrets_by_kid

    def sign(self, token: str, kid: Any, secret: str) -> str:
        header, claims = split_token(token)
        header["kid"] = kid
        return mint(header, claims, secret.encode())

    def test_verify_only_secret_accepted(self, client, user, ring):
        access = login(client, user)["access"]
        token = self.sign(access, "old", ring["old"])
        assert_user(get_protected(client, f"Bearer {token}"), user)

    @pytest.mark.parametrize(
        ("kid", "secret", "reason"),
        [
            ("new", "old", "bad_signature"),
            ("old", "new", "bad_signature"),
            ("gone", "new", "retired_key"),
            ("other", "new", "unknown_kid"),
            ("NEW", "new", "unknown_kid"),
            ("new ", "new", "unknown_kid"),
        ],
    )
    def test_secret_of_another_kid_rejected(
        self, client, user, ring, kid, secret, reason
    ):
        access = login(client, user)["access"]
        token = self.sign(access, kid, ring[secret])
        assert_rejected(get_protected(client, f"Bearer {token}"), token)
        assert reason_for(token) == reason


def test_fingerprint_lists_ring_keys(settings, tmp_path):
    secret = hmac_secret()
    path = tmp_path / "k1.secret"
    path.write_text(secret + "\n")
    settings.JWTSAFE = ring_settings(
        entry("k1", "HS256", secret_file=path),
        entry("k0", "HS256", "verify-only"),
        entry("gone", "HS256", "retired"),
    )
    output = StringIO()
    call_command("jwtsafe_fingerprint", stdout=output)
    lines = output.getvalue().splitlines()
    assert lines[0] == f"k1 secret {fingerprint(secret)}"
    assert [line.split()[:2] for line in lines] == [["k1", "secret"], ["k0", "secret"]]
    assert secret not in output.getvalue()


# Keys and tokens in error reports and messages


def report_frames(raised: Any, rf: Any) -> tuple[str, list[dict[str, Any]]]:
    """Return Django's HTML error report and the frames of jwtsafe's code."""
    # The first frame is the test's own, which contains the secret.
    report = ExceptionReporter(
        rf.get("/whoami/"), raised.type, raised.value, raised.tb.tb_next
    )
    frames = [
        frame
        for frame in report.get_traceback_frames()
        if f"{os.sep}jwtsafe{os.sep}" in frame["filename"]
    ]
    return report.get_traceback_html(), frames


class TestErrorReports:
    """A bug under a token or key must not put either into an error report.

    Django's report, shown by the DEBUG page and sent by AdminEmailHandler
    with include_html, lists the local variables of every frame.
    """

    def test_report_hides_key_and_token(self, client, user, settings, monkeypatch, rf):
        secret = hmac_secret()
        settings.JWTSAFE = ring_settings(entry("k1", "HS256", secret=secret))
        access = login(client, user)["access"]

        def simulated_bug(payload: Any) -> None:
            raise RuntimeError("simulated bug")

        monkeypatch.setattr(tokens, "_check_claim_types", simulated_bug)
        with pytest.raises(RuntimeError) as raised:
            get_protected(client, f"Bearer {access}")
        html, frames = report_frames(raised, rf)
        assert frames, "the report should include jwtsafe's frames"
        assert secret not in html
        for frame in frames:
            shown = repr(frame["vars"])
            assert access not in shown, frame["function"]
            assert secret not in shown, frame["function"]

    def test_report_hides_unloadable_ring_key(self, client, user, rf):
        secret = hmac_secret()
        # Passes every check but loading, which stops startup with E029;
        # here it reaches a request, as under a server that skipped ready().
        config = ring_settings(entry("k1", "HS256", private_key=secret))
        token = mint({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}, {}, b"x" * 32)
        with override_settings(JWTSAFE=config):
            with pytest.raises(ImproperlyConfigured) as raised:
                get_protected(client, f"Bearer {token}")
        html, frames = report_frames(raised, rf)
        assert frames
        assert secret not in html

    def test_key_settings_print_no_key(self, settings):
        secret = hmac_secret()
        settings.JWTSAFE = ring_settings(entry("k1", "HS256", secret=secret))
        assert secret not in repr(jwtsafe_settings.keys)
        assert secret not in repr(keyring.current())

    @pytest.mark.parametrize(
        ("algorithm", "field"),
        [
            ("HS256", "secret_file"),
            ("HS256", "secret_env"),
            ("ES256", "private_key_file"),
            ("ES256", "private_key_env"),
        ],
    )
    def test_key_pasted_into_source_field_not_printed(self, algorithm, field):
        if algorithm == "HS256":
            material = hmac_secret()
            fragment = material
        else:
            material = private_pem(private_key("ES256", "pasted"))
            fragment = material.splitlines()[1]
        config = ring_settings(
            {"kid": "k1", "algorithm": algorithm, "state": "signing", field: material}
        )
        with override_settings(JWTSAFE=config):
            messages = checks.startup_messages()
            with pytest.raises(ImproperlyConfigured) as raised:
                checks.enforce_startup_checks()
        assert [message.id for message in messages] == ["jwtsafe.E028"]
        assert fragment not in "\n".join(f"{m.msg} {m.hint}" for m in messages)
        assert fragment not in str(raised.value)


def test_ring_kept_from_startup(client, user, settings, tmp_path, monkeypatch):
    # A secret mount that goes away after startup does not fail requests:
    # the startup checks loaded and kept the ring.
    path = tmp_path / "k1.secret"
    path.write_text(hmac_secret() + "\n")
    settings.JWTSAFE = ring_settings(entry("k1", "HS256", secret_file=path))
    monkeypatch.setattr("sys.argv", ["gunicorn", "project.wsgi"])
    checks.enforce_startup_checks()
    path.unlink()
    tokens_ = login(client, user)
    assert_user(get_protected(client, f"Bearer {tokens_['access']}"), user)


def test_keygen_writes_all_files_or_none(tmp_path):
    (tmp_path / "k1.jwk.json").write_text("{}")
    with pytest.raises(CommandError, match="exists"):
        keygen("--algorithm", "ES256", "--kid", "k1", "--output-dir", str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["k1.jwk.json"]
