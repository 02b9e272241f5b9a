"""The ``JWTSAFE`` settings, read from ``django.conf.settings`` through one object.

Each setting is read and checked on first access, and kept until a Django
setting changes (``override_settings`` in tests), so the request path pays
a dict lookup per setting. Key material is read here only as far as its
source: a file or environment variable is named here and read by
``jwtsafe.keyring``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, Literal, TypeVar, cast, overload

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.views.decorators.debug import sensitive_variables

T = TypeVar("T")

ACCESS_TOKEN_TYPE = "at+jwt"
REFRESH_TOKEN_TYPE = "refresh+jwt"

DEFAULTS: dict[str, Any] = {
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    "LEEWAY": timedelta(seconds=30),
    "MAX_TOKEN_BYTES": 8192,
    "AUTH_HEADER_SCHEME": "Bearer",
    "REALM": "api",
    "CACHE_ALIAS": "default",
    "USER_ID_FIELD": "pk",
    "KEY_ID": None,
    "LOGIN_THROTTLE_RATES": {"ip": "20/min", "username": "5/min"},
    "FORBIDDEN_KEY_FINGERPRINTS": (),
    "DEFAULT_SCOPES": (),
    "REFRESH_GRACE_PERIOD": timedelta(seconds=10),
    "TRANSPORT": "header",
    "ACCESS_COOKIE_NAME": "jwtsafe_access",
    "REFRESH_COOKIE_NAME": "jwtsafe_refresh",
    "ACCESS_COOKIE_PATH": "/",
    "REFRESH_COOKIE_PATH": None,
    "COOKIE_DOMAIN": None,
    "COOKIE_SECURE": None,
    "COOKIE_HTTPONLY": True,
    "COOKIE_SAMESITE": "Lax",
    "JWKS_MAX_AGE": timedelta(minutes=5),
}

# Settings with no default: a project must choose them itself.
REQUIRED = ("ISSUER", "AUDIENCE")

# The single-key settings. ``KEYS`` replaces all four.
SINGLE_KEY_SETTINGS = ("SIGNING_KEY", "VERIFYING_KEY", "ALGORITHM", "KEY_ID")

# Every name that the ``JWTSAFE`` dict may contain.
SETTING_NAMES = (
    frozenset(DEFAULTS)
    | frozenset(REQUIRED)
    | frozenset(SINGLE_KEY_SETTINGS)
    | {"KEYS"}
)

# The states of a key in ``KEYS``. Exactly one key signs. Verify-only keys
# check tokens signed before a rotation or by another host. Retired keys are
# listed so that their tokens are rejected by name, and verify nothing.
SIGNING = "signing"
VERIFY_ONLY = "verify-only"
RETIRED = "retired"
KEY_STATES = (SIGNING, VERIFY_ONLY, RETIRED)

# The key material of a ``KEYS`` entry: an HMAC ``secret``, or an asymmetric
# ``private_key`` and ``public_key``. Each is given inline, as the path of a
# file (``_file``) or as the name of an environment variable (``_env``).
KEY_ROLES = ("secret", "private_key", "public_key")
SOURCE_KINDS = {"": "value", "_file": "file", "_env": "env"}
KEY_ENTRY_FIELDS = frozenset({"kid", "algorithm", "state"}) | {
    role + suffix for role in KEY_ROLES for suffix in SOURCE_KINDS
}

# A ``kid``: letters, digits and a few marks, without spaces, quotes, slashes
# or backslashes, so it can name a key file too. It is published in every
# token header and in the JWKS, and compared exactly.
KID_PATTERN = re.compile(r"[A-Za-z0-9._~:@+=-]{1,128}")
# A field name that messages may quote.
FIELD_NAME = re.compile(r"[a-z_]{1,40}")

FINGERPRINT_PREFIX = "jwtsafe-fp1:"

# A DRF throttle rate: a count, a slash and a period that DRF reads by its
# first letter (s, m, h or d).
THROTTLE_RATE = re.compile(r"[0-9]+/[smhd][a-z]*")

TRANSPORTS = ("header", "cookie")
SameSite = Literal["Lax", "Strict", "None"]

# A scope-token of RFC 6749 section 3.3.
SCOPE_NAME = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


@dataclass(frozen=True)
class KeySource:
    """The source of one piece of key material.

    ``kind`` is "value" (``value`` is the key), "file" (``value`` is a path)
    or "env" (``value`` is a variable name). ``label`` names the setting in
    messages, such as ``JWTSAFE['KEYS'] entry 'k1' private_key_file``.
    """

    kind: str
    value: str | bytes = field(repr=False)
    label: str


@dataclass(frozen=True)
class KeySetting:
    """One key as configured: ``KEYS`` entries, or the single-key settings."""

    kid: str | None
    algorithm: str
    state: str
    label: str
    secret: KeySource | None = None
    private_key: KeySource | None = None
    public_key: KeySource | None = None

    def sources(self) -> list[tuple[str, KeySource]]:
        """Return the role and source of each piece of material given."""
        found = [
            ("secret", self.secret),
            ("private_key", self.private_key),
            ("public_key", self.public_key),
        ]
        return [(role, source) for role, source in found if source is not None]


class setting(Generic[T]):
    """A read-only property whose value is kept after its first successful read.

    A read that raises is not kept, so a wrong setting raises on every
    access. ``JWTSafeSettings.clear`` drops every kept value.
    """

    def __init__(self, fget: Callable[[Any], T]) -> None:
        self.fget = fget
        self.__doc__ = fget.__doc__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> setting[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        values = instance.__dict__.setdefault("_values", {})
        try:
            return values[self]
        except KeyError:
            value = values[self] = self.fget(instance)
            return value


class JWTSafeSettings:
    """Typed access to the ``JWTSAFE`` dict, with defaults and required keys."""

    def clear(self) -> None:
        """Drop the values read so far, so the next access reads them again."""
        self.__dict__.pop("_values", None)

    @sensitive_variables()
    def _user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "JWTSAFE", None)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ImproperlyConfigured("JWTSAFE must be a dict.")
        return value

    @sensitive_variables()
    def _get(self, name: str) -> Any:
        user_settings = self._user_settings()
        if name in user_settings:
            return user_settings[name]
        if name in REQUIRED:
            raise ImproperlyConfigured(
                f"JWTSAFE[{name!r}] is required and has no default. "
                "Set it in your Django settings."
            )
        return DEFAULTS[name]

    def _get_timedelta(self, name: str, allow_zero: bool = False) -> timedelta:
        value = self._get(name)
        if not isinstance(value, timedelta):
            raise ImproperlyConfigured(
                f"JWTSAFE[{name!r}] must be a datetime.timedelta, "
                f"not {type(value).__name__}."
            )
        if value < timedelta(0) or (value == timedelta(0) and not allow_zero):
            raise ImproperlyConfigured(
                f"JWTSAFE[{name!r}] is {value}; it must be "
                + ("zero or more." if allow_zero else "more than zero.")
            )
        return value

    def _get_str(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str) or not value:
            raise ImproperlyConfigured(f"JWTSAFE[{name!r}] must be a non-empty string.")
        return value

    @setting
    def uses_key_ring(self) -> bool:
        """Return whether keys come from ``KEYS`` rather than ``SIGNING_KEY``."""
        value = getattr(settings, "JWTSAFE", None)
        return isinstance(value, dict) and "KEYS" in value

    @setting
    def algorithm(self) -> str:
        return self._get_str("ALGORITHM")

    @setting
    @sensitive_variables()
    def signing_key(self) -> str | bytes:
        value = self._user_settings().get("SIGNING_KEY")
        if not isinstance(value, (str, bytes)) or not value:
            raise ImproperlyConfigured(
                "JWTSAFE['SIGNING_KEY'] must be a non-empty string or bytes, "
                "unless JWTSAFE['KEYS'] lists the keys."
            )
        _check_encodable("SIGNING_KEY", value)
        return value

    @setting
    @sensitive_variables()
    def verifying_key(self) -> str | bytes:
        """The key that checks signatures: ``VERIFYING_KEY`` or the signing key."""
        value = self._user_settings().get("VERIFYING_KEY")
        if value:
            if not isinstance(value, (str, bytes)):
                raise ImproperlyConfigured(
                    "JWTSAFE['VERIFYING_KEY'] must be a string or bytes."
                )
            _check_encodable("VERIFYING_KEY", value)
            return value
        return self.signing_key

    @setting
    def key_id(self) -> str | None:
        value = self._get("KEY_ID")
        if value is not None and (not isinstance(value, str) or not value):
            raise ImproperlyConfigured(
                "JWTSAFE['KEY_ID'] must be a non-empty string or None."
            )
        return value

    @setting
    @sensitive_variables()
    def keys(self) -> tuple[KeySetting, ...]:
        """Return every configured key, from ``KEYS`` or the single-key settings.

        Checks the shape of each entry. Whether the keys fit together (one
        signing key, no repeated ``kid``, one family of algorithms) is left to
        the system checks and to ``jwtsafe.keyring``.
        """
        user_settings = self._user_settings()
        if "KEYS" not in user_settings:
            return (self._single_key(),)
        present = [name for name in SINGLE_KEY_SETTINGS if name in user_settings]
        if present:
            raise ImproperlyConfigured(
                f"JWTSAFE sets both KEYS and {', '.join(present)}. Each KEYS "
                "entry names its own algorithm and kid; remove the single-key "
                "settings."
            )
        entries = user_settings["KEYS"]
        if not isinstance(entries, (list, tuple)) or not entries:
            raise ImproperlyConfigured(
                "JWTSAFE['KEYS'] must be a non-empty list of dicts, each with "
                "'kid', 'algorithm', 'state' and its key."
            )
        return tuple(
            _key_entry(entry, position)
            for position, entry in enumerate(entries, start=1)
        )

    @sensitive_variables()
    def _single_key(self) -> KeySetting:
        algorithm = self.algorithm
        signing = KeySource("value", self.signing_key, "JWTSAFE['SIGNING_KEY']")
        if algorithm.startswith("HS"):
            return KeySetting(
                self.key_id, algorithm, SIGNING, "JWTSAFE", secret=signing
            )
        verifying = None
        if self._user_settings().get("VERIFYING_KEY"):
            verifying = KeySource(
                "value", self.verifying_key, "JWTSAFE['VERIFYING_KEY']"
            )
        return KeySetting(
            self.key_id,
            algorithm,
            SIGNING,
            "JWTSAFE",
            private_key=signing,
            public_key=verifying,
        )

    @setting
    def jwks_max_age(self) -> timedelta:
        value = self._get_timedelta("JWKS_MAX_AGE", allow_zero=True)
        if value > timedelta(days=1):
            raise ImproperlyConfigured(
                "JWTSAFE['JWKS_MAX_AGE'] must be one day or less: a new key "
                "signs only after every verifier has fetched it."
            )
        return value

    @setting
    def issuer(self) -> str:
        return self._get_str("ISSUER")

    @setting
    def audience(self) -> str:
        return self._get_str("AUDIENCE")

    @setting
    def access_token_lifetime(self) -> timedelta:
        return self._get_timedelta("ACCESS_TOKEN_LIFETIME")

    @setting
    def refresh_token_lifetime(self) -> timedelta:
        return self._get_timedelta("REFRESH_TOKEN_LIFETIME")

    @setting
    def leeway(self) -> timedelta:
        return self._get_timedelta("LEEWAY", allow_zero=True)

    @setting
    def max_token_bytes(self) -> int:
        value = self._get("MAX_TOKEN_BYTES")
        if not isinstance(value, int) or isinstance(value, bool) or value < 256:
            raise ImproperlyConfigured(
                "JWTSAFE['MAX_TOKEN_BYTES'] must be an integer of at least 256."
            )
        return value

    @setting
    def auth_header_scheme(self) -> str:
        return self._get_str("AUTH_HEADER_SCHEME")

    @setting
    def realm(self) -> str:
        return self._get_str("REALM")

    @setting
    def cache_alias(self) -> str:
        return self._get_str("CACHE_ALIAS")

    @setting
    def user_id_field(self) -> str:
        return self._get_str("USER_ID_FIELD")

    @setting
    def login_throttle_rates(self) -> dict[str, str | None]:
        value = self._get("LOGIN_THROTTLE_RATES")
        if not isinstance(value, dict) or not set(value) <= {"ip", "username"}:
            raise ImproperlyConfigured(
                "JWTSAFE['LOGIN_THROTTLE_RATES'] must be a dict such as "
                "{'ip': '20/min', 'username': '5/min'}."
            )
        for scope, rate in value.items():
            if rate is not None and not (
                isinstance(rate, str) and THROTTLE_RATE.fullmatch(rate)
            ):
                raise ImproperlyConfigured(
                    f"JWTSAFE['LOGIN_THROTTLE_RATES'][{scope!r}] must be a DRF "
                    "rate such as '5/min', or None to turn it off."
                )
        return value

    @setting
    def forbidden_key_fingerprints(self) -> frozenset[str]:
        value = self._get("FORBIDDEN_KEY_FINGERPRINTS")
        if isinstance(value, str) or not isinstance(
            value, (list, tuple, set, frozenset)
        ):
            raise ImproperlyConfigured(
                "JWTSAFE['FORBIDDEN_KEY_FINGERPRINTS'] must be a list of "
                "fingerprints printed by 'python manage.py jwtsafe_fingerprint'."
            )
        for position, item in enumerate(value, start=1):
            # The entry is not quoted: it may be a key pasted in by mistake.
            if not isinstance(item, str) or not item.startswith(FINGERPRINT_PREFIX):
                raise ImproperlyConfigured(
                    f"JWTSAFE['FORBIDDEN_KEY_FINGERPRINTS'] entry {position} is "
                    f"not a fingerprint: fingerprints start with "
                    f"{FINGERPRINT_PREFIX!r}. Print them with 'python manage.py "
                    "jwtsafe_fingerprint'."
                )
        return frozenset(value)

    @setting
    def default_scopes(self) -> frozenset[str]:
        value = self._get("DEFAULT_SCOPES")
        if isinstance(value, str) or not isinstance(
            value, (list, tuple, set, frozenset)
        ):
            raise ImproperlyConfigured(
                "JWTSAFE['DEFAULT_SCOPES'] must be a list of scope names such "
                "as ['notes:read', 'notes:write']."
            )
        for scope in value:
            if not isinstance(scope, str) or not SCOPE_NAME.fullmatch(scope):
                raise ImproperlyConfigured(
                    "JWTSAFE['DEFAULT_SCOPES'] must contain printable ASCII "
                    "names without spaces, quotes or backslashes."
                )
        return frozenset(value)

    @setting
    def refresh_grace_period(self) -> timedelta:
        value = self._get_timedelta("REFRESH_GRACE_PERIOD", allow_zero=True)
        if value > timedelta(minutes=1):
            raise ImproperlyConfigured(
                "JWTSAFE['REFRESH_GRACE_PERIOD'] must be one minute or less: "
                "within it, a stolen refresh token used again ends no session."
            )
        return value

    @setting
    def transport(self) -> str:
        value = self._get("TRANSPORT")
        if value not in TRANSPORTS:
            raise ImproperlyConfigured(
                "JWTSAFE['TRANSPORT'] must be 'header' or 'cookie'."
            )
        return str(value)

    @setting
    def access_cookie_name(self) -> str:
        return self._get_str("ACCESS_COOKIE_NAME")

    @setting
    def refresh_cookie_name(self) -> str:
        return self._get_str("REFRESH_COOKIE_NAME")

    @setting
    def access_cookie_path(self) -> str:
        return self._get_str("ACCESS_COOKIE_PATH")

    @setting
    def refresh_cookie_path(self) -> str | None:
        """The refresh cookie's path, or None for the one jwtsafe derives."""
        value = self._get("REFRESH_COOKIE_PATH")
        if value is not None and (not isinstance(value, str) or not value):
            raise ImproperlyConfigured(
                "JWTSAFE['REFRESH_COOKIE_PATH'] must be a path such as "
                "'/auth/', or None."
            )
        return value

    @setting
    def cookie_domain(self) -> str | None:
        value = self._get("COOKIE_DOMAIN")
        if value is not None and (not isinstance(value, str) or not value):
            raise ImproperlyConfigured(
                "JWTSAFE['COOKIE_DOMAIN'] must be a domain or None."
            )
        return value

    @setting
    def cookie_secure(self) -> bool:
        """Whether cookies carry ``Secure``: the setting, or ``not DEBUG``."""
        value = self._get("COOKIE_SECURE")
        if value is None:
            return not settings.DEBUG
        if not isinstance(value, bool):
            raise ImproperlyConfigured(
                "JWTSAFE['COOKIE_SECURE'] must be True, False or None."
            )
        return value

    @setting
    def cookie_httponly(self) -> bool:
        value = self._get("COOKIE_HTTPONLY")
        if not isinstance(value, bool):
            raise ImproperlyConfigured("JWTSAFE['COOKIE_HTTPONLY'] must be a bool.")
        return value

    @setting
    def cookie_samesite(self) -> SameSite:
        value = self._get("COOKIE_SAMESITE")
        if value not in ("Lax", "Strict", "None"):
            raise ImproperlyConfigured(
                "JWTSAFE['COOKIE_SAMESITE'] must be 'Lax', 'Strict' or 'None'."
            )
        return cast(SameSite, value)


