"""Signing and verification of jwtsafe's access and refresh tokens.

This is the only module that imports PyJWT. ``verify_token`` is the one path
that turns a token into claims: it checks the size, the compact form, the
header, the JSON of both segments, the signature with the pinned algorithm,
and every claim with its JSON type. Nothing here returns unverified claims.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables
from jwt.algorithms import Algorithm, ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from . import keyring
from .conf import (
    ACCESS_TOKEN_TYPE,
    REFRESH_TOKEN_TYPE,
    RETIRED,
    SCOPE_NAME,
    jwtsafe_settings,
)

# Three non-empty base64url segments without padding (RFC 7515 section 7.1).
# A JWE (five segments), an unsecured JWS (empty signature) and a padded or
# standard-alphabet segment fail here, before any decoding.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

# Header parameters that jwtsafe uses. Registered JOSE parameters outside this
# set change how a token is verified or decrypted (``jku``, ``jwk``, ``x5u``,
# ``x5c``, ``crit``, ``b64``, JWE parameters), so a token that carries one is
# rejected even when its signature is valid. Unregistered names are ignored,
# as RFC 7515 section 4 requires.
ALLOWED_HEADER_PARAMETERS = frozenset({"alg", "typ", "kid"})
REJECTED_HEADER_PARAMETERS = frozenset(
    {
        "jku",
        "jwk",
        "x5u",
        "x5c",
        "x5t",
        "x5t#S256",
        "cty",
        "crit",
        "b64",
        "zip",
        "enc",
        "epk",
        "apu",
        "apv",
        "iv",
        "tag",
        "p2s",
        "p2c",
        "url",
        "nonce",
        "ppt",
    }
)

# Claims jwtsafe writes into every token. ``sid`` names the session row,
# ``ver`` carries the user's session version, and ``token_use`` separates
# access from refresh tokens alongside the ``typ`` header.
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "ver")

# The optional ``scope`` claim: scope tokens separated by single spaces
# (RFC 8693 section 4.2, with the scope-token grammar of RFC 6749
# section 3.3).
SCOPE_CLAIM = "scope"
SCOPE_LIST = re.compile(rf"{SCOPE_NAME.pattern}(?: {SCOPE_NAME.pattern})*")
TOKEN_USE_CLAIM = "token_use"
TOKEN_USE = {ACCESS_TOKEN_TYPE: "access", REFRESH_TOKEN_TYPE: "refresh"}


class TokenError(Exception):
    """Raised when a token fails verification.

    ``reason`` is a short code for logs, and never reaches the client.
    ``claims`` contains the verified claims when the failure came after the
    signature check, so logs can name the ``jti`` and user.
    """

    def __init__(self, reason: str, claims: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claims = claims


@dataclass(frozen=True)
class Claims:
    """The verified claims of an access or refresh token."""

    subject: str
    session_id: str
    session_version: int
    token_id: str
    token_type: str
    issued_at: float
    expires_at: float
    payload: Mapping[str, Any]
    # The ``scope`` claim as a set: what the token may be used for, never
    # who the user is or what roles they hold.
    scopes: frozenset[str] = frozenset()


# Error reports (the DEBUG page, AdminEmailHandler, error trackers that keep
# frame locals) hide every local of the functions that hold a token or a key.
@sensitive_variables()
def encode_token(
    *,
    token_type: str,
    subject: str,
    session_id: str,
    session_version: int,
    lifetime_seconds: int,
    token_id: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign a token of ``token_type`` and return it with its claims.

    ``token_id`` becomes the ``jti``; a random one is chosen when it is None.
    ``extra_claims`` cannot replace the claims jwtsafe sets.
    """
    now = int(time.time())
    claims: dict[str, Any] = dict(extra_claims or {})
    claims.update(
        {
            "iss": jwtsafe_settings.issuer,
            "aud": jwtsafe_settings.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_seconds,
            "jti": token_id or uuid.uuid4().hex,
            "sid": session_id,
            "ver": session_version,
            TOKEN_USE_CLAIM: TOKEN_USE[token_type],
        }
    )
    signing = require_signing_key()
    key = signing.signing_key
    assert key is not None  # require_signing_key raises otherwise.
    headers: dict[str, Any] = {"typ": token_type}
    if signing.kid is not None:
        headers["kid"] = signing.kid
    token = jwt.encode(claims, key, algorithm=signing.algorithm, headers=headers)
    return token, claims


