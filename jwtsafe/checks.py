"""System checks for jwtsafe's settings.

Every check id is listed in ``CHECK_IDS`` in order and is never reused. An
error about keys, algorithms, issuer, audience or lifetimes cannot be
silenced with ``SILENCED_SYSTEM_CHECKS``, and ``enforce_startup_checks``
raises them when a WSGI or ASGI server loads the project, where Django runs
no checks of its own.

Check messages are not translated: operators read them in English, as they
read the log and the output of jwtsafe's management commands.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.urls import NoReverseMatch, reverse

from . import keyring, keys
from .conf import (
    RETIRED,
    SETTING_NAMES,
    SIGNING,
    KeySetting,
    jwtsafe_settings,
)

KEYGEN_HINT = (
    "Generate a key with 'python manage.py jwtsafe_keygen' and load it from "
    "an environment variable or a secrets manager."
)

MAX_ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
MAX_LEEWAY = timedelta(seconds=60)
MAX_REFRESH_TOKEN_LIFETIME = timedelta(days=90)
WARN_ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
WARN_REFRESH_TOKEN_LIFETIME = timedelta(days=30)

# Python files larger than this are not searched for a committed key.
MAX_SOURCE_FILE_BYTES = 1_000_000
# Keys shorter than this are not looked for, because short strings occur in
# source by chance. Such keys fail jwtsafe.E002 anyway.
MIN_SEARCHED_KEY_BYTES = 16
# A piece of a random key this long matches other text only by chance of
# about 64**-16 per position for a base64 key.
KEY_FRAGMENT_LENGTH = 16
SKIPPED_DIRECTORIES = frozenset(
    {".git", ".venv", "venv", "env", "node_modules", "site-packages", ".tox", "build"}
)

# Values that messages may quote, because they look like an algorithm name
# ("none", "HS1", "ES256K") or a setting name. Anything else could be a key
# pasted into the wrong place.
ALGORITHM_PATTERN = re.compile(r"[A-Za-z]{2,5}[0-9]{0,5}[A-Za-z]?")
SETTING_NAME_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,39}")

LOCAL_CACHE_BACKENDS = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)

CHECK_IDS = {
    "jwtsafe.E001": "no signing key, or an empty one",
    "jwtsafe.E002": "HMAC key shorter than the hash output",
    "jwtsafe.E003": "guessable HMAC key",
    "jwtsafe.E004": "key equal to SECRET_KEY or one of SECRET_KEY_FALLBACKS",
    "jwtsafe.E005": "one key in two roles",
    "jwtsafe.E006": "key listed in FORBIDDEN_KEY_FINGERPRINTS",
    "jwtsafe.E007": "RSA key under 2048 bits",
    "jwtsafe.E008": "EC key on a curve other than P-256, P-384 or P-521",
    "jwtsafe.E009": "private key where only a public key belongs",
    "jwtsafe.E010": "algorithm none or not supported",
    "jwtsafe.E011": "key type does not match the algorithm",
    "jwtsafe.E012": "ISSUER missing",
    "jwtsafe.E013": "AUDIENCE missing",
    "jwtsafe.E014": "access token lifetime over one hour",
    "jwtsafe.E015": "leeway over 60 seconds",
    "jwtsafe.E016": "refresh token lifetime over 90 days",
    "jwtsafe.E017": "invalid JWTSAFE value",
    "jwtsafe.E018": "revocation cache not shared between processes (deploy)",
    "jwtsafe.E019": "IGNORE_EXCEPTIONS on the revocation cache (deploy)",
    "jwtsafe.E020": "key committed to source (deploy)",
    "jwtsafe.E021": "unknown name in JWTSAFE",
    "jwtsafe.E022": "public key where the private signing key belongs",
    "jwtsafe.E023": "setting of a shape that a check cannot read",
    "jwtsafe.E024": "token cookies without Secure while DEBUG is off",
    "jwtsafe.E025": "one kid on two keys",
    "jwtsafe.E026": "no signing key in KEYS, or more than one",
    "jwtsafe.E027": "HMAC and asymmetric keys in one ring",
    "jwtsafe.E028": "key file or environment variable that cannot be read",
    "jwtsafe.E029": "keys that pass every other check but do not load",
    "jwtsafe.W001": "access token lifetime over 15 minutes",
    "jwtsafe.W002": "refresh token lifetime over 30 days",
    "jwtsafe.W003": "revocation cache not shared between processes",
    "jwtsafe.W004": "key committed to source",
    "jwtsafe.W005": "IGNORE_EXCEPTIONS on the revocation cache",
    "jwtsafe.W006": "jwtsafe's class after one that turns 401 into 403",
    "jwtsafe.W007": "token cookies without Secure while DEBUG is on",
    "jwtsafe.W008": "signing key without its private key: this process cannot sign",
    "jwtsafe.W009": "revocation cache without a socket timeout",
}


class SettingError(checks.Error):
    """An error that ``SILENCED_SYSTEM_CHECKS`` cannot silence.

    Weak keys and unbounded tokens are not a style choice a project can opt
    out of; the fix is always to change the setting.
    """

    def is_silenced(self) -> bool:
        return False


Check = Callable[[], Iterator[checks.CheckMessage]]


def _setting(name: str) -> Any:
    """Return ``JWTSAFE[name]``, or None when it or the dict is missing.

    A ``JWTSAFE`` that is not a dict is reported as jwtsafe.E017.
    """
    configured = getattr(settings, "JWTSAFE", None)
    return configured.get(name) if isinstance(configured, dict) else None


@dataclass(frozen=True)
class Material:
    """One piece of configured key material, read from its source.

    ``role`` is "secret", "private_key" or "public_key". In the single-key
    settings, ``SIGNING_KEY`` is the secret or the private key by the
    algorithm, and ``VERIFYING_KEY`` the public key.
    """

    label: str
    role: str
    value: bytes
    algorithm: str | None
    setting: KeySetting | None
    # Written in the settings, rather than read from a file or variable.
    inline: bool


def _key_settings() -> list[KeySetting]:
    """Return the ``KEYS`` entries, or none when they are malformed (E017)."""
    if not jwtsafe_settings.uses_key_ring:
        return []
    try:
        return list(jwtsafe_settings.keys)
    except ImproperlyConfigured:
        return []


def _materials() -> list[Material]:
    """Return every key the checks look at: a retired key's material is not."""
    if not jwtsafe_settings.uses_key_ring:
        algorithm = _algorithm()
        found = []
        for name in ("SIGNING_KEY", "VERIFYING_KEY"):
            value = _setting(name)
            if not isinstance(value, (str, bytes)) or not value:
                continue
            if name == "VERIFYING_KEY":
                role = "public_key"
            elif keys.expected_kind(algorithm or "") is not None:
                role = "private_key"
            else:
                role = "secret"
            found.append(
                Material(
                    f"JWTSAFE[{name!r}]",
                    role,
                    keys.key_bytes(value),
                    algorithm,
                    None,
                    inline=True,
                )
            )
        return found
    found = []
    for setting in _key_settings():
        if setting.state == RETIRED:
            continue
        for role, source in setting.sources():
            try:
                value = keyring.read_source(source)
            except keyring.KeySourceError:
                continue  # Reported as jwtsafe.E028.
            if role == "secret" and source.kind != "value":
                value = keyring.secret_bytes(source)
            found.append(
                Material(
                    source.label,
                    role,
                    value,
                    setting.algorithm,
                    setting,
                    inline=source.kind == "value",
                )
            )
    return found