@sensitive_variables()
def _key_entry(entry: Any, position: int) -> KeySetting:
    """Return the ``KeySetting`` of one ``KEYS`` entry, checking its shape.

    Messages name an entry by its ``kid`` or position and never quote a
    value other than a ``kid``: a key may be pasted into the wrong field.
    """
    where = f"JWTSAFE['KEYS'] entry {position}"
    if not isinstance(entry, dict):
        raise ImproperlyConfigured(f"{where} must be a dict.")
    kid = entry.get("kid")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        raise ImproperlyConfigured(
            f"{where} needs a 'kid' of 1 to 128 letters, digits or "
            "'._~:@+=-', such as '2026-12'."
        )
    where = f"JWTSAFE['KEYS'] entry {kid!r}"
    unknown = set(entry) - KEY_ENTRY_FIELDS
    if unknown:
        names = ", ".join(
            repr(name) if isinstance(name, str) and FIELD_NAME.fullmatch(name) else "?"
            for name in sorted(unknown, key=str)
        )
        raise ImproperlyConfigured(
            f"{where} has unknown fields: {names}. Known fields: "
            + ", ".join(sorted(KEY_ENTRY_FIELDS))
            + "."
        )
    algorithm = entry.get("algorithm")
    if not isinstance(algorithm, str) or not algorithm:
        raise ImproperlyConfigured(
            f"{where} needs an 'algorithm' such as 'ES256' or 'HS256'."
        )
    state = entry.get("state")
    if state not in KEY_STATES:
        raise ImproperlyConfigured(
            f"{where} needs a 'state': 'signing', 'verify-only' or 'retired'."
        )
    sources: dict[str, KeySource] = {}
    for role in KEY_ROLES:
        given = [suffix for suffix in SOURCE_KINDS if entry.get(role + suffix)]
        if len(given) > 1:
            raise ImproperlyConfigured(
                f"{where} gives {role} in more than one way: "
                + ", ".join(role + suffix for suffix in given)
                + "."
            )
        if given:
            name = role + given[0]
            sources[role] = _key_source(
                entry[name], SOURCE_KINDS[given[0]], where, name
            )
    if "secret" in sources and len(sources) > 1:
        raise ImproperlyConfigured(
            f"{where} gives both an HMAC secret and an asymmetric key."
        )
    if not sources and state != RETIRED:
        raise ImproperlyConfigured(
            f"{where} has no key: give 'secret' for an HMAC algorithm, or "
            "'private_key' or 'public_key', inline or with the _file or _env "
            "suffix. Only a retired key may have none."
        )
    return KeySetting(
        kid,
        algorithm,
        cast(str, state),
        where,
        secret=sources.get("secret"),
        private_key=sources.get("private_key"),
        public_key=sources.get("public_key"),
    )