def require_signing_key() -> keyring.RingKey:
    """Return the ring's signing key, or raise when this process cannot sign.

    Login and refresh call this before they write anything, so a host that
    has only public keys fails without leaving a session behind.
    """
    signing = keyring.current().signing
    if signing.signing_key is None:
        raise ImproperlyConfigured(
            f"The signing key {signing.kid!r} has no private key in this "
            "process, so it can verify tokens but not issue them."
        )
    return signing


@sensitive_variables()
def verify_token(token: str, expected_type: str) -> Claims:
    """Verify ``token`` as a token of ``expected_type`` and return its claims.

    Raises ``TokenError`` for every failure, whatever the input.
    """
    if len(token) > jwtsafe_settings.max_token_bytes:
        raise TokenError("too_large")
    if not COMPACT_JWS.fullmatch(token):
        raise TokenError("malformed")

    header_segment, payload_segment, signature_segment = token.split(".")
    header = _parse_json_object(_decode_segment(header_segment))
    payload = _parse_json_object(_decode_segment(payload_segment))
    signature = _decode_segment(signature_segment)

    key = _check_header(header, expected_type)
    verifying_key = key.verifying_key
    if verifying_key is None:
        raise TokenError("retired_key")
    _check_claim_types(payload)

    signing_input = token[: len(header_segment) + 1 + len(payload_segment)]
    if not _signature_is_valid(
        key.algorithm, verifying_key, signing_input.encode("ascii"), signature
    ):
        raise TokenError("bad_signature")

    # The signature is valid from here on, so ``payload`` is trusted input.
    leeway = jwtsafe_settings.leeway.total_seconds()
    return _check_claims(payload, expected_type, now=time.time(), leeway=leeway)


@functools.cache
def _algorithm(name: str) -> Algorithm:
    return jwt.get_algorithm_by_name(name)


@functools.lru_cache(maxsize=64)
def _hmac_key(algorithm: str, key: bytes) -> Any:
    # PyJWT refuses an HMAC key that looks like a PEM or SSH public key.
    return _algorithm(algorithm).prepare_key(key)


def _signature_is_valid(
    algorithm: str, key: Any, signing_input: bytes, signature: bytes
) -> bool:
    """Check the JWS signature with PyJWT's implementation of ``algorithm``.

    The header and payload are already decoded and checked, so PyJWT is asked
    for the signature alone rather than parsing the token a second time with
    ``jwt.decode``. PyJWT compares HMAC values in constant time, and rejects
    an ECDSA signature that is not the fixed-length R || S pair.
    """
    if isinstance(key, bytes):
        key = _hmac_key(algorithm, key)
    try:
        return bool(_algorithm(algorithm).verify(signing_input, key, signature))
    except (ValueError, TypeError, jwt.PyJWTError):
        return False


def _decode_segment(segment: str) -> bytes:
    """Decode one base64url segment, rejecting any non-canonical encoding."""
    if len(segment) % 4 == 1:
        raise TokenError("malformed")
    padded = segment + "=" * (-len(segment) % 4)
    try:
        data = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError) as error:
        raise TokenError("malformed") from error
    # Unused low bits in the last character must be zero, so that one token
    # has exactly one spelling and a revoked token cannot come back re-spelled.
    if base64.urlsafe_b64encode(data).decode("ascii").rstrip("=") != segment:
        raise TokenError("malformed")
    return data