def _algorithm() -> str | None:
    value = _setting("ALGORITHM") if _setting("ALGORITHM") is not None else "HS256"
    return value if isinstance(value, str) else None


# Keys


def check_signing_key_present() -> Iterator[checks.CheckMessage]:
    if jwtsafe_settings.uses_key_ring:
        return  # KEYS is checked by check_key_ring.
    value = _setting("SIGNING_KEY")
    if not isinstance(value, (str, bytes)) or not value:
        yield SettingError(
            "JWTSAFE['SIGNING_KEY'] is missing, empty, or not a str or bytes.",
            hint=f"jwtsafe never falls back to SECRET_KEY. {KEYGEN_HINT}",
            id="jwtsafe.E001",
        )


def check_hmac_key_strength() -> Iterator[checks.CheckMessage]:
    for material in _materials():
        algorithm = material.algorithm
        if algorithm not in keys.HMAC_ALGORITHMS:
            continue
        minimum = keys.HMAC_ALGORITHMS[algorithm]
        value = material.value
        if keys.looks_like_pem(value):
            continue  # Reported as jwtsafe.E011.
        length = len(value)
        if length < minimum:
            yield SettingError(
                f"{material.label} is {length} bytes long; {algorithm} needs at "
                f"least {minimum} bytes, the size of its hash output "
                "(RFC 7518 section 3.2).",
                hint=KEYGEN_HINT,
                id="jwtsafe.E002",
            )
        reason = keys.weakness(value)
        if reason is not None:
            yield SettingError(
                f"{material.label} can be guessed: {reason}.",
                hint=KEYGEN_HINT,
                id="jwtsafe.E003",
            )


def _django_keys() -> list[bytes]:
    """Return SECRET_KEY and SECRET_KEY_FALLBACKS, skipping values of other types."""
    try:
        found: list[Any] = [settings.SECRET_KEY]
    except ImproperlyConfigured:
        found = []  # Django reports an empty SECRET_KEY itself.
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", None) or []
    found += [fallbacks] if isinstance(fallbacks, (str, bytes)) else list(fallbacks)
    return [
        keys.key_bytes(key) for key in found if isinstance(key, (str, bytes)) and key
    ]


def check_key_not_django_secret() -> Iterator[checks.CheckMessage]:
    django_keys = _django_keys()
    for material in _materials():
        algorithm = material.algorithm or ""
        if any(keys.same_secret(material.value, key, algorithm) for key in django_keys):
            yield SettingError(
                f"{material.label} is the same as SECRET_KEY or one of "
                "SECRET_KEY_FALLBACKS, contains it, or is contained in it.",
                hint="Give JWT signing its own key, so that a leak of one key "
                f"does not forge the other's tokens. {KEYGEN_HINT}",
                id="jwtsafe.E004",
            )