@sensitive_variables()
def _key_source(value: Any, kind: str, where: str, name: str) -> KeySource:
    label = f"{where} {name}"
    if kind == "file":
        if not isinstance(value, (str, os.PathLike)):
            raise ImproperlyConfigured(f"{label} must be a path.")
        return KeySource(kind, os.fspath(value), label)
    if kind == "env":
        if not isinstance(value, str):
            raise ImproperlyConfigured(
                f"{label} must be the name of an environment variable."
            )
        return KeySource(kind, value, label)
    if not isinstance(value, (str, bytes)):
        raise ImproperlyConfigured(f"{label} must be a string or bytes.")
    _check_encodable(label, value)
    return KeySource(kind, value, label)


@sensitive_variables()
def _check_encodable(name: str, value: str | bytes) -> None:
    # PyJWT encodes str keys as UTF-8. A str read from the environment contains
    # lone surrogates where the bytes were not UTF-8.
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            where = name if name.startswith("JWTSAFE") else f"JWTSAFE[{name!r}]"
            raise ImproperlyConfigured(
                f"{where} is not valid UTF-8 text. Give it as bytes, "
                "or as text made by 'python manage.py jwtsafe_keygen'."
            ) from None


jwtsafe_settings = JWTSafeSettings()


def _clear_on_change(**kwargs: Any) -> None:
    # Any setting: cookie_secure follows DEBUG, and others read CACHES or the
    # user model.
    jwtsafe_settings.clear()


setting_changed.connect(_clear_on_change)
