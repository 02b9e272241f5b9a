"""Attacks that the other attack tests leave out or only partly cover.

The cases here extend tests/test_attacks.py and reuse its fixtures and
builders. They send the invalid claim, key-header, token-type and lifecycle
tokens through the access cookie, and try a forged header beside a valid
cookie and mixed-case cookie names. They also send re-spelled revoked
refresh tokens and a JWE with a real DEFLATE bomb, watch key URLs for a late
fetch, and sign misspelled `alg` names with the server key of asymmetric
deployments.

Every rejected case must get 401 with a ``Bearer`` challenge and a body that
does not echo the token: never 403 and never 5xx.
"""

from __future__ import annotations

import functools
import os
import uuid
import zlib
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests import test_attacks, test_attacks_asymmetric
from tests.conftest import b64url, b64url_json, bearer, login, mint, split_token
from tests.test_attacks import (
    CLAIM_CASES,
    KEY_HEADER_CASES,
    KEY_URL_CASES,
    MAX_REJECTION_SECONDS,
    TOKEN_TYPE_CASES,
    WRONG_ID_TYPES,
    assert_rejected,
    assert_user,
    change_password,
    forged,
    get_protected,
    insert_into_signature,
    non_canonical_ids,
    post_refresh,
)
from tests.test_attacks_asymmetric import DEPLOYMENTS, Server
from tests.test_cookies import ACCESS_COOKIE
from tests.test_cookies import PROTECTED as COOKIE_PROTECTED

# Fixtures of the other attack modules. Assigning them, rather than importing
# them by name, lets test parameters of the same name use them without a
# redefinition warning.
attacker = test_attacks.attacker
genuine = test_attacks.genuine
listener = test_attacks.listener
server = test_attacks_asymmetric.server
server_keys = test_attacks_asymmetric.server_keys
retired_keys = test_attacks_asymmetric.retired_keys

# A background fetch of a `jku` or `x5u` URL may start after the response,
# so the listener is watched this long after the last request.
KEY_URL_WAIT_SECONDS = 5.0

# The uncompressed size of the DEFLATE bomb. It compresses to about 260 KB.
DEFLATE_BOMB_BYTES = 256 * 1024 * 1024


# Requests through the access cookie


def get_with_cookie(token: str, authorization: str | None = None) -> Any:
    """Send ``token`` as the access cookie to the view that reads it."""
    client = APIClient()
    client.cookies[ACCESS_COOKIE] = token
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    return client.get(COOKIE_PROTECTED, **extra)


class TestCookieTransport:
    """Invalid tokens sent only as the access cookie, with no Authorization."""

    def test_genuine_cookie_accepted(self, genuine, user):
        # The control for every case below: the same view and transport.
        assert_user(get_with_cookie(genuine.access), user)

    @pytest.mark.parametrize("build", CLAIM_CASES)
    def test_invalid_claim_rejected(self, genuine, build):
        token = build(genuine)
        assert_rejected(get_with_cookie(token), token)

    @pytest.mark.parametrize("build", KEY_HEADER_CASES)
    def test_key_header_rejected(self, genuine, build):
        token = build(genuine)
        assert_rejected(get_with_cookie(token), token)

    @pytest.mark.parametrize("build", KEY_URL_CASES)
    def test_key_url_rejected_and_never_fetched(self, genuine, listener, build):
        token = build(genuine, listener.url)
        assert_rejected(get_with_cookie(token), token)
        assert listener.connections == 0

    @pytest.mark.parametrize("build", TOKEN_TYPE_CASES)
    def test_wrong_token_type_rejected(self, genuine, build):
        token = build(genuine)
        assert_rejected(get_with_cookie(token), token)

    @pytest.mark.parametrize("state", ["cached", "database-only"])
    @pytest.mark.parametrize("spell", non_canonical_ids())
    def test_non_canonical_id_rejected(self, genuine, spell, state):
        # The revocation cache is keyed by the `sub` string, so only a request
        # that misses it shows whether the database lookup accepts the spelling.
        if state == "database-only":
            cache.clear()
        claims = genuine.claims_with({"sub": spell(genuine.user_id)})
        token = mint(genuine.header, claims)
        assert_rejected(get_with_cookie(token), token)

    @pytest.mark.parametrize("value", WRONG_ID_TYPES)
    def test_id_of_wrong_type_rejected(self, genuine, value):
        claims = genuine.claims_with({"sub": value(genuine.user_id)})
        token = mint(genuine.header, claims)
        assert_rejected(get_with_cookie(token), token)