def check_key_roles_distinct() -> Iterator[checks.CheckMessage]:
    if jwtsafe_settings.uses_key_ring:
        yield from _check_ring_key_roles()
        return
    signing = _setting("SIGNING_KEY")
    verifying = _setting("VERIFYING_KEY")
    if not isinstance(signing, (str, bytes)) or not signing:
        return
    if not isinstance(verifying, (str, bytes)) or not verifying:
        return
    if _algorithm() in keys.HMAC_ALGORITHMS:
        yield SettingError(
            "JWTSAFE['VERIFYING_KEY'] is set for an HMAC algorithm.",
            hint="HMAC signs and verifies with the same SIGNING_KEY; remove "
            "VERIFYING_KEY.",
            id="jwtsafe.E005",
        )
    elif keys.same_secret(signing, verifying, ""):
        yield SettingError(
            "JWTSAFE['SIGNING_KEY'] and JWTSAFE['VERIFYING_KEY'] are the same key.",
            hint="Set VERIFYING_KEY to the public key only.",
            id="jwtsafe.E005",
        )
    elif not keys.is_key_pair(signing, verifying):
        yield SettingError(
            "JWTSAFE['VERIFYING_KEY'] is not the public key of SIGNING_KEY, "
            "so no token would verify.",
            hint="Derive VERIFYING_KEY from SIGNING_KEY, or generate both with "
            "'python manage.py jwtsafe_keygen'.",
            id="jwtsafe.E005",
        )


def _check_ring_key_roles() -> Iterator[checks.CheckMessage]:
    """Check each entry's pair, and that no two entries share a key."""
    by_entry: dict[str, list[Material]] = {}
    for material in _materials():
        assert material.setting is not None
        by_entry.setdefault(material.setting.label, []).append(material)
    seen: dict[bytes, str] = {}
    for label, materials in by_entry.items():
        roles = {material.role: material.value for material in materials}
        private, public = roles.get("private_key"), roles.get("public_key")
        if private is not None and public is not None:
            if not keys.is_key_pair(private, public):
                yield SettingError(
                    f"{label}: public_key is not the public key of "
                    "private_key, so no token would verify.",
                    hint="Give only the private key, or generate both with "
                    "'python manage.py jwtsafe_keygen'.",
                    id="jwtsafe.E005",
                )
        # Asymmetric keys compare by their public key, secrets by value.
        value = roles.get("secret") or private or public or b""
        identity = keys.load_public_key_der(value) or value
        if identity in seen:
            yield SettingError(
                f"{label} has the same key as {seen[identity]}.",
                hint="Give each kid its own key. To rename a key, retire the "
                "old kid after the longest token lifetime instead.",
                id="jwtsafe.E005",
            )
        else:
            seen[identity] = label


# Settings whose values go out in tokens, responses or cookies.
PUBLISHED_SETTINGS = ("ISSUER", "AUDIENCE", "KEY_ID", "REALM")


def check_key_not_published() -> Iterator[checks.CheckMessage]:
    published = [
        (f"JWTSAFE[{name!r}]", name, _setting(name)) for name in PUBLISHED_SETTINGS
    ] + [
        (f"The kid of {setting.label}", "the kid", setting.kid)
        for setting in _key_settings()
    ]
    for material in _materials():
        if material.role == "public_key" or len(material.value) < 8:
            continue
        for label, name, value in published:
            if isinstance(value, (str, bytes)) and material.value in keys.key_bytes(
                value
            ):
                yield SettingError(
                    f"{label} contains the key of {material.label}, and it is "
                    "sent in every token or response.",
                    hint=f"Replace that key at once, and set {name} to its own "
                    "value. " + KEYGEN_HINT,
                    id="jwtsafe.E005",
                )


def check_forbidden_fingerprints() -> Iterator[checks.CheckMessage]:
    try:
        forbidden = jwtsafe_settings.forbidden_key_fingerprints
    except ImproperlyConfigured:
        return  # Reported as jwtsafe.E017.
    for material in _materials():
        if keys.fingerprint(material.value) in forbidden:
            yield SettingError(
                f"{material.label} has a fingerprint listed in "
                "FORBIDDEN_KEY_FINGERPRINTS: it is another environment's key.",
                hint=f"Give each environment its own key. {KEYGEN_HINT}",
                id="jwtsafe.E006",
            )


def check_asymmetric_keys() -> Iterator[checks.CheckMessage]:
    for material in _materials():
        yield from _check_asymmetric_key(material)


