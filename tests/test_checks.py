"""System checks: each one fires on a bad setting and stays quiet on a good one.

Every test runs Django's check framework, the way ``manage.py check`` does,
with the test settings changed by one value. ``BASE_DIR`` points at an empty
directory so that only the committed-key tests see source files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import string
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from io import BytesIO, StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core import checks as django_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.utils import get_random_secret_key
from django.test import override_settings

from jwtsafe import checks, keys
from tests.conftest import private_pem, public_pem

STRONG_KEY = secrets.token_urlsafe(32)

# Keys that a person would choose. Each is long enough for HS256 (32 bytes),
# so only the guessable-key check can reject it.
GUESSABLE_KEYS = [
    pytest.param("your-256-bit-secret-your-256-bit-secret", id="jwt-io-sample"),
    pytest.param("django-insecure-" + secrets.token_urlsafe(40), id="django-insecure"),
    pytest.param(
        "b2e38579273dbdbd694dbe3c8783c755eddcdecfa5ffbd0c8c5b97c693bd6a79",
        id="example-project-key",
    ),
    pytest.param("abababababababababababababababababab", id="two-characters"),
    pytest.param("Xk9#mQ2$vL7!Xk9#mQ2$vL7!Xk9#mQ2$vL7!", id="repeated-run"),
    pytest.param("mysecret123mysecret123mysecret123", id="word-with-digits"),
    pytest.param("ThisIsMySuperSecretKeyForJWTTokens2024!!", id="camel-case-words"),
    pytest.param("my-super-secret-jwt-signing-key-for-production", id="words-dashes"),
    pytest.param("S3cr3tK3yF0rJWTS1gn1ngInPr0duct10n!", id="digit-substitutions"),
    pytest.param("abcdefghijklmnopqrstuvwxyz0123456789", id="alphabet-sequence"),
    pytest.param("qwertyuiopasdfghjklzxcvbnm123456!", id="keyboard-rows"),
    pytest.param("1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,", id="keyboard-columns"),
    pytest.param(
        "a-valid-string-secret-that-is-at-least-384-bits-long", id="jwt-io-hs384"
    ),
    pytest.param("a-string-secret-at-least-256-bits-long!", id="published-plus-one"),
    pytest.param("ThisIsMySuperSecretKeyForJWTTokens2024!!\n", id="trailing-newline"),
    pytest.param("\tThisIsMySuperSecretKeyForJWTTokens2024!!\t", id="tabs-around"),
    pytest.param("the quick brown fox jumps over the lazy dog", id="pangram"),
    pytest.param("supersecretkeythatshouldbeatleast32characterslong", id="run-on"),
    pytest.param("Th1sIsMyV3ryL0ngAndS3cur3JwtS1gn1ngK3y!", id="long-leetspeak"),
    pytest.param(
        "\u0410cm\u0435-Pr\u043edu\u0441ti\u043en-JWT-Signing-K\u0435y-2024",
        id="cyrillic-look-alikes",
    ),
    pytest.param(hashlib.sha256(b"password").hexdigest(), id="sha256-hex-of-word"),
    pytest.param(
        base64.b64encode(hashlib.sha256(b"secret").digest()).decode(),
        id="sha256-base64-of-word",
    ),
    pytest.param(
        base64.b64encode(b"mysupersecretpassword123").decode(), id="base64-of-text"
    ),
    pytest.param(b"mysupersecretpassword123".hex(), id="hex-of-text"),
    pytest.param("3141592653589793238462643383279502884197", id="digits-of-pi"),
    pytest.param(
        "this-is-a-very-long-and-secure-secret-key-for-signing-jwt-tokens-in-production",
        id="long-sentence",
    ),
    pytest.param(
        "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
        id="fastapi-tutorial-key",
    ),
    pytest.param(
        base64.b64encode(b"mysupersecretpassword123\n").decode(), id="echo-base64"
    ),
    pytest.param(
        hashlib.sha256(b"password\n").hexdigest() + "  -", id="sha256sum-line"
    ),
    pytest.param(
        ":".join(f"{b:02x}" for b in hashlib.sha3_256(b"Password").digest()),
        id="sha3-with-colons",
    ),
    pytest.param(
        "\ufeffdjango-insecure-" + secrets.token_urlsafe(30), id="bom-django-insecure"
    ),
]

RANDOM_KEYS = [
    pytest.param(lambda: secrets.token_urlsafe(32), id="base64url-32-bytes"),
    pytest.param(lambda: secrets.token_urlsafe(24), id="base64url-24-bytes"),
    pytest.param(lambda: secrets.token_hex(32), id="hex-32-bytes"),
    pytest.param(lambda: os.urandom(32), id="raw-32-bytes"),
    pytest.param(
        lambda: base64.b64encode(os.urandom(32)).decode(), id="base64-32-bytes"
    ),
    pytest.param(get_random_secret_key, id="django-secret-key-generator"),
]


@pytest.fixture(scope="module")
def rsa_2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


@pytest.fixture(scope="module")
def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def good_jwtsafe(**changes: Any) -> dict[str, Any]:
    """Return the test JWTSAFE dict with a strong key, changed by ``changes``.

    A change whose value is ``None`` removes the setting.
    """
    config = dict(settings.JWTSAFE, SIGNING_KEY=STRONG_KEY)
    for name, value in changes.items():
        if value is None:
            config.pop(name, None)
        else:
            config[name] = value
    return config


@pytest.fixture
def run_checks(tmp_path: Path) -> Callable[..., list[Any]]:
    """Return a function that runs every check with changed settings."""

    def run(
        jwtsafe: dict[str, Any] | None = None,
        deploy: bool = False,
        **django_settings: Any,
    ) -> list[Any]:
        django_settings.setdefault("BASE_DIR", tmp_path)
        if jwtsafe is not None:
            django_settings["JWTSAFE"] = jwtsafe
        with override_settings(**django_settings):
            messages = django_checks.run_checks(include_deployment_checks=deploy)
            # Drop silenced messages, as the check command does.
            return [
                m
                for m in messages
                if m.id and m.id.startswith("jwtsafe.") and not m.is_silenced()
            ]

    return run


def ids(messages: list[Any]) -> list[str]:
    return sorted(message.id for message in messages)


@pytest.fixture
def check_ids(run_checks: Callable[..., list[Any]]) -> Callable[..., list[str]]:
    def run(**changes: Any) -> list[str]:
        return ids(run_checks(good_jwtsafe(**changes)))

    return run


# The list of ids


def test_good_configuration_has_no_messages(run_checks):
    assert run_checks(good_jwtsafe(), deploy=True) == []


def test_every_emitted_id_is_listed():
    source = Path(checks.__file__).read_text()
    # Every id after the list itself is one that a check emits.
    code = source.split("class SettingError", 1)[1]
    emitted = set(re.findall(r'"(jwtsafe\.[EW]\d{3})"', code))
    assert emitted == set(checks.CHECK_IDS)


def test_ids_are_numbered_without_gaps():
    for level in ("E", "W"):
        numbers = [
            int(check_id[-3:])
            for check_id in checks.CHECK_IDS
            if check_id.startswith(f"jwtsafe.{level}")
        ]
        assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize("document", ["README.md", "docs/checks.md"])
def test_every_id_is_documented(document):
    text = (Path(__file__).resolve().parent.parent / document).read_text()
    for check_id in checks.CHECK_IDS:
        assert f"`{check_id}`" in text


def test_bad_configuration_gives_exact_ids(run_checks, rsa_1024):
    messages = run_checks(
        {
            "ALGORITHM": "HS256",
            "SIGNING_KEY": "mysecret123",
            "VERIFYING_KEY": private_pem(rsa_1024),
            "ACCESS_TOKEN_LIFETIME": timedelta(hours=2),
            "REFRESH_TOKEN_LIFETIME": timedelta(days=45),
            "LEEWAY": timedelta(minutes=5),
            "SIGNING_KEYS": [],
        },
        DEBUG=False,
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        },
    )
    assert ids(messages) == [
        "jwtsafe.E002",
        "jwtsafe.E003",
        "jwtsafe.E005",
        "jwtsafe.E011",
        "jwtsafe.E012",
        "jwtsafe.E013",
        "jwtsafe.E014",
        "jwtsafe.E015",
        "jwtsafe.E021",
        "jwtsafe.W002",
        "jwtsafe.W003",
    ]


def test_messages_name_the_setting_and_hint_a_fix(run_checks):
    messages = run_checks(good_jwtsafe(SIGNING_KEY="x" * 40, ISSUER=None))
    assert messages
    for message in messages:
        assert "JWTSAFE[" in message.msg
        assert message.hint


# Key presence, length and strength


@pytest.mark.parametrize(
    "value", [None, "", b""], ids=["missing", "empty", "empty-bytes"]
)
def test_missing_signing_key_fails(check_ids, value):
    changes: dict[str, Any] = {"SIGNING_KEY": value}
    assert "jwtsafe.E001" in check_ids(**changes)


def test_signing_key_present_passes(check_ids):
    assert "jwtsafe.E001" not in check_ids()


@pytest.mark.parametrize(
    "algorithm,size", [("HS256", 32), ("HS384", 48), ("HS512", 64)]
)
def test_short_hmac_key_fails(check_ids, algorithm, size):
    short_key = secrets.token_urlsafe(size)[: size - 1]
    assert "jwtsafe.E002" in check_ids(ALGORITHM=algorithm, SIGNING_KEY=short_key)


@pytest.mark.parametrize(
    "algorithm,size", [("HS256", 32), ("HS384", 48), ("HS512", 64)]
)
def test_hash_sized_hmac_key_passes(check_ids, algorithm, size):
    key = os.urandom(size)
    assert check_ids(ALGORITHM=algorithm, SIGNING_KEY=key) == []


@pytest.mark.parametrize("key", GUESSABLE_KEYS)
def test_guessable_key_fails(check_ids, key):
    assert "jwtsafe.E003" in check_ids(SIGNING_KEY=key)


@pytest.mark.parametrize("make_key", RANDOM_KEYS)
def test_random_keys_pass(check_ids, make_key):
    for _ in range(50):
        assert check_ids(SIGNING_KEY=make_key()) == []


def test_chosen_key_message_says_how_to_generate(run_checks):
    messages = run_checks(good_jwtsafe(SIGNING_KEY="mysecret123"))
    assert ids(messages) == ["jwtsafe.E002", "jwtsafe.E003"]
    for message in messages:
        assert "SIGNING_KEY" in message.msg
        assert "python manage.py jwtsafe_keygen" in message.hint


def test_published_secret_matches_any_case():
    assert keys.is_published_secret("  Your-256-Bit-Secret ")


def test_entropy_estimate_counts_words_cheaply():
    words = keys.estimate_entropy_bits("correcthorsebatterysecretpassword")
    random_letters = keys.estimate_entropy_bits("qzvhxkwjtrnbmpgdlfcsyaue")
    assert words < random_letters


def test_entropy_estimate_of_empty_key_is_zero():
    assert keys.estimate_entropy_bits("") == 0.0


# Reused keys


def test_key_equal_to_secret_key_fails(check_ids):
    with override_settings(SECRET_KEY=STRONG_KEY):
        assert "jwtsafe.E004" in check_ids()


def test_key_in_secret_key_fallbacks_fails(check_ids):
    with override_settings(SECRET_KEY_FALLBACKS=["old", STRONG_KEY]):
        assert "jwtsafe.E004" in check_ids()


def test_key_as_single_fallback_string_fails(check_ids):
    with override_settings(SECRET_KEY_FALLBACKS=STRONG_KEY):
        assert "jwtsafe.E004" in check_ids()


@pytest.mark.parametrize(
    "derive",
    [
        lambda key: key + "\0",
        lambda key: key + "-jwt",
        lambda key: "jwt-" + key,
        lambda key: hashlib.sha256(key.encode()).hexdigest(),
    ],
    ids=["nul-padded", "suffixed", "prefixed", "sha256-hex"],
)
def test_key_derived_from_secret_key_fails(check_ids, derive):
    with override_settings(SECRET_KEY=STRONG_KEY):
        assert "jwtsafe.E004" in check_ids(SIGNING_KEY=derive(STRONG_KEY))


def test_long_key_and_its_digest_are_one_secret():
    long_key = secrets.token_bytes(100)
    assert keys.same_secret(long_key, hashlib.sha256(long_key).digest(), "HS256")
    assert not keys.same_secret(long_key, secrets.token_bytes(32), "HS256")


def test_key_apart_from_secret_key_passes(check_ids):
    with override_settings(SECRET_KEY_FALLBACKS=["old-django-key"]):
        assert "jwtsafe.E004" not in check_ids()


def test_verifying_key_with_hmac_fails(check_ids):
    assert "jwtsafe.E005" in check_ids(VERIFYING_KEY=secrets.token_urlsafe(32))


def test_same_key_for_signing_and_verifying_fails(check_ids, p256):
    pem = public_pem(p256)
    found = check_ids(ALGORITHM="ES256", SIGNING_KEY=pem, VERIFYING_KEY=pem)
    assert "jwtsafe.E005" in found


def test_asymmetric_key_pair_passes(check_ids, p256):
    found = check_ids(
        ALGORITHM="ES256", SIGNING_KEY=private_pem(p256), VERIFYING_KEY=public_pem(p256)
    )
    assert found == []


def test_forbidden_fingerprint_fails(check_ids):
    listed = [keys.fingerprint(STRONG_KEY)]
    assert "jwtsafe.E006" in check_ids(FORBIDDEN_KEY_FINGERPRINTS=listed)


def test_other_fingerprints_pass(check_ids):
    listed = [keys.fingerprint(secrets.token_urlsafe(32)) for _ in range(3)]
    assert check_ids(FORBIDDEN_KEY_FINGERPRINTS=listed) == []


@pytest.mark.parametrize(
    "value",
    ["jwtsafe-fp1:abc", ["sha256:abc"], [None]],
    ids=["string", "other", "none"],
)
def test_malformed_fingerprint_list_fails(check_ids, value):
    assert check_ids(FORBIDDEN_KEY_FINGERPRINTS=value) == ["jwtsafe.E017"]


def test_public_key_fingerprint_matches_private_key(p256):
    assert keys.fingerprint(private_pem(p256)) == keys.fingerprint(public_pem(p256))


def test_fingerprint_ignores_surrounding_whitespace():
    assert keys.fingerprint(STRONG_KEY + "\n") == keys.fingerprint(STRONG_KEY)


def test_fingerprint_does_not_contain_key():
    printed = keys.fingerprint(STRONG_KEY)
    assert printed.startswith("jwtsafe-fp1:")
    assert STRONG_KEY[:8] not in printed
    assert keys.fingerprint(STRONG_KEY.encode()) == printed
    assert keys.fingerprint(STRONG_KEY + "x") != printed


# Asymmetric keys and algorithms


def test_short_rsa_key_fails(check_ids, rsa_1024):
    found = check_ids(
        ALGORITHM="RS256",
        SIGNING_KEY=private_pem(rsa_1024),
        VERIFYING_KEY=public_pem(rsa_1024),
    )
    assert found == ["jwtsafe.E007", "jwtsafe.E007"]


def test_2048_bit_rsa_key_passes(check_ids, rsa_2048):
    found = check_ids(
        ALGORITHM="RS256",
        SIGNING_KEY=private_pem(rsa_2048),
        VERIFYING_KEY=public_pem(rsa_2048),
    )
    assert found == []


@pytest.mark.parametrize(
    "curve,algorithm",
    [(ec.SECP256K1(), "ES256"), (ec.SECP384R1(), "ES256"), (ec.SECP256R1(), "ES512")],
    ids=["secp256k1", "p384-for-es256", "p256-for-es512"],
)
def test_wrong_ec_curve_fails(check_ids, curve, algorithm):
    key = ec.generate_private_key(curve)
    assert "jwtsafe.E008" in check_ids(
        ALGORITHM=algorithm, SIGNING_KEY=private_pem(key)
    )


@pytest.mark.parametrize(
    "curve,algorithm",
    [(ec.SECP256R1(), "ES256"), (ec.SECP384R1(), "ES384"), (ec.SECP521R1(), "ES512")],
    ids=["p256", "p384", "p521"],
)
def test_matching_ec_curve_passes(check_ids, curve, algorithm):
    key = ec.generate_private_key(curve)
    assert check_ids(ALGORITHM=algorithm, SIGNING_KEY=private_pem(key)) == []


def test_private_verifying_key_fails(check_ids, p256):
    pem = private_pem(p256)
    found = check_ids(ALGORITHM="ES256", SIGNING_KEY=pem, VERIFYING_KEY=pem + "\n")
    assert "jwtsafe.E009" in found


def test_eddsa_key_pair_passes(check_ids):
    key = ed25519.Ed25519PrivateKey.generate()
    found = check_ids(
        ALGORITHM="EdDSA", SIGNING_KEY=private_pem(key), VERIFYING_KEY=public_pem(key)
    )
    assert found == []


@pytest.mark.parametrize(
    "algorithm",
    ["none", "None", "HS1", "", ["HS256", "RS256"], ("none",)],
    ids=["none", "None", "unknown", "empty", "hmac-and-rsa", "none-in-tuple"],
)
def test_rejected_algorithm_fails(check_ids, algorithm):
    assert "jwtsafe.E010" in check_ids(ALGORITHM=algorithm)


def test_pem_key_with_hmac_algorithm_fails(check_ids, rsa_2048):
    assert "jwtsafe.E011" in check_ids(SIGNING_KEY=private_pem(rsa_2048))


def test_pem_after_a_comment_is_still_pem(check_ids, rsa_2048):
    key = "\ufeff# deploy key\n" + public_pem(rsa_2048)
    assert check_ids(SIGNING_KEY=key) == ["jwtsafe.E011"]


def public_key_forms(key: rsa.RSAPrivateKey) -> dict[str, str]:
    public = key.public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    numbers = public.public_numbers()
    return {
        "openssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ).decode(),
        "base64-der": base64.b64encode(der).decode(),
        "jwk": json.dumps({"kty": "RSA", "e": "AQAB", "n": str(numbers.n)}),
    }


@pytest.mark.parametrize("form", ["openssh", "base64-der", "jwk"])
def test_public_key_as_hmac_secret_fails(check_ids, rsa_2048, form):
    key = public_key_forms(rsa_2048)[form]
    assert "jwtsafe.E011" in check_ids(SIGNING_KEY=key)


def test_encrypted_private_key_fails(check_ids, rsa_2048):
    encrypted = rsa_2048.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()
    messages = check_ids(ALGORITHM="RS256", SIGNING_KEY=encrypted)
    assert messages == ["jwtsafe.E011"]


def test_public_signing_key_fails(check_ids, rsa_2048):
    found = check_ids(ALGORITHM="RS256", SIGNING_KEY=public_pem(rsa_2048))
    assert found == ["jwtsafe.E022"]


def test_hmac_secret_with_rsa_algorithm_fails(check_ids):
    assert "jwtsafe.E011" in check_ids(ALGORITHM="RS256")


def test_ec_key_with_rsa_algorithm_fails(check_ids, p256):
    assert "jwtsafe.E011" in check_ids(ALGORITHM="RS256", SIGNING_KEY=private_pem(p256))


# Issuer, audience and lifetimes


@pytest.mark.parametrize("name,check_id", [("ISSUER", "E012"), ("AUDIENCE", "E013")])
@pytest.mark.parametrize("value", [None, ""], ids=["missing", "empty"])
def test_missing_issuer_or_audience_fails(check_ids, name, check_id, value):
    assert f"jwtsafe.{check_id}" in check_ids(**{name: value})


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("ACCESS_TOKEN_LIFETIME", timedelta(minutes=15), []),
        ("ACCESS_TOKEN_LIFETIME", timedelta(minutes=16), ["jwtsafe.W001"]),
        ("ACCESS_TOKEN_LIFETIME", timedelta(hours=1), ["jwtsafe.W001"]),
        ("ACCESS_TOKEN_LIFETIME", timedelta(hours=1, seconds=1), ["jwtsafe.E014"]),
        ("LEEWAY", timedelta(seconds=60), []),
        ("LEEWAY", timedelta(seconds=61), ["jwtsafe.E015"]),
        ("REFRESH_TOKEN_LIFETIME", timedelta(days=30), []),
        ("REFRESH_TOKEN_LIFETIME", timedelta(days=31), ["jwtsafe.W002"]),
        ("REFRESH_TOKEN_LIFETIME", timedelta(days=90), ["jwtsafe.W002"]),
        ("REFRESH_TOKEN_LIFETIME", timedelta(days=91), ["jwtsafe.E016"]),
    ],
)
def test_lifetime_limits(check_ids, name, value, expected):
    assert check_ids(**{name: value}) == expected


@pytest.mark.parametrize(
    "name,value",
    [
        ("ACCESS_TOKEN_LIFETIME", 300),
        ("ACCESS_TOKEN_LIFETIME", timedelta(minutes=-5)),
        ("REFRESH_TOKEN_LIFETIME", timedelta(0)),
        ("LEEWAY", timedelta(seconds=-1)),
        ("MAX_TOKEN_BYTES", "8192"),
        ("KEY_ID", ""),
        ("LOGIN_THROTTLE_RATES", "5/min"),
        ("LOGIN_THROTTLE_RATES", {"ip": 5}),
        ("LOGIN_THROTTLE_RATES", {"ip": "5 per minute"}),
        ("LOGIN_THROTTLE_RATES", {"email": "5/min"}),
        ("VERIFYING_KEY", 12345),
        ("CACHE_ALIAS", "no-such-cache"),
        ("USER_ID_FIELD", "no_such_field"),
    ],
)
def test_invalid_setting_value_fails(check_ids, name, value):
    assert check_ids(**{name: value}) == ["jwtsafe.E017"]


def test_non_utf8_key_text_fails(check_ids):
    # os.environ decodes bytes that are not UTF-8 to lone surrogates.
    key = secrets.token_urlsafe(32) + "\udcff"
    assert check_ids(SIGNING_KEY=key) == ["jwtsafe.E017"]


def test_audience_list_names_the_type(run_checks):
    messages = run_checks(good_jwtsafe(AUDIENCE=["https://api.jwtsafe.test"]))
    assert ids(messages) == ["jwtsafe.E013"]
    assert "not a string" in messages[0].msg


@pytest.mark.parametrize("field", ["first_name", "password", "groups", "is_active"])
def test_non_unique_user_id_field_fails(check_ids, field):
    assert check_ids(USER_ID_FIELD=field) == ["jwtsafe.E017"]


@pytest.mark.parametrize("name", ["KEY_ID", "ISSUER", "AUDIENCE", "REALM"])
def test_key_in_published_setting_fails(check_ids, name):
    assert "jwtsafe.E005" in check_ids(**{name: STRONG_KEY})


def test_key_pair_mismatch_fails(check_ids, p256):
    other = ec.generate_private_key(ec.SECP256R1())
    found = check_ids(
        ALGORITHM="ES256",
        SIGNING_KEY=private_pem(p256),
        VERIFYING_KEY=public_pem(other),
    )
    assert found == ["jwtsafe.E005"]


def test_long_random_key_checked_quickly(check_ids):
    # 256 random printable characters, matched by zxcvbn in chunks.
    alphabet = string.ascii_letters + string.digits + string.punctuation
    key = "".join(secrets.choice(alphabet) for _ in range(256))
    assert check_ids(SIGNING_KEY=key) == []


def test_unknown_setting_name_fails(run_checks):
    messages = run_checks(good_jwtsafe(FORBIDDEN_KEY_FINGERPRINT=[]))
    assert ids(messages) == ["jwtsafe.E021"]
    assert "'FORBIDDEN_KEY_FINGERPRINTS'" in messages[0].hint


# Cache and authentication classes

LOCAL_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def redis_cache(**options: Any) -> dict[str, Any]:
    """Return CACHES with one django-redis cache, with timeouts unless given."""
    options = {"SOCKET_TIMEOUT": 0.25, "SOCKET_CONNECT_TIMEOUT": 0.25, **options}
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/9",
            "OPTIONS": {name: value for name, value in options.items() if value},
        }
    }


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    ],
)
def test_process_local_cache_warns(run_checks, backend):
    caches = {"default": {"BACKEND": backend}}
    assert ids(run_checks(good_jwtsafe(), DEBUG=False, CACHES=caches)) == [
        "jwtsafe.W003"
    ]
    deploy = run_checks(good_jwtsafe(), deploy=True, DEBUG=False, CACHES=caches)
    assert ids(deploy) == ["jwtsafe.E018", "jwtsafe.W003"]


def test_process_local_cache_allowed_in_debug(run_checks):
    # A URL configuration without cookie-mode views, so W007 stays quiet.
    messages = run_checks(
        good_jwtsafe(),
        DEBUG=True,
        CACHES=LOCAL_MEMORY,
        ROOT_URLCONF="tests.router_urls",
    )
    assert messages == []


def test_shared_cache_passes(run_checks):
    assert run_checks(good_jwtsafe(), deploy=True, CACHES=redis_cache()) == []


@pytest.mark.parametrize("missing", ["SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT"])
def test_cache_without_timeout_warns(run_checks, missing):
    caches = redis_cache(**{missing: None})
    messages = run_checks(good_jwtsafe(), CACHES=caches)
    assert ids(messages) == ["jwtsafe.W009"]
    assert missing in messages[0].msg


def test_ignore_exceptions_warns(run_checks):
    caches = redis_cache(IGNORE_EXCEPTIONS=True)
    assert ids(run_checks(good_jwtsafe(), CACHES=caches)) == ["jwtsafe.W005"]
    deploy = run_checks(good_jwtsafe(), deploy=True, CACHES=caches)
    assert ids(deploy) == ["jwtsafe.E019", "jwtsafe.W005"]


def test_global_ignore_exceptions_warns(run_checks):
    messages = run_checks(
        good_jwtsafe(), CACHES=redis_cache(), DJANGO_REDIS_IGNORE_EXCEPTIONS=True
    )
    assert ids(messages) == ["jwtsafe.W005"]


def authentication_classes(*classes: str) -> dict[str, Any]:
    return dict(settings.REST_FRAMEWORK, DEFAULT_AUTHENTICATION_CLASSES=list(classes))


def test_session_authentication_first_warns(run_checks):
    framework = authentication_classes(
        "rest_framework.authentication.SessionAuthentication",
        "jwtsafe.authentication.JWTAuthentication",
    )
    assert ids(run_checks(good_jwtsafe(), REST_FRAMEWORK=framework)) == ["jwtsafe.W006"]


@pytest.mark.parametrize(
    "classes",
    [
        (
            "jwtsafe.authentication.JWTAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ),
        (
            "rest_framework.authentication.BasicAuthentication",
            "jwtsafe.authentication.JWTAuthentication",
        ),
    ],
    ids=["jwtsafe-first", "basic-first"],
)
def test_challenging_first_class_passes(run_checks, classes):
    framework = authentication_classes(*classes)
    assert run_checks(good_jwtsafe(), REST_FRAMEWORK=framework) == []


# Cookies


def cookie_framework() -> dict[str, Any]:
    return dict(
        settings.REST_FRAMEWORK,
        DEFAULT_AUTHENTICATION_CLASSES=[
            "jwtsafe.authentication.JWTCookieAuthentication"
        ],
    )


def test_insecure_cookies_warn_in_debug(run_checks):
    messages = run_checks(good_jwtsafe(), DEBUG=True, REST_FRAMEWORK=cookie_framework())
    assert ids(messages) == ["jwtsafe.W007"]


def test_insecure_cookies_fail_without_debug(run_checks):
    messages = run_checks(
        good_jwtsafe(COOKIE_SECURE=False, TRANSPORT="cookie"), DEBUG=False
    )
    assert ids(messages) == ["jwtsafe.E024"]


def test_secure_cookies_pass(run_checks):
    messages = run_checks(good_jwtsafe(TRANSPORT="cookie"), DEBUG=False)
    assert messages == []


def test_cookie_urls_alone_count_as_cookie_use(run_checks):
    # tests.urls includes jwtsafe.cookie_urls.
    messages = run_checks(good_jwtsafe(COOKIE_SECURE=False), DEBUG=False)
    assert ids(messages) == ["jwtsafe.E024"]


def test_header_only_project_ignores_cookie_setting(run_checks):
    messages = run_checks(
        good_jwtsafe(COOKIE_SECURE=False), DEBUG=False, ROOT_URLCONF="tests.router_urls"
    )
    assert messages == []


def test_samesite_none_without_secure_fails(run_checks):
    messages = run_checks(good_jwtsafe(COOKIE_SAMESITE="None"), DEBUG=True)
    assert ids(messages) == ["jwtsafe.E024"]


@pytest.mark.parametrize(
    "name,value",
    [("TRANSPORT", "both"), ("COOKIE_SAMESITE", "lax"), ("COOKIE_SECURE", "yes")],
)
def test_invalid_cookie_setting_fails(check_ids, name, value):
    assert check_ids(**{name: value}) == ["jwtsafe.E017"]


# Keys committed to source


def test_key_in_source_file_warns(run_checks, tmp_path):
    (tmp_path / "settings.py").write_text(f'SIGNING_KEY = "{STRONG_KEY}"\n')
    messages = run_checks(good_jwtsafe())
    assert ids(messages) == ["jwtsafe.W004"]
    assert str(tmp_path / "settings.py") in messages[0].msg
    assert STRONG_KEY not in messages[0].msg
    deploy = run_checks(good_jwtsafe(), deploy=True)
    assert ids(deploy) == ["jwtsafe.E020", "jwtsafe.W004"]


def test_key_split_across_lines_warns(run_checks, tmp_path):
    key = secrets.token_hex(32)
    halves = f'KEY = (\n    "{key[:32]}"\n    "{key[32:]}"\n)\n'
    (tmp_path / "keys.py").write_text(halves)
    assert ids(run_checks(good_jwtsafe(SIGNING_KEY=key))) == ["jwtsafe.W004"]


def test_private_pem_in_source_warns(run_checks, tmp_path, p256):
    pem = private_pem(p256)
    (tmp_path / "keys.py").write_text(f'PRIVATE_KEY = """{pem}"""\n')
    found = ids(run_checks(good_jwtsafe(ALGORITHM="ES256", SIGNING_KEY=pem)))
    assert found == ["jwtsafe.W004"]


def test_key_from_environment_passes(run_checks, tmp_path):
    source = 'import os\nSIGNING_KEY = os.environ["JWTSAFE_SIGNING_KEY"]\n'
    (tmp_path / "settings.py").write_text(source)
    (tmp_path / "notes.txt").write_text(STRONG_KEY)
    assert run_checks(good_jwtsafe()) == []


def test_virtual_environment_not_searched(run_checks, tmp_path):
    package = tmp_path / ".venv" / "lib"
    package.mkdir(parents=True)
    (package / "sample.py").write_text(f'KEY = "{STRONG_KEY}"\n')
    assert run_checks(good_jwtsafe()) == []


# Settings of unexpected shapes are reported, never raised


@pytest.mark.parametrize("value", [[], "HS256", 42], ids=["list", "str", "int"])
def test_jwtsafe_not_a_dict_fails(run_checks, value):
    assert "jwtsafe.E017" in ids(run_checks(value))


def test_jwtsafe_none_reports_missing_settings(run_checks):
    found = ids(run_checks(None, JWTSAFE=None))
    assert found == ["jwtsafe.E001", "jwtsafe.E012", "jwtsafe.E013", "jwtsafe.E017"]


@pytest.mark.parametrize(
    "django_settings",
    [
        {"SECRET_KEY_FALLBACKS": None},
        {"SECRET_KEY_FALLBACKS": [["nested"]]},
        {"CACHES": {"default": "redis://127.0.0.1:6379/9"}},
        {"CACHES": {"default": {"BACKEND": "x", "OPTIONS": ["IGNORE_EXCEPTIONS"]}}},
        {"BASE_DIR": 42},
        {"REST_FRAMEWORK": {"DEFAULT_AUTHENTICATION_CLASSES": "not.a.Class"}},
    ],
    ids=[
        "fallbacks-none",
        "fallbacks-nested",
        "cache-string",
        "options-list",
        "base-dir-int",
        "auth-classes-string",
    ],
)
def test_odd_django_settings_never_raise(tmp_path, django_settings):
    # Only jwtsafe's checks run: Django's own cache checks raise on some of
    # these shapes.
    django_settings.setdefault("BASE_DIR", tmp_path)
    every_check = checks.STARTUP_CHECKS + checks.RUNTIME_CHECKS + checks.DEPLOY_CHECKS
    with override_settings(JWTSAFE=good_jwtsafe(), **django_settings):
        messages = checks.run_checks(every_check)
    assert all(message.id.startswith("jwtsafe.E") for message in messages)


def test_failing_check_reported_not_raised(monkeypatch):
    def broken() -> Iterator[Any]:
        raise TypeError(STRONG_KEY)
        yield

    messages = checks.run_checks([broken])
    assert [message.id for message in messages] == ["jwtsafe.E023"]
    assert STRONG_KEY not in messages[0].msg


# Keys never appear in messages


@pytest.mark.parametrize(
    "changes",
    [
        {"ALGORITHM": STRONG_KEY},
        {"ALGORITHM": (STRONG_KEY,)},
        {"FORBIDDEN_KEY_FINGERPRINTS": [STRONG_KEY]},
        {STRONG_KEY: "value"},
    ],
    ids=["algorithm", "algorithm-tuple", "fingerprint-list", "setting-name"],
)
def test_key_in_wrong_place_not_printed(run_checks, changes):
    messages = run_checks(good_jwtsafe(**changes))
    assert messages
    for message in messages:
        assert STRONG_KEY not in f"{message.msg} {message.hint}"


# Silencing


def test_key_errors_cannot_be_silenced(run_checks):
    messages = run_checks(
        good_jwtsafe(SIGNING_KEY="mysecret123"),
        SILENCED_SYSTEM_CHECKS=["jwtsafe.E002", "jwtsafe.E003"],
    )
    assert ids(messages) == ["jwtsafe.E002", "jwtsafe.E003"]


def test_warnings_can_be_silenced(run_checks):
    messages = run_checks(
        good_jwtsafe(ACCESS_TOKEN_LIFETIME=timedelta(minutes=30)),
        SILENCED_SYSTEM_CHECKS=["jwtsafe.W001"],
    )
    assert messages == []


# Startup outside management commands


@pytest.fixture
def server_argv(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(sys, "argv", ["/usr/bin/gunicorn", "project.wsgi"])
    yield


def test_server_startup_fails_on_weak_key(server_argv):
    with override_settings(JWTSAFE=good_jwtsafe(SIGNING_KEY="mysecret123")):
        with pytest.raises(ImproperlyConfigured) as raised:
            checks.enforce_startup_checks()
    assert "jwtsafe.E003" in str(raised.value)
    assert "jwtsafe_keygen" in str(raised.value)


def test_server_startup_ignores_warnings(server_argv):
    changed = good_jwtsafe(ACCESS_TOKEN_LIFETIME=timedelta(minutes=30))
    with override_settings(JWTSAFE=changed, CACHES=LOCAL_MEMORY, DEBUG=False):
        checks.enforce_startup_checks()


@pytest.mark.parametrize("command", ["check", "help", "jwtsafe_keygen"])
def test_command_name_alone_does_not_skip_checks(monkeypatch, command):
    # A server started with "check" as its first argument is not Django's
    # management utility, so the checks still run.
    monkeypatch.setattr(sys, "argv", ["serve.py", command])
    with override_settings(JWTSAFE=good_jwtsafe(SIGNING_KEY="mysecret123")):
        with pytest.raises(ImproperlyConfigured):
            checks.enforce_startup_checks()


@pytest.mark.parametrize(
    "argv",
    [
        ["manage.py", "runserver", "--skip-checks"],
        ["manage.py", "testserver", "fixture.json"],
        ["manage.py", "shell"],
        ["/usr/lib/python3/site-packages/django/__main__.py", "migrate"],
    ],
    ids=["runserver-skip-checks", "testserver", "shell", "python-m-django"],
)
def test_other_commands_stop_on_weak_key(monkeypatch, argv):
    monkeypatch.setattr(sys, "argv", argv)
    with override_settings(JWTSAFE=good_jwtsafe(SIGNING_KEY="mysecret123")):
        with pytest.raises(ImproperlyConfigured):
            checks.enforce_startup_checks()


# Key commands


def call(*args: str) -> str:
    output = StringIO()
    call_command(*args, stdout=output)
    return output.getvalue()


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_keygen_hmac_key_passes_checks(check_ids, algorithm):
    key = call("jwtsafe_keygen", "--algorithm", algorithm).strip()
    assert len(key) >= keys.HMAC_ALGORITHMS[algorithm]
    assert check_ids(ALGORITHM=algorithm, SIGNING_KEY=key) == []


def test_keygen_gives_new_key_each_time():
    assert call("jwtsafe_keygen") != call("jwtsafe_keygen")


@pytest.mark.parametrize("algorithm", ["RS256", "PS384", "ES256", "ES512", "EdDSA"])
def test_keygen_key_pair_passes_checks(check_ids, algorithm):
    output = call("jwtsafe_keygen", "--algorithm", algorithm)
    blocks = re.findall(
        r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----\n", output, re.S
    )
    assert len(blocks) == 2
    private, public = blocks
    assert "PRIVATE KEY" in private
    assert "PUBLIC KEY" in public
    found = check_ids(ALGORITHM=algorithm, SIGNING_KEY=private, VERIFYING_KEY=public)
    assert found == []


def test_keygen_works_while_key_is_weak():
    with override_settings(JWTSAFE=good_jwtsafe(SIGNING_KEY="mysecret123")):
        assert call("jwtsafe_keygen").strip()


def test_fingerprint_command_prints_each_key(p256):
    changed = good_jwtsafe(
        ALGORITHM="ES256", SIGNING_KEY=private_pem(p256), VERIFYING_KEY=public_pem(p256)
    )
    with override_settings(JWTSAFE=changed):
        output = call("jwtsafe_fingerprint")
    expected = keys.fingerprint(public_pem(p256))
    assert output.splitlines() == [
        f"SIGNING_KEY {expected}",
        f"VERIFYING_KEY {expected}",
    ]


def test_fingerprint_command_reads_stdin(monkeypatch):
    stdin = SimpleNamespace(buffer=BytesIO(STRONG_KEY.encode() + b"\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    output = call("jwtsafe_fingerprint", "--stdin")
    assert output.strip() == keys.fingerprint(STRONG_KEY)
    assert STRONG_KEY not in output