def _reject_duplicate_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate member name {name!r}")
        result[name] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_STRICT_JSON = json.JSONDecoder(
    object_pairs_hook=_reject_duplicate_names,
    parse_constant=_reject_constant,
)


def _parse_json_object(data: bytes) -> dict[str, Any]:
    """Parse strict UTF-8 JSON that must be one object.

    Rejects a byte order mark, other encodings, duplicate member names,
    ``NaN`` and ``Infinity``, lone surrogates, trailing bytes and nesting deep
    enough to exhaust the parser.
    """
    try:
        text = data.decode("utf-8")
        value = _STRICT_JSON.decode(text)
        # Strict UTF-8 decoding rejects encoded surrogates, so a lone one such
        # as "\ud800" can only come from a JSON escape. Encoding back to UTF-8
        # fails on it.
        if "\\u" in text:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError, TypeError) as error:
        raise TokenError("malformed") from error
    if not isinstance(value, dict):
        raise TokenError("malformed")
    return value


def _check_header(header: dict[str, Any], expected_type: str) -> keyring.RingKey:
    """Check the JOSE header and return the configured key that must verify."""
    ring = keyring.current()
    # Algorithms come from settings. A token naming one that no configured
    # key uses is rejected before its ``kid`` is read.
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in ring.algorithms:
        raise TokenError("alg_not_allowed")

    if not REJECTED_HEADER_PARAMETERS.isdisjoint(header):
        raise TokenError("header_not_allowed")

    # Media types compare case-insensitively (RFC 7515 section 4.1.9), and
    # RFC 9068 allows the "application/" prefix.
    token_type = header.get("typ")
    if not isinstance(token_type, str):
        raise TokenError("wrong_token_type")
    if token_type.lower() not in (expected_type, f"application/{expected_type}"):
        raise TokenError("wrong_token_type")

    key = _select_key(ring, header)
    # The key fixes the algorithm: the token's ``alg`` must be that key's,
    # exactly, case and whitespace included.
    if algorithm != key.algorithm:
        raise TokenError("alg_not_allowed")
    return key


def _select_key(ring: keyring.KeyRing, header: dict[str, Any]) -> keyring.RingKey:
    """Return the configured key that ``kid`` names.

    The ``kid`` is looked up as an exact string among the configured keys and
    used for nothing else. A ring without key ids verifies with its one key,
    and rejects a token that names one.
    """
    if not ring.uses_kid:
        if "kid" in header:
            raise TokenError("unknown_kid")
        key = ring.signing
    else:
        kid = header.get("kid")
        found = ring.by_kid.get(kid) if isinstance(kid, str) else None
        if found is None:
            raise TokenError("unknown_kid")
        key = found
    # A retired key is listed so that its tokens are rejected by name; it
    # has no key and verifies nothing.
    if key.state == RETIRED:
        raise TokenError("retired_key")
    return key