def _check_asymmetric_key(material: Material) -> Iterator[checks.CheckMessage]:
    algorithm = material.algorithm
    label = material.label
    value = material.value
    expected = keys.expected_kind(algorithm or "")
    if expected is None:
        if keys.looks_like_pem(value) or keys.is_public_key(value):
            yield SettingError(
                f"{label} is a public or PEM key but the algorithm is "
                f"{_describe(algorithm, ALGORITHM_PATTERN)}. Anyone with "
                "the public key could sign tokens.",
                hint="Use an asymmetric algorithm such as ES256 with a PEM "
                "key, or an HMAC secret with an HS algorithm, never both.",
                id="jwtsafe.E011",
            )
        return
    if keys.is_encrypted_pem(value):
        yield SettingError(
            f"{label} is an encrypted PEM key.",
            hint="jwtsafe takes the key unencrypted: decrypt it where the "
            "settings load it, for example from a secrets manager.",
            id="jwtsafe.E011",
        )
        return
    inspected = keys.inspect_pem(value)
    if inspected is None or inspected.kind != expected:
        yield SettingError(
            f"{label} is not a PEM {expected.upper()} key, which {algorithm} needs.",
            hint="Generate a key pair with 'python manage.py jwtsafe_keygen'. "
            "An HMAC secret cannot be used with an asymmetric algorithm.",
            id="jwtsafe.E011",
        )
        return
    if inspected.rsa_bits is not None and inspected.rsa_bits < keys.MIN_RSA_BITS:
        yield SettingError(
            f"{label} is a {inspected.rsa_bits}-bit RSA key.",
            hint=f"Use an RSA key of at least {keys.MIN_RSA_BITS} bits.",
            id="jwtsafe.E007",
        )
    if inspected.curve is not None and (
        inspected.curve not in keys.ALLOWED_EC_CURVES
        or inspected.curve != keys.EC_ALGORITHMS.get(algorithm or "")
    ):
        yield SettingError(
            f"{label} is on curve {inspected.curve}, but {algorithm} "
            f"needs {keys.EC_ALGORITHMS.get(algorithm or '')}.",
            hint="Use P-256 with ES256, P-384 with ES384 or P-521 with ES512.",
            id="jwtsafe.E008",
        )
    if material.role == "public_key" and inspected.is_private:
        yield SettingError(
            f"{label} contains a private key.",
            hint="Give the public key only, so that hosts that only verify "
            "cannot sign.",
            id="jwtsafe.E009",
        )
    if material.role == "private_key" and not inspected.is_private:
        ring_hint = (
            "Give the private key as private_key, or the public key as public_key."
            if material.setting is not None
            else "Set SIGNING_KEY to the private key and VERIFYING_KEY to the "
            "public key. A host that only verifies can list its keys in "
            "KEYS with public keys only."
        )
        yield SettingError(
            f"{label} is a public key, which cannot sign.",
            hint=ring_hint,
            id="jwtsafe.E022",
        )


def check_algorithm() -> Iterator[checks.CheckMessage]:
    if jwtsafe_settings.uses_key_ring:
        for setting in _key_settings():
            if setting.algorithm not in keys.SUPPORTED_ALGORITHMS:
                yield SettingError(
                    f"{setting.label} names the algorithm "
                    f"{_describe(setting.algorithm, ALGORITHM_PATTERN)}, which "
                    "jwtsafe does not accept.",
                    hint="Use one of "
                    + ", ".join(sorted(keys.SUPPORTED_ALGORITHMS))
                    + ". Unsecured tokens (alg none) are never accepted.",
                    id="jwtsafe.E010",
                )
        return
    value = _setting("ALGORITHM")
    algorithm = "HS256" if value is None else value
    if isinstance(algorithm, (list, tuple, set, frozenset)):
        yield SettingError(
            f"JWTSAFE['ALGORITHM'] is a {type(algorithm).__name__}, not one name.",
            hint="Name exactly one algorithm, such as 'HS256' or 'ES256'. A key "
            "serves one algorithm family, and accepting HMAC beside an "
            "asymmetric algorithm lets a public key be used as an HMAC secret.",
            id="jwtsafe.E010",
        )
    elif not isinstance(algorithm, str) or algorithm not in keys.SUPPORTED_ALGORITHMS:
        yield SettingError(
            f"JWTSAFE['ALGORITHM'] is {_describe(algorithm, ALGORITHM_PATTERN)}, "
            "which jwtsafe does "
            "not accept.",
            hint="Use one of " + ", ".join(sorted(keys.SUPPORTED_ALGORITHMS)) + ". "
            "Unsecured tokens (alg none) are never accepted.",
            id="jwtsafe.E010",
        )


def check_key_ring() -> Iterator[checks.CheckMessage]:
    """Check that the ``KEYS`` entries form one ring that can sign."""
    ring = _key_settings()
    if not ring:
        return
    seen: set[str] = set()
    for setting in ring:
        assert setting.kid is not None
        if setting.kid in seen:
            yield SettingError(
                f"JWTSAFE['KEYS'] lists kid {setting.kid!r} more than once.",
                hint="Each key needs its own kid: a token's kid picks the one "
                "key that verifies it.",
                id="jwtsafe.E025",
            )
        seen.add(setting.kid)
    signing = [setting for setting in ring if setting.state == SIGNING]
    if len(signing) != 1:
        yield SettingError(
            f"JWTSAFE['KEYS'] has {len(signing)} keys in state 'signing'.",
            hint="Exactly one key signs. Mark the others 'verify-only' while "
            "their tokens may still be in use, then 'retired'.",
            id="jwtsafe.E026",
        )
    families = {setting.algorithm in keys.HMAC_ALGORITHMS for setting in ring}
    if len(families) > 1:
        yield SettingError(
            "JWTSAFE['KEYS'] mixes HMAC and asymmetric algorithms.",
            hint="A verifier that has HMAC secrets beside public keys is "
            "one mistake from using a public key as a secret. Rotate from "
            "HMAC to a key pair by switching every host at once, with a "
            "logout of all sessions, or keep one family.",
            id="jwtsafe.E027",
        )
    for setting in ring:
        if setting.state == RETIRED:
            continue
        for _role, source in setting.sources():
            try:
                keyring.read_source(source)
            except keyring.KeySourceError as error:
                yield SettingError(
                    str(error),
                    hint="Key files must be readable by the server's user, "
                    "and key variables set in its environment.",
                    id="jwtsafe.E028",
                )
    for setting in signing:
        is_asymmetric = setting.algorithm in keys.ASYMMETRIC_ALGORITHMS
        if is_asymmetric and setting.private_key is None:
            yield checks.Warning(
                f"The signing key {setting.kid!r} has no private_key, so this "
                "process verifies tokens but cannot issue them: login and "
                "refresh fail.",
                hint="Right for a service that only verifies. A host that "
                "serves jwtsafe's login URLs needs the private key.",
                id="jwtsafe.W008",
            )


