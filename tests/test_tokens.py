"""verify_token: one token per rule, each breaking only that rule."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from jwtsafe.conf import ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE
from jwtsafe.tokens import TokenError, encode_token, verify_token
from tests.conftest import (
    DOCUMENTED_CLAIMS,
    b64url,
    b64url_json,
    mint,
    sign_raw,
    split_token,
)

ISSUER = "https://auth.jwtsafe.test"
AUDIENCE = "https://api.jwtsafe.test"


def issue(token_type: str = ACCESS_TOKEN_TYPE, lifetime: int = 300) -> str:
    token, _ = encode_token(
        token_type=token_type,
        subject="42",
        session_id=uuid.uuid4().hex,
        session_version=0,
        lifetime_seconds=lifetime,
    )
    return token


def reason_for(token: str, expected_type: str = ACCESS_TOKEN_TYPE) -> str:
    with pytest.raises(TokenError) as raised:
        verify_token(token, expected_type)
    return raised.value.reason


def changed(
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    remove_claims: tuple[str, ...] = (),
    remove_header: tuple[str, ...] = (),
) -> str:
    original_header, payload = split_token(issue())
    original_header.update(header or {})
    payload.update(claims or {})
    for name in remove_claims:
        del payload[name]
    for name in remove_header:
        del original_header[name]
    return mint(original_header, payload)


class TestValidToken:
    def test_access_token_verifies(self):
        claims = verify_token(issue(), ACCESS_TOKEN_TYPE)
        assert claims.subject == "42"
        assert claims.token_type == ACCESS_TOKEN_TYPE

    def test_refresh_token_verifies(self):
        claims = verify_token(issue(REFRESH_TOKEN_TYPE, 3600), REFRESH_TOKEN_TYPE)
        assert claims.token_type == REFRESH_TOKEN_TYPE

    def test_header_contains_only_alg_and_typ(self):
        header, _ = split_token(issue())
        assert header == {"alg": "HS256", "typ": "at+jwt"}

    def test_claims_are_the_documented_set(self):
        _, payload = split_token(issue())
        assert set(payload) == DOCUMENTED_CLAIMS

    def test_audience_array_containing_audience_verifies(self):
        verify_token(changed(claims={"aud": ["other", AUDIENCE]}), ACCESS_TOKEN_TYPE)

    def test_fractional_exp_verifies(self):
        _, payload = split_token(issue())
        verify_token(changed(claims={"exp": payload["exp"] - 0.5}), ACCESS_TOKEN_TYPE)

    @pytest.mark.parametrize("typ", ["AT+JWT", "application/at+jwt", "At+Jwt"])
    def test_typ_case_and_media_prefix_verify(self, typ):
        verify_token(changed(header={"typ": typ}), ACCESS_TOKEN_TYPE)

    def test_unregistered_header_parameter_is_ignored(self):
        verify_token(changed(header={"x-test": "1"}), ACCESS_TOKEN_TYPE)


class TestSizeAndForm:
    def test_token_over_size_limit(self, settings):
        settings.JWTSAFE = {**settings.JWTSAFE, "MAX_TOKEN_BYTES": 300}
        assert reason_for(issue()) == "too_large"

    @pytest.mark.parametrize(
        "suffix",
        ["=", "==", ".AAAA", "\n", " "],
        ids=["pad1", "pad2", "4seg", "nl", "sp"],
    )
    def test_non_compact_spelling(self, suffix):
        assert reason_for(issue() + suffix) == "malformed"

    def test_non_canonical_last_character(self):
        token = issue()
        head, payload, signature = token.split(".")
        # A 32-byte signature leaves 2 unused bits in its last character.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        index = alphabet.index(signature[-1])
        tampered = signature[:-1] + alphabet[index ^ 1]
        assert reason_for(f"{head}.{payload}.{tampered}") == "malformed"


class TestHeaderRules:
    @pytest.mark.parametrize(
        "alg", ["HS384", "hs256", "HS256 ", "none", None, ["HS256"], {}, 256]
    )
    def test_alg_other_than_configured(self, alg):
        header = {"alg": alg, "typ": "at+jwt"}
        if alg is None:
            header.pop("alg")
        _, payload = split_token(issue())
        assert reason_for(mint(header, payload)) == "alg_not_allowed"

    @pytest.mark.parametrize("name", ["jku", "jwk", "x5u", "x5c", "crit", "b64", "zip"])
    def test_rejected_header_parameter(self, name):
        assert reason_for(changed(header={name: "x"})) == "header_not_allowed"

    def test_typ_missing(self):
        assert reason_for(changed(remove_header=("typ",))) == "wrong_token_type"

    def test_typ_generic_jwt(self):
        assert reason_for(changed(header={"typ": "JWT"})) == "wrong_token_type"

    def test_kid_on_single_key_server(self):
        assert reason_for(changed(header={"kid": "a"})) == "unknown_kid"


class TestClaimRules:
    @pytest.mark.parametrize(
        "name", ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "ver"]
    )
    def test_required_claim_missing(self, name):
        assert reason_for(changed(remove_claims=(name,))) == "missing_claim"

    @pytest.mark.parametrize(
        "claims",
        [
            {"exp": "9999999999"},
            {"exp": True},
            {"nbf": None},
            {"iat": [1]},
            {"sub": 42},
            {"jti": 5},
            {"ver": "0"},
            {"ver": True},
            {"ver": -1},
            {"aud": []},
            {"aud": [AUDIENCE, 1]},
            {"iss": [ISSUER]},
        ],
        ids=lambda claims: repr(claims),
    )
    def test_claim_of_wrong_json_type(self, claims):
        assert reason_for(changed(claims=claims)) == "invalid_claims"

    def test_expired(self):
        now = int(time.time())
        token = changed(claims={"iat": now - 400, "nbf": now - 400, "exp": now - 100})
        assert reason_for(token) == "expired"

    def test_expired_within_leeway_verifies(self):
        now = int(time.time())
        token = changed(claims={"iat": now - 300, "nbf": now - 300, "exp": now - 5})
        verify_token(token, ACCESS_TOKEN_TYPE)

    def test_not_yet_valid(self):
        now = int(time.time())
        assert reason_for(changed(claims={"nbf": now + 3600})) == "not_yet_valid"

    def test_issued_in_future(self):
        now = int(time.time())
        token = changed(claims={"iat": now + 120, "exp": now + 300})
        assert reason_for(token) == "issued_in_future"

    def test_lifetime_longer_than_setting(self):
        now = int(time.time())
        token = changed(claims={"iat": now - 30 * 86400, "nbf": now - 30 * 86400})
        assert reason_for(token) == "lifetime_exceeded"

    def test_exp_in_milliseconds(self):
        now = int(time.time())
        assert (
            reason_for(changed(claims={"exp": (now + 300) * 1000}))
            == "lifetime_exceeded"
        )

    @pytest.mark.parametrize("issuer", [ISSUER.upper(), ISSUER[:-1], ISSUER + "/"])
    def test_issuer_not_exact(self, issuer):
        assert reason_for(changed(claims={"iss": issuer})) == "invalid_issuer"

    @pytest.mark.parametrize("audience", ["other-service", AUDIENCE.upper()])
    def test_audience_not_exact(self, audience):
        assert reason_for(changed(claims={"aud": audience})) == "invalid_audience"

    def test_session_id_not_uuid_hex(self):
        assert reason_for(changed(claims={"sid": "../etc"})) == "invalid_claims"


class TestTokenTypes:
    def test_refresh_token_is_not_an_access_token(self):
        assert reason_for(issue(REFRESH_TOKEN_TYPE, 3600)) == "wrong_token_type"

    def test_access_token_is_not_a_refresh_token(self):
        assert reason_for(issue(), REFRESH_TOKEN_TYPE) == "wrong_token_type"

    def test_token_use_claim_must_match_header(self):
        token = changed(claims={"token_use": "refresh"})
        assert reason_for(token) == "wrong_token_type"

    def test_token_use_claim_is_case_sensitive(self):
        assert reason_for(changed(claims={"token_use": "ACCESS"})) == "wrong_token_type"


class TestSignature:
    def test_other_key(self):
        header, payload = split_token(issue())
        assert reason_for(mint(header, payload, key="k" * 64)) == "bad_signature"

    def test_payload_changed_signature_kept(self):
        token = issue()
        header_segment, _, signature = token.split(".")
        _, payload = split_token(token)
        payload["sub"] = "43"
        forged = f"{header_segment}.{b64url_json(payload)}.{signature}"
        assert reason_for(forged) == "bad_signature"


class TestStrictJson:
    @pytest.mark.parametrize(
        "payload_bytes",
        [
            b'{"sub":"42","sub":"43"}',
            b"\xef\xbb\xbf{}",
            '{"a":1}'.encode("utf-32"),
            b'{"exp":NaN}',
            b'{"sub":"\\ud800"}',
            b"{}x",
            b"[1]",
            b"[" * 2500 + b"]" * 2500,
        ],
        ids=[
            "duplicate",
            "bom",
            "utf32",
            "nan",
            "surrogate",
            "trailing",
            "array",
            "deep",
        ],
    )
    def test_payload_is_rejected(self, payload_bytes):
        header_segment = b64url_json({"alg": "HS256", "typ": "at+jwt"})
        token = sign_raw(header_segment, b64url(payload_bytes))
        assert reason_for(token) == "malformed"

    def test_duplicate_header_member(self):
        header_segment = b64url(b'{"alg":"HS256","alg":"none","typ":"at+jwt"}')
        _, payload = split_token(issue())
        token = sign_raw(header_segment, b64url_json(payload))
        assert reason_for(token) == "malformed"