class TestCookieAfterRevocation:
    """Genuine access cookies whose user or session changed after issuance."""

    def test_deactivated_user_rejected(self, user, genuine):
        user.is_active = False
        user.save()
        assert_rejected(get_with_cookie(genuine.access), genuine.access)

    def test_deleted_user_rejected(self, user, genuine):
        user.delete()
        assert_rejected(get_with_cookie(genuine.access), genuine.access)

    def test_password_change_rejected(self, client, genuine):
        assert change_password(client, genuine.access).status_code == 204
        assert_rejected(get_with_cookie(genuine.access), genuine.access)

    def test_logged_out_refresh_token_rejected(self, client, genuine):
        client.post("/auth/logout/", **bearer(genuine.access))
        assert_rejected(get_with_cookie(genuine.refresh), genuine.refresh)

    def test_stale_session_version_rejected(self, client, user, genuine):
        response = client.post("/auth/logout-all/", **bearer(genuine.access))
        assert response.status_code == 204
        header, claims = split_token(login(client, user)["access"])
        assert claims["ver"] >= 1
        token = mint(header, {**claims, "ver": claims["ver"] - 1})
        assert_rejected(get_with_cookie(token), token)

    @pytest.mark.parametrize("step", [1, 1000], ids=["plus-1", "plus-1000"])
    def test_future_session_version_rejected(self, genuine, step):
        claims = genuine.claims_with({"ver": genuine.claims["ver"] + step})
        token = mint(genuine.header, claims)
        assert_rejected(get_with_cookie(token), token)

    @pytest.mark.parametrize(
        "respell",
        [
            pytest.param(lambda token: token + "=", id="padded-signature"),
            pytest.param(
                lambda token: insert_into_signature(token, "!!"), id="junk-in-signature"
            ),
        ],
    )
    def test_respelled_revoked_cookie_rejected(self, client, genuine, respell):
        client.post("/auth/logout/", **bearer(genuine.access))
        token = respell(genuine.access)
        assert_rejected(get_with_cookie(token), token)


class TestHeaderBesideCookie:
    def test_unsigned_header_beside_valid_cookie_rejected(self, genuine):
        # An explicit credential that fails must not fall back to the cookie.
        unsigned_token = forged(genuine)
        response = get_with_cookie(genuine.access, f"Bearer {unsigned_token}")
        assert_rejected(response, unsigned_token, genuine.access)

    @pytest.mark.parametrize("name", ["Jwtsafe_Access", "jwtsafe_Access"])
    def test_mixed_case_cookie_name_rejected(self, genuine, name):
        assert name.lower() == ACCESS_COOKIE
        client = APIClient()
        client.cookies[name] = genuine.access
        assert_rejected(client.get(COOKIE_PROTECTED), genuine.access)


# Revoked refresh tokens spelled another way


REFRESH_RESPELLINGS = [
    pytest.param(lambda token: token + "=", id="padded-signature"),
    pytest.param(lambda token: token + "==", id="padded-signature-twice"),
    pytest.param(
        lambda token: insert_into_signature(token, "!!"), id="junk-in-signature"
    ),
    pytest.param(
        lambda token: insert_into_signature(token, "  "), id="spaces-in-signature"
    ),
]


class TestRespelledRevokedRefreshToken:
    @pytest.mark.parametrize("respell", REFRESH_RESPELLINGS)
    def test_logged_out_refresh_rejected(self, client, genuine, respell):
        client.post("/auth/logout/", **bearer(genuine.access))
        token = respell(genuine.refresh)
        assert_rejected(post_refresh(client, token), token)

    @pytest.mark.parametrize("respell", REFRESH_RESPELLINGS)
    def test_rotated_refresh_rejected(self, client, genuine, respell):
        assert post_refresh(client, genuine.refresh).status_code == 200
        token = respell(genuine.refresh)
        assert_rejected(post_refresh(client, token), token)