def check_keys_load() -> Iterator[checks.CheckMessage]:
    """Load the keys as the first request would.

    Runs only when every other startup check passed, so that a mistake the
    checks above do not name still stops the process instead of failing
    each request.
    """
    try:
        # The ring is kept, so a key file that goes away after startup does
        # not fail the first request.
        keyring.current()
    except ImproperlyConfigured as error:
        yield SettingError(
            f"jwtsafe cannot load its keys: {error}",
            hint="See docs/keys.md for the key each algorithm needs.",
            id="jwtsafe.E029",
        )


# Claims and lifetimes


def check_issuer_and_audience() -> Iterator[checks.CheckMessage]:
    for name, check_id, example in (
        ("ISSUER", "jwtsafe.E012", "https://auth.example.com"),
        ("AUDIENCE", "jwtsafe.E013", "https://api.example.com"),
    ):
        value = _setting(name)
        if not isinstance(value, str) or not value:
            yield SettingError(
                f"JWTSAFE[{name!r}] is missing, empty, or not a string.",
                hint=f"Set it to a string such as {example!r}; tokens whose "
                f"claim does not match it exactly are rejected.",
                id=check_id,
            )


def _lifetime(name: str) -> timedelta | None:
    try:
        return {
            "ACCESS_TOKEN_LIFETIME": lambda: jwtsafe_settings.access_token_lifetime,
            "REFRESH_TOKEN_LIFETIME": lambda: jwtsafe_settings.refresh_token_lifetime,
            "LEEWAY": lambda: jwtsafe_settings.leeway,
        }[name]()
    except ImproperlyConfigured:
        return None


def check_lifetimes() -> Iterator[checks.CheckMessage]:
    access = _lifetime("ACCESS_TOKEN_LIFETIME")
    refresh = _lifetime("REFRESH_TOKEN_LIFETIME")
    leeway = _lifetime("LEEWAY")
    if access is not None and access > MAX_ACCESS_TOKEN_LIFETIME:
        yield SettingError(
            f"JWTSAFE['ACCESS_TOKEN_LIFETIME'] is {access}, over one hour.",
            hint="A revoked access token may be used until the cache learns of "
            "the revocation; keep it short, 5 minutes by default.",
            id="jwtsafe.E014",
        )
    elif access is not None and access > WARN_ACCESS_TOKEN_LIFETIME:
        yield checks.Warning(
            f"JWTSAFE['ACCESS_TOKEN_LIFETIME'] is {access}, over 15 minutes.",
            hint="Use 15 minutes or less; refresh tokens keep users logged in.",
            id="jwtsafe.W001",
        )
    if leeway is not None and leeway > MAX_LEEWAY:
        yield SettingError(
            f"JWTSAFE['LEEWAY'] is {leeway}, over 60 seconds.",
            hint="Leeway covers clock skew between hosts; fix clocks with NTP "
            "rather than accept expired tokens.",
            id="jwtsafe.E015",
        )
    if refresh is not None and refresh > MAX_REFRESH_TOKEN_LIFETIME:
        yield SettingError(
            f"JWTSAFE['REFRESH_TOKEN_LIFETIME'] is {refresh}, over 90 days.",
            hint="Use 30 days or less; it is the absolute lifetime of a session.",
            id="jwtsafe.E016",
        )
    elif refresh is not None and refresh > WARN_REFRESH_TOKEN_LIFETIME:
        yield checks.Warning(
            f"JWTSAFE['REFRESH_TOKEN_LIFETIME'] is {refresh}, over 30 days.",
            hint="Use 30 days or less; it is the absolute lifetime of a session.",
            id="jwtsafe.W002",
        )


