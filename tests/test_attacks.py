"""Attacks and malformed input against Bearer authentication with one HS256 key.

Every rejected case must get 401 with a ``Bearer`` challenge and a body that
does not echo the token: never 403 and never 5xx. Forged tokens carry the
claims of a genuine token of the victim (``other_user``), whose session is
active, so that only the signature and header checks can reject them. Tokens
re-signed with the server key change one thing about a genuine token, so that
only the check under test can reject it.
The positive controls pin the choices that RFC 6750, 7515 and 7519 leave open.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import models
from django.utils import timezone

from jwtsafe.models import Session
from tests.conftest import (
    PASSWORD,
    b64url,
    b64url_decode,
    b64url_json,
    bearer,
    login,
    mint,
    sign_raw,
    split_token,
)

ISSUER = settings.JWTSAFE["ISSUER"]
AUDIENCE = settings.JWTSAFE["AUDIENCE"]
LEEWAY_SECONDS = int(settings.JWTSAFE["LEEWAY"].total_seconds())
ACCESS_LIFETIME_SECONDS = int(settings.JWTSAFE["ACCESS_TOKEN_LIFETIME"].total_seconds())

# Rejections that must not depend on how slow a check is (resource exhaustion,
# a `kid` that a shell would run as `sleep 10`) must finish within this time.
MAX_REJECTION_SECONDS = 2.0

# The signing key of another deployment of the same service, such as staging.
OTHER_ENVIRONMENT_KEY = "staging-" + "5e" * 32
OTHER_ENVIRONMENT_ISSUER = "https://auth.staging.jwtsafe.test"
ATTACKER_HMAC_KEY = bytes(range(32))

# Verification runs inside the request, so a fetch of a key URL would reach
# the listener before the response. The wait catches a fetch that a
# background thread starts during the request.
# NOTE: a fetch that starts later than this wait goes unnoticed.
LISTENER_WAIT_SECONDS = 0.1


def user_pk_is_uuid() -> bool:
    return isinstance(get_user_model()._meta.pk, models.UUIDField)


UUID_PK = user_pk_is_uuid()


# Attacker keys and signing with them


@dataclass(frozen=True)
class AttackerKeys:
    """Key pairs that the server has never seen."""

    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    certificate_pem: bytes

    def rsa_jwk(self) -> dict[str, str]:
        numbers = self.rsa.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": "att",
            "e": b64url(numbers.e.to_bytes(3, "big")),
            "n": b64url(numbers.n.to_bytes(256, "big")),
        }

    def ec_jwk(self) -> dict[str, str]:
        numbers = self.ec.public_key().public_numbers()
        return {
            "kty": "EC",
            "kid": "att",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    def jwks(self) -> bytes:
        return json.dumps({"keys": [self.rsa_jwk(), self.ec_jwk()]}).encode()


def self_signed_certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def attacker() -> AttackerKeys:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return AttackerKeys(
        rsa=rsa_key,
        ec=ec.generate_private_key(ec.SECP256R1()),
        certificate_pem=self_signed_certificate(rsa_key),
    )


def sign_rs256(header: dict[str, Any], claims: Any, key: rsa.RSAPrivateKey) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def sign_es256(
    header: dict[str, Any], claims: Any, key: ec.EllipticCurvePrivateKey
) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    # JWS carries ECDSA signatures as the raw R || S pair (RFC 7518 section 3.4).
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input}.{b64url(raw)}"


# The genuine tokens that every case starts from


@dataclass(frozen=True)
class Genuine:
    """The signed-in user's genuine token pair, and who the victim is."""

    access: str
    refresh: str
    header: dict[str, Any]
    claims: dict[str, Any]
    user_id: str
    victim_id: str
    victim_claims: dict[str, Any]
    attacker: AttackerKeys = field(repr=False)

    def segment(self, index: int) -> str:
        return self.access.split(".")[index]

    def claims_with(
        self, changes: dict[str, Any] | None = None, remove: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        claims = {**self.claims, **(changes or {})}
        for name in remove:
            del claims[name]
        return claims

    def forged_claims(self) -> dict[str, Any]:
        """Return the claims of the victim's genuine access token.

        The victim's session is active, so a forged signature over these
        claims would be accepted as the victim.
        """
        return dict(self.victim_claims)

    def header_with(
        self, changes: dict[str, Any] | None = None, remove: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        header = {**self.header, **(changes or {})}
        for name in remove:
            del header[name]
        return header


@pytest.fixture
def genuine(client, tokens, user, other_user, attacker) -> Genuine:
    header, claims = split_token(tokens["access"])
    victim_claims = split_token(login(client, other_user)["access"])[1]
    return Genuine(
        access=tokens["access"],
        refresh=tokens["refresh"],
        header=header,
        claims=claims,
        user_id=str(user.pk),
        victim_id=str(other_user.pk),
        victim_claims=victim_claims,
        attacker=attacker,
    )


# Raw token building


def unsigned(header: Any, claims: Any) -> str:
    """Return a token with an empty signature segment."""
    return f"{b64url_json(header)}.{b64url_json(claims)}."


def json_text(members: list[tuple[str, str]]) -> bytes:
    """Return a JSON object whose member values are raw JSON text, in order.

    Duplicate names, ``NaN`` and other input that ``json.dumps`` never writes
    can only be built this way.
    """
    body = ",".join(f"{json.dumps(name)}:{value}" for name, value in members)
    return ("{" + body + "}").encode("utf-8")


def members_of(value: dict[str, Any], **raw: str) -> list[tuple[str, str]]:
    """Return the members of ``value`` as raw JSON, with ``raw`` replacing values."""
    return [(name, raw.get(name, json.dumps(item))) for name, item in value.items()]


def server_signed_bytes(header: bytes, payload: bytes) -> str:
    """Sign raw header and payload bytes with the server key."""
    return sign_raw(b64url(header), b64url(payload))


def server_signed_payload(g: Genuine, payload: bytes) -> str:
    return server_signed_bytes(json_text(members_of(g.header)), payload)


def raw_claims(g: Genuine, **raw: str) -> str:
    """Sign the genuine claims with some values replaced by raw JSON text."""
    return server_signed_payload(g, json_text(members_of(g.claims, **raw)))


def with_signature(token: str, signature: str) -> str:
    header, payload, _ = token.split(".")
    return f"{header}.{payload}.{signature}"


def flip_last_signature_bit(token: str) -> str:
    signature = bytearray(b64url_decode(token.split(".")[2]))
    signature[-1] ^= 0x01
    return with_signature(token, b64url(bytes(signature)))


def insert_into_signature(token: str, junk: str) -> str:
    signature = token.split(".")[2]
    return with_signature(token, signature[:5] + junk + signature[5:])


def standard_alphabet(g: Genuine) -> str:
    """Re-sign until the signature has a ``-`` or ``_``, then use ``+`` and ``/``."""
    while True:
        token = mint(g.header, g.claims_with({"jti": uuid.uuid4().hex}))
        signature = token.split(".")[2]
        if "-" in signature or "_" in signature:
            converted = signature.replace("-", "+").replace("_", "/")
            return with_signature(token, converted)


def fullwidth(text: str) -> str:
    """Return ``text`` with printable ASCII mapped to the Unicode fullwidth forms."""
    return "".join(
        chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text
    )


# Requests and the rejection contract


def get_protected(
    client, authorization: str | None = None, path: str = "/whoami/"
) -> Any:
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    started = time.perf_counter()
    response = client.get(path, **extra)
    response.elapsed_seconds = time.perf_counter() - started
    return response


def post_refresh(client, token: Any) -> Any:
    return client.post("/auth/refresh/", {"refresh": token}, format="json")


def assert_rejected(response: Any, *tokens: str) -> None:
    """Assert 401 with a Bearer challenge and a body that contains no token."""
    assert response.status_code == 401, response.content[:300]
    assert response.get("WWW-Authenticate", "").startswith("Bearer")
    for token in tokens:
        if token:
            assert token.encode("utf-8", "surrogatepass") not in response.content


def assert_user(response: Any, user: Any) -> None:
    assert response.status_code == 200, response.content[:300]
    assert response.json()["user"] == str(user.pk)


# Positive controls


class TestPositiveControl:
    def test_genuine_token_accepted(self, client, genuine, user):
        assert_user(get_protected(client, f"Bearer {genuine.access}"), user)

    def test_unknown_claims_accepted(self, client, genuine, user):
        claims = genuine.claims_with(
            {"is_superuser": True, "role": "admin", "x-test": "1"}
        )
        token = mint(genuine.header, claims)
        assert_user(get_protected(client, f"Bearer {token}"), user)

    def test_unknown_claims_grant_no_privilege(self, client, genuine):
        claims = genuine.claims_with(
            {"is_superuser": True, "is_staff": True, "role": "admin"}
        )
        token = mint(genuine.header, claims)
        response = get_protected(client, f"Bearer {token}", path="/privileges/")
        assert response.status_code == 200
        assert response.json()["is_superuser"] is False
        assert response.json()["is_staff"] is False

    def test_unknown_header_parameter_accepted(self, client, genuine, user):
        token = mint(genuine.header_with({"x-test": "1"}), genuine.claims)
        assert_user(get_protected(client, f"Bearer {token}"), user)

    def test_refreshed_access_token_accepted(self, client, genuine, user):
        response = post_refresh(client, genuine.refresh)
        assert response.status_code == 200
        access = response.json()["access"]
        assert_user(get_protected(client, f"Bearer {access}"), user)

    def test_harness_minted_token_accepted(self, client, genuine, user):
        now = int(time.time())
        claims = genuine.claims_with(
            {"iat": now, "nbf": now, "exp": now + ACCESS_LIFETIME_SECONDS}
        )
        token = mint({"alg": "HS256", "typ": "at+jwt"}, claims)
        assert_user(get_protected(client, f"Bearer {token}"), user)

    def test_other_users_token_names_them(self, client, genuine, other_user):
        access = login(client, other_user)["access"]
        assert_user(get_protected(client, f"Bearer {access}"), other_user)


class TestPolicyChoice:
    """Choices that the standards allow either way, pinned as accepted."""

    def test_lower_case_scheme_accepted(self, client, genuine, user):
        assert_user(get_protected(client, f"bearer {genuine.access}"), user)

    def test_two_spaces_accepted(self, client, genuine, user):
        assert_user(get_protected(client, f"Bearer  {genuine.access}"), user)

    @pytest.mark.parametrize(
        "audience",
        [[AUDIENCE], ["https://other.jwtsafe.test", AUDIENCE]],
        ids=["only-ours", "ours-second"],
    )
    def test_audience_array_accepted(self, client, genuine, user, audience):
        token = mint(genuine.header, genuine.claims_with({"aud": audience}))
        assert_user(get_protected(client, f"Bearer {token}"), user)

    def test_fractional_exp_accepted(self, client, genuine, user):
        expires = genuine.claims["iat"] + ACCESS_LIFETIME_SECONDS - 0.5
        token = mint(genuine.header, genuine.claims_with({"exp": expires}))
        assert_user(get_protected(client, f"Bearer {token}"), user)

    @pytest.mark.parametrize("media_type", ["AT+JWT", "At+Jwt", "application/at+jwt"])
    def test_typ_case_insensitive(self, client, genuine, user, media_type):
        token = mint(genuine.header_with({"typ": media_type}), genuine.claims)
        assert_user(get_protected(client, f"Bearer {token}"), user)


# Baseline negatives


class TestBaseline:
    def test_no_credentials_rejected(self, client, db):
        response = get_protected(client)
        assert_rejected(response)

    def test_no_credentials_challenge_has_no_error(self, client, db):
        response = get_protected(client)
        assert "error=" not in response["WWW-Authenticate"]

    @pytest.mark.parametrize("token", ["abc", ".."], ids=["garbage", "dots"])
    def test_malformed_token_rejected(self, client, db, token):
        assert_rejected(get_protected(client, f"Bearer {token}"), token)


# A case builds the token it sends from the genuine tokens.
Build = Callable[[Genuine], str]


def none_header(alg: str) -> dict[str, str]:
    return {"alg": alg, "typ": "JWT"}


ALGORITHM_CASES = [
    pytest.param(
        lambda g: unsigned(none_header("none"), g.forged_claims()),
        id="alg-none-empty-signature",
    ),
    pytest.param(
        lambda g: unsigned(none_header("NONE"), g.forged_claims()),
        id="alg-NONE",
    ),
    pytest.param(
        lambda g: unsigned(none_header("nOnE"), g.forged_claims()),
        id="alg-nOnE",
    ),
    pytest.param(
        lambda g: unsigned(none_header("NoNe"), g.forged_claims()),
        id="alg-NoNe",
    ),
    pytest.param(
        lambda g: f"{b64url_json({'alg': 'none'})}.{b64url_json(g.forged_claims())}",
        id="alg-none-two-segments",
    ),
    pytest.param(
        lambda g: mint(g.header_with({"alg": "HS384"}), g.claims, algorithm="HS384"),
        id="HS384-with-server-key",
    ),
    pytest.param(
        lambda g: mint(g.header_with({"alg": "HS512"}), g.claims, algorithm="HS512"),
        id="HS512-with-server-key",
    ),
    pytest.param(
        lambda g: sign_rs256(
            g.header_with({"alg": "RS256"}), g.forged_claims(), g.attacker.rsa
        ),
        id="RS256-attacker-key",
    ),
    pytest.param(
        lambda g: sign_es256(
            g.header_with({"alg": "ES256"}), g.forged_claims(), g.attacker.ec
        ),
        id="ES256-attacker-key",
    ),
    *[
        pytest.param(
            lambda g, spelling=spelling: mint(
                g.header_with({"alg": spelling}), g.claims
            ),
            id=f"alg-{label}-with-server-key",
        )
        for spelling, label in [
            ("hs256", "lower-case"),
            ("Hs256", "mixed-case"),
            ("HS256 ", "trailing-space"),
            (" HS256", "leading-space"),
            ("HS256\u0000", "trailing-NUL"),
            # JWS requires a string; other JSON types must not reach a
            # lookup that expects one.
            (["HS256"], "array"),
            ({"alg": "HS256"}, "object"),
            (256, "number"),
            (True, "true"),
            (None, "null"),
        ]
    ],
]

SIGNATURE_CASES = [
    pytest.param(
        lambda g: f"{g.segment(0)}.{b64url_json(g.forged_claims())}.{g.segment(2)}",
        id="payload-changed-signature-kept",
    ),
    pytest.param(
        lambda g: f"{g.segment(0)}.{b64url_json(g.forged_claims())}.",
        id="empty-signature-alg-kept",
    ),
    pytest.param(
        lambda g: flip_last_signature_bit(g.access),
        id="one-signature-bit-flipped",
    ),
    pytest.param(
        lambda g: mint(g.header, g.forged_claims(), key=b""),
        id="empty-hmac-key",
    ),
    pytest.param(
        lambda g: mint(g.header, g.forged_claims(), key=b"\x00"),
        id="nul-byte-hmac-key",
    ),
    pytest.param(
        lambda g: mint(g.header, g.claims, key=OTHER_ENVIRONMENT_KEY),
        id="other-environment-key",
    ),
    pytest.param(
        lambda g: mint(
            g.header,
            g.claims_with({"iss": OTHER_ENVIRONMENT_ISSUER}),
            key=OTHER_ENVIRONMENT_KEY,
        ),
        id="other-environment-key-and-issuer",
    ),
    pytest.param(
        lambda g: mint(g.header, g.forged_claims(), key=settings.SECRET_KEY),
        id="django-secret-key",
    ),
]


def kid_with_key(kid: Any, key: bytes | str) -> Build:
    return lambda g: mint(g.header_with({"kid": kid}), g.forged_claims(), key=key)


KEY_HEADER_CASES = [
    pytest.param(
        lambda g: sign_rs256(
            {
                "alg": "RS256",
                "typ": "at+jwt",
                "jwk": g.attacker.rsa_jwk(),
                "kid": "att",
            },
            g.forged_claims(),
            g.attacker.rsa,
        ),
        id="embedded-rsa-jwk",
    ),
    pytest.param(
        lambda g: sign_es256(
            {"alg": "ES256", "typ": "at+jwt", "jwk": g.attacker.ec_jwk()},
            g.forged_claims(),
            g.attacker.ec,
        ),
        id="embedded-ec-jwk",
    ),
    pytest.param(
        lambda g: mint(
            g.header_with({"jwk": {"kty": "oct", "k": b64url(ATTACKER_HMAC_KEY)}}),
            g.forged_claims(),
            key=ATTACKER_HMAC_KEY,
        ),
        id="embedded-oct-jwk",
    ),
    pytest.param(
        kid_with_key("../../../../../../dev/null", b""),
        id="kid-dev-null-traversal-empty-key",
    ),
    pytest.param(
        kid_with_key("../../../../../../dev/null", b"\x00"),
        id="kid-dev-null-traversal-nul-key",
    ),
    pytest.param(kid_with_key("/dev/null", b""), id="kid-dev-null-empty-key"),
    pytest.param(
        kid_with_key("/proc/sys/kernel/randomize_va_space", b"2"),
        id="kid-randomize-va-space-key-2",
    ),
    pytest.param(
        kid_with_key("/proc/sys/kernel/randomize_va_space", b"2\n"),
        id="kid-randomize-va-space-key-2-newline",
    ),
    pytest.param(kid_with_key("", b""), id="empty-kid-empty-key"),
    *[
        pytest.param(
            lambda g, kid=kid: mint(g.header_with({"kid": kid}), g.claims),
            id=f"kid-{label}-with-server-key",
        )
        for kid, label in [(1, "number"), ({}, "object"), ([], "array"), (None, "null")]
    ],
    # A single-key deployment names no key, so any `kid` is unknown.
    pytest.param(
        lambda g: mint(g.header_with({"kid": "att"}), g.claims),
        id="unknown-kid-with-server-key",
    ),
    # Key-carrying header parameters are rejected even when the server key
    # signed the token.
    pytest.param(
        lambda g: mint(g.header_with({"jwk": g.attacker.rsa_jwk()}), g.claims),
        id="jwk-with-server-key",
    ),
    pytest.param(
        lambda g: mint(
            g.header_with(
                {"x5c": [base64.b64encode(b"not a certificate").decode("ascii")]}
            ),
            g.claims,
        ),
        id="x5c-with-server-key",
    ),
]

STRUCTURE_CASES = [
    pytest.param(lambda g: "abc.", id="one-segment-trailing-dot"),
    pytest.param(lambda g: "abc", id="one-segment"),
    pytest.param(lambda g: "eyJhbGciOiJub25lIn0", id="header-only"),
    pytest.param(lambda g: g.access + ".AAAA", id="four-segments"),
    pytest.param(
        lambda g: (
            b64url_json({"alg": "dir", "enc": "A256GCM", "zip": "DEF"})
            + "..AAAAAAAAAAAAAAAA."
            + "A" * 200
            + ".AAAAAAAAAAAAAAAAAAAAAA"
        ),
        id="five-segment-jwe-deflate",
    ),
    pytest.param(lambda g: g.access + "=", id="signature-padded-once"),
    pytest.param(lambda g: g.access + "==", id="signature-padded-twice"),
    pytest.param(standard_alphabet, id="standard-base64-alphabet"),
    pytest.param(
        lambda g: insert_into_signature(g.access, "!!"), id="exclamation-marks"
    ),
    pytest.param(lambda g: insert_into_signature(g.access, ".."), id="dots"),
    pytest.param(lambda g: insert_into_signature(g.access, "  "), id="spaces"),
    pytest.param(lambda g: insert_into_signature(g.access, "\xff\xff"), id="ff-bytes"),
    pytest.param(
        lambda g: f"@@@.{g.segment(1)}.{g.segment(2)}", id="header-not-base64url"
    ),
    *[
        pytest.param(
            lambda g, header=header: mint(header, g.claims),
            id=f"header-json-{label}",
        )
        for header, label in [
            (["alg", "HS256"], "array"),
            ("HS256", "string"),
            (1, "number"),
            (None, "null"),
        ]
    ],
    *[
        pytest.param(
            lambda g, payload=payload: mint(g.header, payload),
            id=f"payload-json-{label}",
        )
        for payload, label in [
            (["x"], "array"),
            ("x", "string"),
            (1, "number"),
            (True, "true"),
            (None, "null"),
        ]
    ],
    pytest.param(
        lambda g: sign_raw(b64url_json(g.header), ""), id="empty-payload-segment"
    ),
    pytest.param(
        lambda g: mint(
            g.header_with({"crit": ["urn:x-test"], "urn:x-test": 1}), g.claims
        ),
        id="crit-unknown-extension",
    ),
    pytest.param(
        lambda g: mint(
            g.header_with({"crit": ["exp"], "exp": int(time.time()) + 300}),
            g.claims,
        ),
        id="crit-exp",
    ),
    pytest.param(
        lambda g: mint(g.header_with({"crit": ["x-missing"]}), g.claims),
        id="crit-names-absent-parameter",
    ),
    pytest.param(
        lambda g: unencoded_payload(g, detached=True),
        id="b64-false-detached-payload",
    ),
    pytest.param(
        lambda g: unencoded_payload(g, detached=False),
        id="b64-false-raw-json-payload",
    ),
]


def unencoded_payload(g: Genuine, *, detached: bool) -> str:
    """Sign a JWS with an unencoded payload (RFC 7797) with the server key."""
    header = b64url_json(g.header_with({"b64": False, "crit": ["b64"]}))
    payload = json.dumps(g.claims, separators=(",", ":"))
    signed = sign_raw(header, payload)
    signature = signed.rsplit(".", 1)[1]
    return f"{header}..{signature}" if detached else signed


def duplicate_member(g: Genuine, name: str, first: Any, second: Any) -> str:
    members = [item for item in members_of(g.claims) if item[0] != name]
    members += [(name, json.dumps(first)), (name, json.dumps(second))]
    return server_signed_payload(g, json_text(members))


def encoded_claims(g: Genuine, encoding: str) -> str:
    text = json.dumps(g.claims, separators=(",", ":"))
    return server_signed_payload(g, text.encode(encoding))


def with_cyrillic_a(text: str) -> str:
    """Replace the first Latin ``a`` with the Cyrillic ``а`` (U+0430)."""
    return text.replace("a", "\u0430", 1)


JSON_CASES = [
    pytest.param(
        lambda g: (
            b64url(b'{"alg":"HS256","alg":"none"}')
            + f".{b64url_json(g.forged_claims())}."
        ),
        id="duplicate-alg-last-none",
    ),
    pytest.param(
        lambda g: server_signed_bytes(
            b'{"alg":"none","alg":"HS256","typ":"at+jwt"}',
            json.dumps(g.claims).encode(),
        ),
        id="duplicate-alg-with-server-key",
    ),
    pytest.param(
        lambda g: duplicate_member(g, "sub", g.victim_id, g.user_id),
        id="duplicate-sub-victim-first",
    ),
    pytest.param(
        lambda g: duplicate_member(g, "sub", g.user_id, g.victim_id),
        id="duplicate-sub-victim-last",
    ),
    pytest.param(
        lambda g: duplicate_member(g, "exp", 1, g.claims["exp"]),
        id="duplicate-exp-expired-first",
    ),
    pytest.param(
        lambda g: duplicate_member(g, "exp", g.claims["exp"], 1),
        id="duplicate-exp-expired-last",
    ),
    pytest.param(lambda g: encoded_claims(g, "utf-16"), id="utf-16-with-bom"),
    pytest.param(lambda g: encoded_claims(g, "utf-16-le"), id="utf-16-le"),
    pytest.param(lambda g: encoded_claims(g, "utf-32"), id="utf-32-with-bom"),
    pytest.param(lambda g: encoded_claims(g, "utf-32-le"), id="utf-32-le"),
    pytest.param(lambda g: encoded_claims(g, "utf-8-sig"), id="utf-8-bom"),
    pytest.param(lambda g: raw_claims(g, exp="NaN"), id="exp-NaN"),
    pytest.param(lambda g: raw_claims(g, exp="Infinity"), id="exp-Infinity"),
    pytest.param(lambda g: raw_claims(g, exp="-Infinity"), id="exp-minus-Infinity"),
    pytest.param(lambda g: raw_claims(g, sub='"\\ud800"'), id="lone-surrogate-sub"),
    pytest.param(
        lambda g: raw_claims(g, iss='"https://auth.jwtsafe.test\\udfff"'),
        id="lone-surrogate-iss",
    ),
    pytest.param(
        lambda g: server_signed_payload(g, json_text(members_of(g.claims)) + b"x"),
        id="trailing-byte",
    ),
    pytest.param(
        lambda g: mint(g.header, g.claims_with({"iss": with_cyrillic_a(ISSUER)})),
        id="iss-cyrillic-look-alike",
    ),
    pytest.param(
        lambda g: mint(g.header, g.claims_with({"aud": fullwidth(AUDIENCE)})),
        id="aud-fullwidth",
    ),
    pytest.param(
        lambda g: mint(g.header, g.claims_with({"aud": AUDIENCE + "\u200b"})),
        id="aud-zero-width-space",
    ),
]


def claims_changed(changes: dict[str, Any] | None = None, remove=()) -> Build:
    return lambda g: mint(g.header, g.claims_with(changes, remove))


def times_changed(**offsets: float) -> Build:
    """Re-sign with ``iat``, ``nbf`` or ``exp`` set to now plus an offset."""

    def build(g: Genuine) -> str:
        now = int(time.time())
        return mint(
            g.header, g.claims_with({name: now + dt for name, dt in offsets.items()})
        )

    return build


def times_replaced(**values: Callable[[int], Any]) -> Build:
    """Re-sign with each named time claim computed from the current time."""

    def build(g: Genuine) -> str:
        now = int(time.time())
        return mint(
            g.header,
            g.claims_with({name: value(now) for name, value in values.items()}),
        )

    return build


def missing_user_id() -> str:
    return str(uuid.uuid4()) if UUID_PK else "999999999"


CLAIM_CASES = [
    pytest.param(
        times_changed(
            iat=-LEEWAY_SECONDS - 360,
            nbf=-LEEWAY_SECONDS - 360,
            exp=-LEEWAY_SECONDS - 60,
        ),
        id="expired-beyond-leeway",
    ),
    pytest.param(claims_changed(remove=("exp",)), id="exp-missing"),
    pytest.param(
        times_replaced(exp=lambda now: str(now + 300)), id="exp-numeric-string"
    ),
    pytest.param(claims_changed({"exp": True}), id="exp-true"),
    pytest.param(claims_changed({"exp": False}), id="exp-false"),
    pytest.param(lambda g: raw_claims(g, exp="1e400"), id="exp-overflows-double"),
    # Integers too large for a float: comparing them with the clock must not
    # overflow.
    *[
        pytest.param(
            lambda g, name=name, text=text: raw_claims(g, **{name: text}),
            id=f"{name}-{label}",
        )
        for name in ("exp", "iat", "nbf")
        for text, label in [
            ("1" + "0" * 400, "integer-overflows-double"),
            ("-1" + "0" * 400, "negative-integer-overflows-double"),
            (str(2**53 + 1), "integer-beyond-2-53"),
        ]
    ],
    pytest.param(
        times_replaced(exp=lambda now: (now + 300) * 1000), id="exp-milliseconds"
    ),
    pytest.param(times_replaced(exp=lambda now: [now + 300]), id="exp-array"),
    pytest.param(times_replaced(exp=lambda now: {"t": now + 300}), id="exp-object"),
    pytest.param(times_changed(nbf=3600), id="nbf-in-future"),
    pytest.param(
        times_replaced(nbf=lambda now: str(now - 10)), id="nbf-numeric-string"
    ),
    pytest.param(claims_changed({"nbf": None}), id="nbf-null"),
    pytest.param(claims_changed(remove=("iat",)), id="iat-missing"),
    pytest.param(
        times_changed(iat=-30 * 86400, nbf=-30 * 86400, exp=300),
        id="issued-30-days-ago",
    ),
    pytest.param(
        times_changed(iat=0, nbf=0, exp=10 * ACCESS_LIFETIME_SECONDS),
        id="lifetime-ten-times-configured",
    ),
    pytest.param(
        claims_changed({"iss": "https://AUTH.JWTSAFE.TEST"}), id="iss-upper-host"
    ),
    pytest.param(
        claims_changed({"iss": ISSUER.replace("https", "HTTPS", 1)}),
        id="iss-upper-scheme",
    ),
    pytest.param(claims_changed({"iss": ISSUER[:-1]}), id="iss-last-char-cut"),
    pytest.param(claims_changed({"iss": "evil" + ISSUER}), id="iss-prefixed"),
    pytest.param(claims_changed({"iss": ISSUER + ".evil.example"}), id="iss-suffixed"),
    pytest.param(claims_changed({"iss": ISSUER + "/"}), id="iss-trailing-slash"),
    pytest.param(
        claims_changed({"iss": ["https://evil.example", ISSUER]}),
        id="iss-array-containing-issuer",
    ),
    pytest.param(claims_changed(remove=("iss",)), id="iss-missing"),
    pytest.param(claims_changed({"iss": None}), id="iss-null"),
    pytest.param(claims_changed({"iss": 1}), id="iss-number"),
    pytest.param(claims_changed({"aud": "other-service"}), id="other-audience"),
    pytest.param(claims_changed({"aud": []}), id="aud-empty-array"),
    pytest.param(claims_changed({"aud": AUDIENCE.upper()}), id="aud-upper-case"),
    pytest.param(claims_changed({"aud": [[AUDIENCE]]}), id="aud-nested-array"),
    pytest.param(claims_changed({"aud": [AUDIENCE, 1]}), id="aud-array-with-number"),
    pytest.param(claims_changed({"aud": {AUDIENCE: True}}), id="aud-object"),
    pytest.param(
        lambda g: mint(g.header, g.claims_with({"sub": missing_user_id()})),
        id="user-not-found",
    ),
    pytest.param(
        lambda g: mint(g.header, g.claims_with({"sub": "9" * 30})),
        id="id-30-nines",
    ),
    pytest.param(
        lambda g: mint(g.header, g.claims_with({"sub": str(2**63)})),
        id="id-past-bigint",
    ),
    pytest.param(lambda g: raw_claims(g, sub="1e400"), id="id-1e400-number"),
    pytest.param(claims_changed({"jti": 5}), id="jti-number"),
    pytest.param(claims_changed(remove=("jti",)), id="jti-missing"),
    pytest.param(
        claims_changed({"jti": uuid.uuid4().hex.upper()}), id="jti-upper-case"
    ),
    pytest.param(
        lambda g: mint(g.header, g.claims_with({"sid": g.claims["sid"].upper()})),
        id="sid-upper-case",
    ),
    pytest.param(claims_changed({"ver": -1}), id="ver-negative"),
    pytest.param(claims_changed({"ver": "0"}), id="ver-string"),
    pytest.param(claims_changed({"ver": True}), id="ver-true"),
]


def non_canonical_ids() -> list[Any]:
    """Spellings that the id field's ``to_python`` accepts but are not canonical."""
    if UUID_PK:
        spellings = [
            (str.upper, "upper-case"),
            (lambda uid: uid.replace("-", ""), "no-hyphens"),
            (lambda uid: "{" + uid + "}", "braces"),
            (lambda uid: "urn:uuid:" + uid, "urn-prefix"),
            (lambda uid: " " + uid, "leading-space"),
            (lambda uid: uid + "\n", "trailing-newline"),
            (
                lambda uid: "-".join(
                    uid.replace("-", "")[i : i + 4] for i in range(0, 32, 4)
                ),
                "hyphens-misplaced",
            ),
        ]
    else:
        arabic_indic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
        spellings = [
            (lambda uid: "0" + uid, "leading-zero"),
            (lambda uid: " " + uid, "leading-space"),
            (lambda uid: uid + "\n", "trailing-newline"),
            (lambda uid: "+" + uid, "plus-sign"),
            (lambda uid: "0_" + uid, "underscore"),
            (lambda uid: uid.translate(arabic_indic), "arabic-indic-digits"),
        ]
    return [pytest.param(spell, id=f"{label}") for spell, label in spellings]


def id_as_number(uid: str) -> int:
    return uuid.UUID(uid).int if UUID_PK else int(uid)


WRONG_ID_TYPES = [
    pytest.param(id_as_number, id="number"),
    pytest.param(lambda uid: float(id_as_number(uid)), id="float"),
    pytest.param(lambda uid: True, id="true"),
    pytest.param(lambda uid: [uid], id="array"),
    pytest.param(lambda uid: {"id": uid}, id="object"),
    pytest.param(lambda uid: None, id="null"),
]

TOKEN_TYPE_CASES = [
    pytest.param(lambda g: g.refresh, id="refresh-token-as-access-token"),
    pytest.param(
        lambda g: mint(g.header_with(remove=("typ",)), g.claims),
        id="typ-header-removed",
    ),
    pytest.param(claims_changed(remove=("token_use",)), id="token-use-removed"),
    pytest.param(
        lambda g: mint(
            g.header_with(remove=("typ",)), g.claims_with(remove=("token_use",))
        ),
        id="both-type-markers-removed",
    ),
    pytest.param(claims_changed({"token_use": "ACCESS"}), id="token-use-upper-case"),
    pytest.param(lambda g: mint(g.header_with({"typ": "JWT"}), g.claims), id="typ-JWT"),
    pytest.param(
        lambda g: mint(g.header_with({"typ": "refresh+jwt"}), g.claims),
        id="typ-refresh-token-use-access",
    ),
    pytest.param(
        lambda g: mint(g.header, split_token(g.refresh)[1]),
        id="typ-access-token-use-refresh",
    ),
]


class TestForgedToken:
    """Each token is sent as `Authorization: Bearer <token>` to GET /whoami/."""

    @pytest.mark.parametrize("build", ALGORITHM_CASES)
    def test_algorithm_attack_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("build", SIGNATURE_CASES)
    def test_bad_signature_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("build", KEY_HEADER_CASES)
    def test_key_header_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("build", STRUCTURE_CASES)
    def test_malformed_structure_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("build", JSON_CASES)
    def test_invalid_json_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("build", CLAIM_CASES)
    def test_invalid_claim_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("state", ["cached", "database-only"])
    @pytest.mark.parametrize("spell", non_canonical_ids())
    def test_non_canonical_id_rejected(self, client, genuine, spell, state):
        # The revocation cache is keyed by the `sub` string, so only a request
        # that misses it shows whether the database lookup accepts the spelling.
        if state == "database-only":
            cache.clear()
        token = mint(
            genuine.header, genuine.claims_with({"sub": spell(genuine.user_id)})
        )
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("value", WRONG_ID_TYPES)
    def test_id_of_wrong_type_rejected(self, client, genuine, value):
        token = mint(
            genuine.header, genuine.claims_with({"sub": value(genuine.user_id)})
        )
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("build", TOKEN_TYPE_CASES)
    def test_wrong_token_type_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize(
        "kid",
        ["|sleep 10", "$(sleep 10)"],
        ids=["pipe-sleep", "subshell-sleep"],
    )
    def test_kid_command_injection_rejected_quickly(self, client, genuine, kid):
        token = kid_with_key(kid, b"")(genuine)
        response = get_protected(client, f"Bearer {token}")
        assert_rejected(response, token)
        assert response.elapsed_seconds < MAX_REJECTION_SECONDS


# Key URLs: the server must reject the token without fetching anything.


class CountingListener(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that counts every accepted connection."""

    daemon_threads = True

    def __init__(self, documents: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), ListenerHandler)
        self.documents = documents
        self.connections = 0
        self.connected = threading.Event()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        self.connected.set()
        return True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class ListenerHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.server.documents.get(self.path)  # type: ignore[attr-defined]
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def listener(attacker) -> Iterator[CountingListener]:
    server = CountingListener(
        {"/jwks.json": attacker.jwks(), "/cert.pem": attacker.certificate_pem}
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


BuildWithUrl = Callable[[Genuine, str], str]


def rs256_with(parameters: Callable[[str], dict[str, Any]]) -> BuildWithUrl:
    """Sign the forged claims with the attacker RSA key and extra header parameters."""

    def build(g: Genuine, url: str) -> str:
        header = {"alg": "RS256", "typ": "at+jwt", **parameters(url)}
        return sign_rs256(header, g.forged_claims(), g.attacker.rsa)

    return build


def data_url_jwks(g: Genuine) -> str:
    return "data:application/json," + g.attacker.jwks().decode()


KEY_URL_CASES = [
    pytest.param(
        rs256_with(lambda url: {"jku": f"{url}/jwks.json", "kid": "att"}),
        id="jku-attacker-jwks",
    ),
    pytest.param(
        rs256_with(
            lambda url: {
                "jku": url.replace("http://", "https://auth.jwtsafe.test@")
                + "/jwks.json",
                "kid": "att",
            }
        ),
        id="jku-trusted-host-as-userinfo",
    ),
    pytest.param(
        lambda g, url: mint(
            g.header_with({"jku": f"{url}/jwks.json", "kid": "att"}),
            g.forged_claims(),
            key=ATTACKER_HMAC_KEY,
        ),
        id="jku-hs256-attacker-key",
    ),
    pytest.param(
        rs256_with(lambda url: {"x5u": f"{url}/cert.pem"}), id="x5u-attacker-cert"
    ),
    pytest.param(
        rs256_with(lambda url: {"jku": "file:///etc/passwd", "kid": "att"}),
        id="jku-file-url",
    ),
    pytest.param(
        lambda g, url: sign_rs256(
            {"alg": "RS256", "typ": "at+jwt", "jku": data_url_jwks(g), "kid": "att"},
            g.forged_claims(),
            g.attacker.rsa,
        ),
        id="jku-data-url",
    ),
    pytest.param(
        rs256_with(
            lambda url: {"jku": url.replace("http://", "ftp://") + "/x", "kid": "att"}
        ),
        id="jku-ftp-url",
    ),
    pytest.param(
        rs256_with(lambda url: {"x5u": "file:///etc/passwd"}), id="x5u-file-url"
    ),
    pytest.param(
        lambda g, url: mint(g.header_with({"jku": f"{url}/jwks.json"}), g.claims),
        id="jku-with-server-key",
    ),
    pytest.param(
        lambda g, url: mint(g.header_with({"x5u": f"{url}/cert.pem"}), g.claims),
        id="x5u-with-server-key",
    ),
]


class TestKeyUrl:
    @pytest.mark.parametrize("build", KEY_URL_CASES)
    def test_token_rejected(self, client, genuine, listener, build):
        token = build(genuine, listener.url)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("build", KEY_URL_CASES)
    def test_url_never_fetched(self, client, genuine, listener, build):
        token = build(genuine, listener.url)
        get_protected(client, f"Bearer {token}")
        listener.connected.wait(LISTENER_WAIT_SECONDS)
        assert listener.connections == 0


# The refresh endpoint


def resigned_refresh(g: Genuine, changes: dict[str, Any]) -> str:
    header, claims = split_token(g.refresh)
    return mint(header, {**claims, **changes})


def non_canonical_id(uid: str) -> str:
    return uid.upper() if UUID_PK else "0" + uid


REFRESH_BODY_CASES = [
    pytest.param(lambda g: [g.refresh], id="array"),
    pytest.param(lambda g: {"token": g.refresh}, id="object"),
    pytest.param(lambda g: 1, id="number"),
    pytest.param(lambda g: None, id="null"),
    pytest.param(lambda g: "", id="empty-string"),
    pytest.param(lambda g: "A" * 1024 * 1024, id="1-MiB-of-A"),
    pytest.param(lambda g: g.refresh + "=", id="padded-signature"),
    pytest.param(lambda g: g.refresh + ".AAAA", id="four-segments"),
    pytest.param(
        lambda g: unsigned(
            {"alg": "none", "typ": "refresh+jwt"},
            {**split_token(g.refresh)[1], "sub": g.victim_id},
        ),
        id="alg-none-for-victim",
    ),
    pytest.param(
        lambda g: mint(split_token(g.refresh)[0], split_token(g.refresh)[1], key=b""),
        id="empty-hmac-key",
    ),
    pytest.param(
        lambda g: resigned_refresh(g, {"sub": non_canonical_id(g.user_id)}),
        id="non-canonical-sub",
    ),
    pytest.param(
        lambda g: resigned_refresh(g, {"token_use": "access"}), id="token-use-access"
    ),
    pytest.param(
        lambda g: resigned_refresh(g, {"jti": uuid.uuid4().hex}), id="unknown-jti"
    ),
]


class TestRefreshEndpoint:
    def test_access_token_rejected(self, client, genuine):
        response = post_refresh(client, genuine.access)
        assert_rejected(response, genuine.access)

    def test_access_token_gets_no_tokens(self, client, genuine):
        body = post_refresh(client, genuine.access).json()
        assert "access" not in body
        assert "refresh" not in body

    @pytest.mark.parametrize("build", REFRESH_BODY_CASES)
    def test_malformed_refresh_rejected(self, client, genuine, build):
        value = build(genuine)
        response = post_refresh(client, value)
        assert_rejected(response, value if isinstance(value, str) else "")


# Revocation and account lifecycle. Each test uses its own user.


def change_password(client, access: str) -> Any:
    return client.post(
        "/password/",
        {"new_password": "a whole new password"},
        format="json",
        **bearer(access),
    )


class TestRevocation:
    def test_deactivated_user_rejected(self, client, user, genuine):
        user.is_active = False
        user.save()
        response = get_protected(client, f"Bearer {genuine.access}")
        assert_rejected(response, genuine.access)

    def test_deleted_user_access_rejected(self, client, user, genuine):
        user.delete()
        response = get_protected(client, f"Bearer {genuine.access}")
        assert_rejected(response, genuine.access)

    def test_deleted_user_refresh_rejected(self, client, user, genuine):
        user.delete()
        assert_rejected(post_refresh(client, genuine.refresh), genuine.refresh)

    def test_refresh_after_logout_rejected(self, client, genuine):
        client.post("/auth/logout/", **bearer(genuine.access))
        assert_rejected(post_refresh(client, genuine.refresh), genuine.refresh)

    def test_logged_out_refresh_as_bearer_rejected(self, client, genuine):
        client.post("/auth/logout/", **bearer(genuine.access))
        response = get_protected(client, f"Bearer {genuine.refresh}")
        assert_rejected(response, genuine.refresh)

    def test_access_after_logout_rejected(self, client, genuine):
        client.post("/auth/logout/", **bearer(genuine.access))
        response = get_protected(client, f"Bearer {genuine.access}")
        assert_rejected(response, genuine.access)

    def test_access_after_password_change_rejected(self, client, genuine):
        assert change_password(client, genuine.access).status_code == 204
        response = get_protected(client, f"Bearer {genuine.access}")
        assert_rejected(response, genuine.access)

    def test_refresh_after_password_change_rejected(self, client, genuine):
        assert change_password(client, genuine.access).status_code == 204
        assert_rejected(post_refresh(client, genuine.refresh), genuine.refresh)

    def test_rotated_refresh_token_reuse_rejected(self, client, genuine):
        assert post_refresh(client, genuine.refresh).status_code == 200
        assert_rejected(post_refresh(client, genuine.refresh), genuine.refresh)

    def test_reuse_revokes_rotated_refresh_token(self, client, genuine):
        rotated = post_refresh(client, genuine.refresh).json()["refresh"]
        # Past REFRESH_GRACE_PERIOD, in which a second tab's refresh would
        # be rejected without ending the session.
        Session.objects.update(last_refreshed_at=timezone.now() - timedelta(minutes=2))
        post_refresh(client, genuine.refresh)
        assert_rejected(post_refresh(client, rotated), rotated)

    @pytest.mark.parametrize("how", ["save", "queryset-update"])
    def test_inactive_user_refresh_rejected(self, client, user, genuine, how):
        if how == "save":
            user.is_active = False
            user.save()
        else:
            type(user).objects.filter(pk=user.pk).update(is_active=False)
        assert_rejected(post_refresh(client, genuine.refresh), genuine.refresh)

    def test_stale_session_version_rejected(self, client, user, genuine):
        assert (
            client.post("/auth/logout-all/", **bearer(genuine.access)).status_code
            == 204
        )
        current = login(client, user)["access"]
        header, claims = split_token(current)
        assert claims["ver"] >= 1
        token = mint(header, {**claims, "ver": claims["ver"] - 1})
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("state", ["cached", "database-only"])
    def test_other_users_session_rejected(self, client, genuine, other_user, state):
        victim_claims = split_token(login(client, other_user)["access"])[1]
        if state == "database-only":
            cache.clear()
        claims = genuine.claims_with({"sid": victim_claims["sid"]})
        token = mint(genuine.header, claims)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize("step", [1, 1000], ids=["plus-1", "plus-1000"])
    def test_future_session_version_rejected(self, client, genuine, step):
        claims = genuine.claims_with({"ver": genuine.claims["ver"] + step})
        token = mint(genuine.header, claims)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)

    @pytest.mark.parametrize(
        "respell",
        [
            pytest.param(lambda token: token + "=", id="padded-signature"),
            pytest.param(
                lambda token: insert_into_signature(token, "!!"), id="junk-in-signature"
            ),
        ],
    )
    def test_respelled_revoked_token_rejected(self, client, genuine, respell):
        client.post("/auth/logout/", **bearer(genuine.access))
        token = respell(genuine.access)
        assert_rejected(get_protected(client, f"Bearer {token}"), token)


# Raw Authorization header values


def forged(g: Genuine) -> str:
    """Return an unsigned token (`alg` none) for the victim."""
    return unsigned(none_header("none"), g.forged_claims())


HEADER_CASES = [
    pytest.param(lambda g: "Bearer", id="scheme-without-token"),
    pytest.param(lambda g: "Bearer ", id="scheme-and-space"),
    pytest.param(lambda g: "", id="empty-value"),
    pytest.param(lambda g: f"bearer {forged(g)}", id="lower-case-scheme-forged"),
    pytest.param(lambda g: f"Bearer  {forged(g)}", id="two-spaces-forged"),
    pytest.param(lambda g: f"Bearer\t{g.access}", id="tab-separator"),
    pytest.param(
        lambda g: f"Bearer {forged(g)},Bearer {g.access}",
        id="comma-joined-forged-first",
    ),
    pytest.param(
        lambda g: f"Bearer {g.access},Bearer {forged(g)}",
        id="comma-joined-valid-first",
    ),
    pytest.param(lambda g: f"Token {g.access}", id="Token-scheme"),
    pytest.param(lambda g: f"JWT {g.access}", id="JWT-scheme"),
    pytest.param(lambda g: f"Basic {g.access}", id="Basic-scheme"),
    pytest.param(lambda g: "Bearer null", id="null"),
    pytest.param(lambda g: "Bearer undefined", id="undefined"),
    pytest.param(lambda g: "Bearer [object Object]", id="object-Object"),
    pytest.param(lambda g: f'Bearer "{g.access}"', id="quoted-token"),
]


class TestAuthorizationHeader:
    @pytest.mark.parametrize("build", HEADER_CASES)
    def test_header_rejected(self, client, genuine, build):
        response = get_protected(client, build(genuine))
        assert_rejected(response, genuine.access, forged(genuine))

    def test_token_in_form_body_rejected(self, client, genuine):
        response = client.post(
            "/password/",
            f"access_token={genuine.access}&new_password=hijacked",
            content_type="application/x-www-form-urlencoded",
        )
        assert_rejected(response, genuine.access)

    def test_token_in_form_body_changes_nothing(self, client, user, genuine):
        client.post(
            "/password/",
            f"access_token={genuine.access}&new_password=hijacked",
            content_type="application/x-www-form-urlencoded",
        )
        user.refresh_from_db()
        assert user.check_password(PASSWORD)


@pytest.fixture(scope="session")
def http_server(request) -> Any:
    """Return pytest-django's ``live_server``, started with a ``STATIC_URL``.

    Django's test server handler (Django 5.2) parses ``STATIC_URL`` when it
    starts. The test settings leave it unset (None), which makes every request
    to the server fail with a TypeError, so the server starts under a
    placeholder.
    """
    from django.test import override_settings

    with override_settings(STATIC_URL=settings.STATIC_URL or "/static/"):
        return request.getfixturevalue("live_server")


@pytest.fixture
def live_genuine(http_server, live_server, make_user, attacker) -> Genuine:
    """A genuine token pair issued in the database that ``live_server`` reads.

    Requesting ``live_server`` makes pytest-django commit the test's rows, so
    the server thread can read them.
    """
    from rest_framework.test import APIClient

    user = make_user(username="carol")
    victim = make_user(username="dave")
    tokens = login(APIClient(), user)
    header, claims = split_token(tokens["access"])
    victim_claims = split_token(login(APIClient(), victim)["access"])[1]
    return Genuine(
        access=tokens["access"],
        refresh=tokens["refresh"],
        header=header,
        claims=claims,
        user_id=str(user.pk),
        victim_id=str(victim.pk),
        victim_claims=victim_claims,
        attacker=attacker,
    )


def get_with_two_authorization_lines(
    live_server, first: str, second: str
) -> http.client.HTTPResponse:
    port = live_server.thread.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.putrequest("GET", "/whoami/", skip_host=True)
    connection.putheader("Host", f"127.0.0.1:{port}")
    connection.putheader("Authorization", first)
    connection.putheader("Authorization", second)
    connection.endheaders()
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


class TestTwoAuthorizationLines:
    """Two header lines reach Django through a real HTTP server."""

    def test_genuine_token_accepted_over_http(self, http_server, live_genuine):
        port = http_server.thread.port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request(
            "GET",
            "/whoami/",
            headers={"Authorization": f"Bearer {live_genuine.access}"},
        )
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
        assert response.status == 200
        assert body["user"] == live_genuine.user_id

    @pytest.mark.parametrize(
        "forged_first", [True, False], ids=["forged-first", "valid-first"]
    )
    def test_two_lines_rejected(self, http_server, live_genuine, forged_first):
        lines = [f"Bearer {forged(live_genuine)}", f"Bearer {live_genuine.access}"]
        if not forged_first:
            lines.reverse()
        response = get_with_two_authorization_lines(http_server, *lines)
        assert response.status == 401
        assert response.getheader("WWW-Authenticate", "").startswith("Bearer")
        assert live_genuine.access.encode() not in response.body
        assert forged(live_genuine).encode() not in response.body


# Resource exhaustion: 401 quickly, never 500


def random_signature() -> str:
    return b64url(os.urandom(32))


def nested_header(depth: int) -> Build:
    def build(g: Genuine) -> str:
        header = b'{"alg":"HS256","x":' + b"[" * depth + b"]" * depth + b"}"
        return f"{b64url(header)}.{b64url_json(g.forged_claims())}.{random_signature()}"

    return build


def huge_integer_header(digits: int) -> Build:
    def build(g: Genuine) -> str:
        header = b'{"alg":"HS256","n":' + b"9" * digits + b"}"
        return f"{b64url(header)}.{b64url_json(g.forged_claims())}.{random_signature()}"

    return build


EXHAUSTION_CASES = [
    pytest.param(nested_header(1_000), id="header-nested-1000"),
    # The deepest nesting whose token still fits the default 8 KiB limit.
    pytest.param(nested_header(2_800), id="header-nested-2800"),
    pytest.param(nested_header(10_000), id="header-nested-10000"),
    pytest.param(nested_header(100_000), id="header-nested-100000"),
    pytest.param(huge_integer_header(5_000), id="header-integer-5000-digits"),
    pytest.param(huge_integer_header(100_000), id="header-integer-100000-digits"),
    pytest.param(lambda g: raw_claims(g, exp="9" * 5_000), id="exp-5000-digits"),
    pytest.param(
        lambda g: (
            b64url_json({"alg": "HS256", "typ": "at+jwt", "x": "A" * 1024 * 1024})
            + f".{b64url_json(g.claims)}.{random_signature()}"
        ),
        id="header-1-MiB-string",
    ),
    pytest.param(lambda g: "A" * 8 * 1024, id="8-KiB-of-A"),
    pytest.param(lambda g: "A" * 1024 * 1024, id="1-MiB-of-A"),
    pytest.param(lambda g: "." * 10_000, id="10000-dots"),
]


class TestResourceExhaustion:
    @pytest.mark.parametrize("build", EXHAUSTION_CASES)
    def test_rejected_quickly(self, client, genuine, build):
        token = build(genuine)
        response = get_protected(client, f"Bearer {token}")
        assert_rejected(response, token)
        assert response.elapsed_seconds < MAX_REJECTION_SECONDS

    @pytest.mark.parametrize("build", EXHAUSTION_CASES)
    def test_rejected_quickly_with_raised_size_limit(
        self, client, genuine, settings, build
    ):
        # With the limit far above every case, the parsers see the whole token.
        settings.JWTSAFE = {**settings.JWTSAFE, "MAX_TOKEN_BYTES": 4 * 1024 * 1024}
        token = build(genuine)
        response = get_protected(client, f"Bearer {token}")
        assert_rejected(response, token)
        assert response.elapsed_seconds < MAX_REJECTION_SECONDS


# Persistence: invalid submissions must not revoke or lock out the genuine
# tokens. These run last in the module.


def invalid_submissions(g: Genuine) -> list[str]:
    """Return 20 or more invalid tokens, many naming the genuine session."""
    builds = [
        case.values[0]
        for table in (ALGORITHM_CASES, SIGNATURE_CASES, STRUCTURE_CASES, JSON_CASES)
        for case in table
    ]
    tokens = [build(g) for build in builds]
    tokens += [mint(g.header, g.claims, key=f"wrong-key-{n}") for n in range(5)]
    return tokens


class TestPersistence:
    def test_access_token_survives_invalid_tokens(self, client, genuine, user):
        tokens = invalid_submissions(genuine)
        assert len(tokens) >= 20
        for token in tokens:
            get_protected(client, f"Bearer {token}")
            post_refresh(client, token)
        assert_user(get_protected(client, f"Bearer {genuine.access}"), user)

    def test_refresh_token_survives_invalid_tokens(self, client, genuine):
        refresh_header, refresh_claims = split_token(genuine.refresh)
        forged_refresh = [
            mint(refresh_header, refresh_claims, key=f"wrong-key-{n}")
            for n in range(20)
        ]
        for token in forged_refresh:
            post_refresh(client, token)
        assert post_refresh(client, genuine.refresh).status_code == 200