# A JWE whose ciphertext is a DEFLATE bomb


@functools.cache
def deflate_bomb() -> bytes:
    """Return raw DEFLATE data that inflates to ``DEFLATE_BOMB_BYTES`` zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1024 * 1024)
    parts = [
        compressor.compress(chunk) for _ in range(DEFLATE_BOMB_BYTES // len(chunk))
    ]
    parts.append(compressor.flush())
    return b"".join(parts)


def deflate_bomb_jwe() -> str:
    """Return a five-segment JWE with ``zip: DEF`` and the bomb as ciphertext."""
    header = b64url_json({"alg": "dir", "enc": "A256GCM", "zip": "DEF"})
    initialization_vector = b64url(os.urandom(12))
    authentication_tag = b64url(os.urandom(16))
    ciphertext = b64url(deflate_bomb())
    return f"{header}..{initialization_vector}.{ciphertext}.{authentication_tag}"


@pytest.fixture
def inflation_calls(monkeypatch) -> list[int]:
    """Count calls to zlib's decompressors while the test runs.

    NOTE: a library that bound ``zlib.decompress`` to its own name at import
    time is not counted.
    """
    calls: list[int] = []
    original_decompress = zlib.decompress
    original_decompressobj = zlib.decompressobj

    def counting_decompress(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original_decompress(*args, **kwargs)

    def counting_decompressobj(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original_decompressobj(*args, **kwargs)

    monkeypatch.setattr(zlib, "decompress", counting_decompress)
    monkeypatch.setattr(zlib, "decompressobj", counting_decompressobj)
    return calls


class TestDeflateBomb:
    @pytest.mark.parametrize(
        "size_limit", [None, 4 * 1024 * 1024], ids=["default-limit", "raised-limit"]
    )
    def test_jwe_rejected_without_inflating(
        self, client, db, settings, inflation_calls, size_limit
    ):
        if size_limit is not None:
            # With the limit above the token's size, the token reaches the parsers.
            settings.JWTSAFE = {**settings.JWTSAFE, "MAX_TOKEN_BYTES": size_limit}
        token = deflate_bomb_jwe()
        response = get_protected(client, f"Bearer {token}")
        assert_rejected(response, token)
        assert response.elapsed_seconds < MAX_REJECTION_SECONDS
        assert inflation_calls == []


# Key URLs watched long enough to catch a fetch after the response


class TestKeyUrlLateFetch:
    def test_key_urls_never_fetched(self, client, genuine, listener):
        for case in KEY_URL_CASES:
            token = case.values[0](genuine, listener.url)
            assert_rejected(get_protected(client, f"Bearer {token}"), token)
        listener.connected.wait(KEY_URL_WAIT_SECONDS)
        assert listener.connections == 0


# `alg` spellings on asymmetric deployments, signed with the server key


ALGORITHM_SPELLINGS = [
    (str.lower, "lower-case"),
    (str.swapcase, "swapped-case"),
    (lambda name: name + " ", "trailing-space"),
    (lambda name: " " + name, "leading-space"),
    (lambda name: name + "\u0000", "trailing-NUL"),
]


@pytest.mark.parametrize(
    ("server", "spell"),
    [
        pytest.param(deployment, spell, id=f"{deployment.label}-{label}")
        for deployment in DEPLOYMENTS
        for spell, label in ALGORITHM_SPELLINGS
    ],
    indirect=["server"],
)
def test_asymmetric_alg_spelling_rejected(server: Server, spell, client, user):
    header, claims = split_token(login(client, user)["access"])
    claims["jti"] = uuid.uuid4().hex
    spelled = spell(server.algorithm)
    assert spelled != server.algorithm

    exact = server.sign(header, claims)
    assert_user(get_protected(client, f"Bearer {exact}"), user)

    token = server.sign({**header, "alg": spelled}, claims, algorithm=server.algorithm)
    assert_rejected(get_protected(client, f"Bearer {token}"), token)