def check_setting_values() -> Iterator[checks.CheckMessage]:
    single_key_readers = ["signing_key", "verifying_key", "algorithm", "key_id"]
    readers = [
        "keys",
        "jwks_max_age",
        "access_token_lifetime",
        "refresh_token_lifetime",
        "leeway",
        "max_token_bytes",
        "auth_header_scheme",
        "realm",
        "cache_alias",
        "user_id_field",
        "login_throttle_rates",
        "forbidden_key_fingerprints",
        "default_scopes",
        "refresh_grace_period",
        "transport",
        "access_cookie_name",
        "refresh_cookie_name",
        "access_cookie_path",
        "refresh_cookie_path",
        "cookie_domain",
        "cookie_secure",
        "cookie_httponly",
        "cookie_samesite",
    ]
    if not jwtsafe_settings.uses_key_ring:
        readers = single_key_readers + readers
    reported = set()
    for reader in readers:
        try:
            getattr(jwtsafe_settings, reader)
        except ImproperlyConfigured as error:
            # VERIFYING_KEY falls back to SIGNING_KEY, so one problem can
            # come from two readers.
            if str(error) not in reported:
                reported.add(str(error))
                yield SettingError(str(error), id="jwtsafe.E017")


def check_setting_references() -> Iterator[checks.CheckMessage]:
    """Check that CACHE_ALIAS and USER_ID_FIELD name a cache and a field."""
    try:
        alias = jwtsafe_settings.cache_alias
        field_name = jwtsafe_settings.user_id_field
    except ImproperlyConfigured:
        return  # Reported by check_setting_values.
    # The values are not quoted: they may be a key pasted in by mistake.
    if alias not in settings.CACHES:
        yield SettingError(
            "JWTSAFE['CACHE_ALIAS'] names no cache in CACHES.",
            hint="Name a django-redis cache from CACHES.",
            id="jwtsafe.E017",
        )
    if field_name != "pk":
        user_model = get_user_model()
        try:
            field = user_model._meta.get_field(field_name)
        except FieldDoesNotExist:
            field = None
        # Tokens name the user by this field, so it must identify one user,
        # and be public: it is written into every token.
        usable = (
            field is not None
            and getattr(field, "concrete", False)
            and not field.is_relation
            and (
                getattr(field, "primary_key", False) or getattr(field, "unique", False)
            )
            and field.name != "password"
        )
        if not usable:
            yield SettingError(
                "JWTSAFE['USER_ID_FIELD'] is not a unique, concrete field of "
                "the user model, so one user's token could name another.",
                hint="Use 'pk', or a unique field that never changes, such as "
                "a UUID column.",
                id="jwtsafe.E017",
            )