def public_jwk(
    key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    algorithm: str,
    kid: str | None,
) -> dict[str, Any]:
    """Return the JWK (RFC 7517) of a public key, with ``alg`` and ``use``."""
    jwk: dict[str, Any]
    if isinstance(key, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    elif isinstance(key, ed25519.Ed25519PublicKey):
        jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
    else:
        raise TypeError("only RSA, EC and Ed25519 public keys have a JWK here")
    jwk.pop("key_ops", None)
    jwk.update({"use": "sig", "alg": algorithm})
    if kid is not None:
        jwk["kid"] = kid
    return jwk


def public_jwks() -> dict[str, Any]:
    """Return the JWK Set of the ring's asymmetric keys that verify tokens.

    HMAC secrets and retired keys are never included; the signing key comes
    first.
    """
    ring = keyring.current()
    published = sorted(ring.published(), key=lambda key: key is not ring.signing)
    jwks = []
    for key in published:
        public = key.verifying_key
        assert not isinstance(public, bytes) and public is not None
        jwks.append(public_jwk(public, key.algorithm, key.kid))
    return {"keys": jwks}


# The largest time claim accepted, in seconds: about 285 million years, and
# the largest integer a float represents exactly. Larger integers overflow the
# float conversion that time comparisons need.
MAX_NUMERIC_DATE = 2**53


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return abs(value) <= MAX_NUMERIC_DATE


def _check_claim_types(payload: dict[str, Any]) -> None:
    """Check the JSON type of every required claim before PyJWT reads them.

    PyJWT converts time claims with ``int()``, which accepts numeric strings
    and booleans, so the types are checked first.
    """
    for name in REQUIRED_CLAIMS:
        if name not in payload:
            raise TokenError("missing_claim")
    for name in ("iss", "sub", "jti", "sid", TOKEN_USE_CLAIM):
        value = payload.get(name)
        if not isinstance(value, str) or not value:
            raise TokenError("invalid_claims")
    for name in ("iat", "nbf", "exp"):
        if not _is_number(payload[name]):
            raise TokenError("invalid_claims")
    audience = payload["aud"]
    if isinstance(audience, list):
        if not audience or not all(isinstance(item, str) for item in audience):
            raise TokenError("invalid_claims")
    elif not isinstance(audience, str):
        raise TokenError("invalid_claims")
    version = payload["ver"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise TokenError("invalid_claims")
    if SCOPE_CLAIM in payload:
        scope = payload[SCOPE_CLAIM]
        if not isinstance(scope, str) or not SCOPE_LIST.fullmatch(scope):
            raise TokenError("invalid_claims")


def _check_claims(
    payload: dict[str, Any], expected_type: str, *, now: float, leeway: float
) -> Claims:
    issued_at = float(payload["iat"])
    expires_at = float(payload["exp"])
    # The order of PyJWT's own checks: nbf, exp, iss, aud.
    if float(payload["nbf"]) > now + leeway:
        raise TokenError("not_yet_valid", payload)
    if expires_at <= now - leeway:
        raise TokenError("expired", payload)
    if payload["iss"] != jwtsafe_settings.issuer:
        raise TokenError("invalid_issuer", payload)
    audience = payload["aud"]
    if isinstance(audience, str):
        audience = [audience]
    if jwtsafe_settings.audience not in audience:
        raise TokenError("invalid_audience", payload)

    if payload[TOKEN_USE_CLAIM] != TOKEN_USE[expected_type]:
        raise TokenError("wrong_token_type", payload)
    if issued_at > now + leeway:
        raise TokenError("issued_in_future", payload)

    # A token may not outlive the lifetime configured for its type, whatever
    # ``exp`` it carries: this rejects old or over-long tokens signed under a
    # longer setting, and ``exp`` written in milliseconds.
    if expected_type == ACCESS_TOKEN_TYPE:
        lifetime = jwtsafe_settings.access_token_lifetime.total_seconds()
    else:
        lifetime = jwtsafe_settings.refresh_token_lifetime.total_seconds()
    if expires_at - issued_at > lifetime:
        raise TokenError("lifetime_exceeded", payload)

    session_id = payload["sid"]
    if not _is_canonical_uuid_hex(session_id):
        raise TokenError("invalid_claims", payload)
    if not _is_canonical_uuid_hex(payload["jti"]):
        raise TokenError("invalid_claims", payload)

    return Claims(
        subject=payload["sub"],
        session_id=session_id,
        session_version=payload["ver"],
        token_id=payload["jti"],
        token_type=expected_type,
        issued_at=issued_at,
        expires_at=expires_at,
        payload=payload,
        scopes=frozenset(payload.get(SCOPE_CLAIM, "").split()),
    )


# The form ``uuid.UUID.hex`` writes: 32 lower-case hex digits.
CANONICAL_UUID_HEX = re.compile(r"[0-9a-f]{32}")


def _is_canonical_uuid_hex(value: str) -> bool:
    return CANONICAL_UUID_HEX.fullmatch(value) is not None