def check_setting_names() -> Iterator[checks.CheckMessage]:
    configured = getattr(settings, "JWTSAFE", None)
    if not isinstance(configured, dict):
        return
    for name in sorted(set(configured) - SETTING_NAMES, key=str):
        close = difflib.get_close_matches(str(name), SETTING_NAMES, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        yield checks.Error(
            f"JWTSAFE contains {_describe(name, SETTING_NAME_PATTERN)}, which is "
            "not a jwtsafe "
            "setting, so it has no effect.",
            hint=f"Remove it or correct its name.{suggestion}",
            id="jwtsafe.E021",
        )


# Cache and authentication classes


def _cache_config() -> dict[str, Any]:
    try:
        alias = jwtsafe_settings.cache_alias
    except ImproperlyConfigured:
        return {}
    config = getattr(settings, "CACHES", {}).get(alias)
    return config if isinstance(config, dict) else {}


def _cache_is_local() -> bool:
    backend = _cache_config().get("BACKEND", "")
    return backend in LOCAL_CACHE_BACKENDS


def _cache_ignores_exceptions() -> bool:
    options = _cache_config().get("OPTIONS")
    if isinstance(options, dict) and options.get("IGNORE_EXCEPTIONS"):
        return True
    return bool(getattr(settings, "DJANGO_REDIS_IGNORE_EXCEPTIONS", False))


def check_cache() -> Iterator[checks.CheckMessage]:
    if _cache_is_local() and not settings.DEBUG:
        yield checks.Warning(
            "jwtsafe's revocation cache is local to one process.",
            hint="A logout handled by one worker does not reach the others "
            "until the access token expires. Point JWTSAFE['CACHE_ALIAS'] at a "
            "django-redis cache.",
            id="jwtsafe.W003",
        )
    if _cache_ignores_exceptions():
        yield checks.Warning(
            "django-redis IGNORE_EXCEPTIONS is on for jwtsafe's revocation cache.",
            hint="jwtsafe reads the database when the cache fails, so errors "
            "cost a query, but other code may read None as an answer. Use a "
            "cache alias without IGNORE_EXCEPTIONS for JWTSAFE['CACHE_ALIAS'].",
            id="jwtsafe.W005",
        )


def check_cache_timeout() -> Iterator[checks.CheckMessage]:
    config = _cache_config()
    if not str(config.get("BACKEND", "")).startswith("django_redis."):
        return
    options = config.get("OPTIONS")
    options = options if isinstance(options, dict) else {}
    missing = [
        name
        for name in ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT")
        if options.get(name) is None
    ]
    if missing:
        yield checks.Warning(
            "jwtsafe's revocation cache has no "
            + " or ".join(missing)
            + ", so a Redis that stops answering holds every request.",
            hint="Set them in the cache's OPTIONS, such as 0.25 seconds: "
            "after that long jwtsafe reads the database instead.",
            id="jwtsafe.W009",
        )


def check_cache_deploy() -> Iterator[checks.CheckMessage]:
    if _cache_is_local():
        yield checks.Error(
            "jwtsafe's revocation cache is local to one process.",
            hint="Point JWTSAFE['CACHE_ALIAS'] at a django-redis cache shared "
            "by every worker.",
            id="jwtsafe.E018",
        )
    if _cache_ignores_exceptions():
        yield checks.Error(
            "django-redis IGNORE_EXCEPTIONS is on for jwtsafe's revocation cache.",
            hint="Use a cache alias without IGNORE_EXCEPTIONS for "
            "JWTSAFE['CACHE_ALIAS'].",
            id="jwtsafe.E019",
        )


def check_authentication_order() -> Iterator[checks.CheckMessage]:
    from rest_framework.settings import api_settings

    classes: list[Any] = list(api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    from .authentication import JWTAuthentication

    position = next(
        (
            index
            for index, cls in enumerate(classes)
            if isinstance(cls, type) and issubclass(cls, JWTAuthentication)
        ),
        None,
    )
    if position is None or position == 0:
        return
    first = classes[0]
    try:
        challenge = first().authenticate_header(None)
    except Exception:
        challenge = None
    if not challenge:
        yield checks.Warning(
            f"{first.__module__}.{first.__qualname__} comes before jwtsafe's "
            "class in DEFAULT_AUTHENTICATION_CLASSES and sends no "
            "WWW-Authenticate challenge.",
            hint="DRF takes the challenge from the first class, so every 401 "
            "becomes 403. List jwtsafe's class first.",
            id="jwtsafe.W006",
        )


def _describe(value: Any, pattern: re.Pattern[str]) -> str:
    """Return ``value`` quoted when it matches ``pattern``, else only its type.

    Settings are sometimes given a key by mistake, and a key must not reach
    the check output or a server's log.
    """
    if isinstance(value, str) and pattern.fullmatch(value):
        return repr(value)
    return f"a value of type {type(value).__name__}"


def _uses_cookies() -> bool:
    from rest_framework.settings import api_settings

    from .authentication import JWTCookieAuthentication

    if _setting("TRANSPORT") == "cookie":
        return True
    try:
        reverse("jwtsafe_cookie:login")
        return True
    except NoReverseMatch:
        pass
    return any(
        isinstance(cls, type) and issubclass(cls, JWTCookieAuthentication)
        for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES
    )


def check_cookie_security() -> Iterator[checks.CheckMessage]:
    try:
        secure = jwtsafe_settings.cookie_secure
    except ImproperlyConfigured:
        return  # Reported as jwtsafe.E017.
    if not _uses_cookies():
        return
    if not secure and jwtsafe_settings.cookie_samesite == "None":
        yield SettingError(
            "JWTSAFE['COOKIE_SAMESITE'] is 'None' but the cookies are not "
            "Secure, so browsers drop them.",
            hint="Use 'Lax', or serve over HTTPS with Secure cookies.",
            id="jwtsafe.E024",
        )
        return
    if secure:
        return
    if settings.DEBUG:
        yield checks.Warning(
            "jwtsafe's token cookies are sent without Secure, because DEBUG is on.",
            hint="This is for local HTTP development only. With DEBUG off the "
            "cookies are Secure unless JWTSAFE['COOKIE_SECURE'] is False.",
            id="jwtsafe.W007",
        )
    else:
        yield SettingError(
            "JWTSAFE['COOKIE_SECURE'] is False while DEBUG is off, so token "
            "cookies travel over plain HTTP.",
            hint="Remove COOKIE_SECURE, or set it to True, and serve over HTTPS.",
            id="jwtsafe.E024",
        )


# Keys in source files


def _source_roots() -> list[Path]:
    """Return BASE_DIR, or the directory above the settings package."""
    base = getattr(settings, "BASE_DIR", None)
    if base:
        return [Path(base)]
    module = sys.modules.get(os.environ.get("DJANGO_SETTINGS_MODULE", ""))
    path = getattr(module, "__file__", None)
    return [Path(path).resolve().parent.parent] if path else []


def _python_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [
            name
            for name in subdirectories
            if name not in SKIPPED_DIRECTORIES and not name.startswith(".")
        ]
        for name in files:
            if name.endswith(".py"):
                yield Path(directory) / name


def _key_fragments(key: bytes) -> list[bytes]:
    """Return pieces of ``key`` that only a copy of the key would contain.

    A key written as two string literals on two lines still contains its
    first and last ``KEY_FRAGMENT_LENGTH`` bytes. A PEM key is looked for by
    the second line of its body, because the first starts alike for every
    key of one type.
    """
    if keys.looks_like_pem(key):
        body = [
            line.strip()
            for line in key.strip().splitlines()
            if line.strip() and not line.startswith(b"-----")
        ]
        return [body[1]] if len(body) > 1 else body
    if len(key) < MIN_SEARCHED_KEY_BYTES:
        return []
    if len(key) <= 2 * KEY_FRAGMENT_LENGTH:
        return [key]
    return [key[:KEY_FRAGMENT_LENGTH], key[-KEY_FRAGMENT_LENGTH:]]


def committed_key_locations() -> list[tuple[str, Path]]:
    """Return each secret or private key given inline, with a file containing it.

    Only secrets and private keys written into the settings are looked for:
    a public key may be committed, and a key read from a file or variable is
    not a literal.
    """
    searched = [
        (material.label, _key_fragments(material.value))
        for material in _materials()
        if material.inline and material.role != "public_key"
    ]
    searched = [(label, fragments) for label, fragments in searched if fragments]
    if not searched:
        return []
    found = []
    for root in _source_roots():
        for path in _python_files(root):
            try:
                if path.stat().st_size > MAX_SOURCE_FILE_BYTES:
                    continue
                content = path.read_bytes()
            except OSError:
                continue
            for label, fragments in searched:
                if any(fragment in content for fragment in fragments):
                    found.append((label, path))
    return found


def check_committed_keys() -> Iterator[checks.CheckMessage]:
    for label, path in committed_key_locations():
        yield checks.Warning(
            f"{label} appears as a literal in {path}.",
            hint="A key in source control is a key anyone with the repository "
            f"has. {KEYGEN_HINT}",
            id="jwtsafe.W004",
        )


def check_committed_keys_deploy() -> Iterator[checks.CheckMessage]:
    for label, path in committed_key_locations():
        yield checks.Error(
            f"{label} appears as a literal in {path}.",
            hint=KEYGEN_HINT,
            id="jwtsafe.E020",
        )


# Registration and startup

STARTUP_CHECKS: list[Check] = [
    check_signing_key_present,
    check_hmac_key_strength,
    check_key_not_django_secret,
    check_key_roles_distinct,
    check_key_not_published,
    check_forbidden_fingerprints,
    check_asymmetric_keys,
    check_algorithm,
    check_key_ring,
    check_issuer_and_audience,
    check_lifetimes,
    check_setting_values,
    check_setting_references,
]
RUNTIME_CHECKS: list[Check] = [
    check_setting_names,
    check_cookie_security,
    check_cache,
    check_cache_timeout,
    check_authentication_order,
    check_committed_keys,
]
DEPLOY_CHECKS: list[Check] = [check_cache_deploy, check_committed_keys_deploy]


def startup_messages() -> list[checks.CheckMessage]:
    """Run ``STARTUP_CHECKS``, then load the keys if none of them failed."""
    messages = run_checks(STARTUP_CHECKS)
    if not any(message.is_serious() for message in messages):
        messages += run_checks([check_keys_load])
    return messages


def run_checks(check_list: list[Check]) -> list[checks.CheckMessage]:
    """Run each check, reporting one that fails to run as jwtsafe.E023."""
    messages: list[checks.CheckMessage] = []
    for check in check_list:
        try:
            messages.extend(check())
        except Exception as error:
            # The error's text may quote a setting's value, a key among them,
            # so only its type is reported.
            messages.append(
                SettingError(
                    f"jwtsafe's check {check.__name__} failed with "
                    f"{type(error).__name__}: a setting it reads has an "
                    "unexpected type or shape.",
                    hint="Compare the JWTSAFE, CACHES, REST_FRAMEWORK and "
                    "SECRET_KEY_FALLBACKS settings with docs/checks.md.",
                    id="jwtsafe.E023",
                )
            )
    return messages


@checks.register(checks.Tags.security)
def jwtsafe_settings_check(**kwargs: Any) -> list[checks.CheckMessage]:
    return startup_messages() + run_checks(RUNTIME_CHECKS)


@checks.register(checks.Tags.security, deploy=True)
def jwtsafe_deploy_check(**kwargs: Any) -> list[checks.CheckMessage]:
    return run_checks(DEPLOY_CHECKS)


# Management commands that must start with a bad key: check prints every
# message with its hint, and the key commands make and name the new key.
UNCHECKED_COMMANDS = frozenset(
    {
        "check",
        "jwtsafe_keygen",
        "jwtsafe_fingerprint",
        "help",
        "--help",
        "-h",
        "version",
        "--version",
    }
)


def _is_unchecked_command() -> bool:
    """Return whether this process runs one of ``UNCHECKED_COMMANDS``.

    The command must be the first argument, and Django's management utility
    must be what is setting Django up, whatever the script is called. Every
    other process, ``runserver --skip-checks``, ``testserver``, ``shell``
    and a server started with ``check`` as its first argument included,
    gets the startup checks.
    """
    if len(sys.argv) < 2 or sys.argv[1] not in UNCHECKED_COMMANDS:
        return False
    frame = sys._getframe()
    while frame is not None:
        code = frame.f_code
        if code.co_name == "execute" and code.co_filename.endswith(
            os.path.join("django", "core", "management", "__init__.py")
        ):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def enforce_startup_checks() -> None:
    """Raise ``ImproperlyConfigured`` for any startup error.

    Django runs no system checks when a WSGI or ASGI server such as gunicorn
    or uvicorn imports the project, and ``--skip-checks`` or
    ``call_command()`` skip them. So the app's ``ready()`` calls this in
    every process but ``UNCHECKED_COMMANDS``.
    """
    if _is_unchecked_command():
        return
    errors = [message for message in startup_messages() if message.is_serious()]
    if errors:
        details = "\n".join(str(error) for error in errors)
        raise ImproperlyConfigured(
            f"Invalid jwtsafe settings, so the process cannot start:\n{details}\n"
            "Run 'python manage.py check' to list every problem."
        )
