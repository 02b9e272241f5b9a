"""The key ring: the configured keys, read from their sources and parsed once.

``jwtsafe.tokens`` gets from the ring the key that signs and the key that
checks a token. Key files and environment variables are read, and PEM keys
parsed, by the startup checks (or on first use where they did not run). The
ring is then kept until the ``JWTSAFE`` setting changes, so the request path
never reads a file or parses a key.
A process picks up a changed key file or variable when it restarts.

A ``kid`` from a token is only ever a key into the ring's dict of configured
keys: it is never a path, a URL or part of a query.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.views.decorators.debug import sensitive_variables

from . import keys
from .conf import RETIRED, SIGNING, KeySetting, KeySource, jwtsafe_settings

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

# No PEM key or HMAC secret comes near this size. The cap keeps a path such
# as /dev/zero, given by mistake, from filling memory.
MAX_KEY_FILE_BYTES = 64 * 1024


class KeySourceError(ImproperlyConfigured):
    """A key file or environment variable that cannot be read."""


@dataclass(frozen=True)
class RingKey:
    """One configured key, parsed.

    For HMAC both keys are the secret's bytes. For an asymmetric algorithm
    ``signing_key`` is the private key, or None where only the public key
    is configured, and ``verifying_key`` the public key. A retired key has
    neither.
    """

    kid: str | None
    algorithm: str
    state: str
    signing_key: bytes | PrivateKey | None = field(repr=False)
    verifying_key: bytes | PublicKey | None = field(repr=False)

    @property
    def is_hmac(self) -> bool:
        return self.algorithm in keys.HMAC_ALGORITHMS


@dataclass(frozen=True)
class KeyRing:
    """The keys of one configuration.

    ``uses_kid`` is False only for a single key without ``KEY_ID``: tokens
    then carry no ``kid``, and a token with one is rejected.
    """

    keys: tuple[RingKey, ...]
    signing: RingKey
    uses_kid: bool
    by_kid: Mapping[str, RingKey]
    # The algorithms of the keys that verify: a token naming any other is
    # rejected before its ``kid`` is looked at.
    algorithms: frozenset[str]

    def published(self) -> list[RingKey]:
        """Return the keys whose public part belongs in the JWKS."""
        return [
            key
            for key in self.keys
            if key.state != RETIRED and not key.is_hmac and key.verifying_key
        ]


@sensitive_variables()
def read_source(source: KeySource) -> bytes:
    """Return the bytes of one piece of key material.

    Raises ``KeySourceError`` when a file or variable cannot be read. The
    message names the setting, not the path or the variable: a key pasted
    into the wrong field would otherwise be printed.
    """
    if source.kind == "value":
        return keys.key_bytes(source.value)
    if source.kind == "env":
        name = str(source.value)
        # os.fsencode gives back the variable's bytes, UTF-8 or not.
        value = os.fsencode(os.environ.get(name, ""))
        if not value:
            raise KeySourceError(
                f"{source.label}: the environment variable it names is not "
                "set or is empty."
            )
        return value
    path = Path(os.fsdecode(source.value))
    try:
        with path.open("rb") as file:
            data = file.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise KeySourceError(
            f"{source.label}: cannot read the file it names "
            f"({error.strerror or type(error).__name__})."
        ) from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeySourceError(
            f"{source.label}: the file it names is over {MAX_KEY_FILE_BYTES} "
            "bytes, larger than any key."
        )
    if not data:
        raise KeySourceError(f"{source.label}: the file it names is empty.")
    return data


@sensitive_variables()
def secret_bytes(source: KeySource) -> bytes:
    """Return an HMAC secret, without the line end a file usually ends with."""
    data = read_source(source)
    if source.kind != "value":
        data = data.removesuffix(b"\r\n") if data.endswith(b"\r\n") else data
        data = data.removesuffix(b"\n")
    return data


@sensitive_variables()
def load_private_key(source: KeySource) -> PrivateKey:
    data = read_source(source)
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"{source.label} is not an unencrypted PEM private key."
        ) from None
    if not isinstance(
        loaded,
        (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey),
    ):
        raise ImproperlyConfigured(
            f"{source.label} is not an RSA, EC or Ed25519 private key."
        )
    return loaded


@sensitive_variables()
def load_public_key(source: KeySource) -> PublicKey:
    data = read_source(source)
    try:
        loaded = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"{source.label} is not a PEM public key (-----BEGIN PUBLIC KEY-----)."
        ) from None
    if not isinstance(
        loaded, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)
    ):
        raise ImproperlyConfigured(f"{source.label} is not an RSA, EC or Ed25519 key.")
    return loaded


def public_der(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_fits_algorithm(key: PublicKey, setting: KeySetting) -> None:
    """Reject a key that its algorithm cannot use, or that is too weak."""
    algorithm = setting.algorithm
    where = setting.label
    if algorithm in keys.RSA_ALGORITHMS:
        if not isinstance(key, rsa.RSAPublicKey):
            raise ImproperlyConfigured(f"{where}: {algorithm} needs an RSA key.")
        if key.key_size < keys.MIN_RSA_BITS:
            raise ImproperlyConfigured(
                f"{where}: the RSA key has {key.key_size} bits; jwtsafe needs "
                f"at least {keys.MIN_RSA_BITS}."
            )
    elif algorithm in keys.EC_ALGORITHMS:
        curve = keys.EC_ALGORITHMS[algorithm]
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
            raise ImproperlyConfigured(
                f"{where}: {algorithm} needs an EC key on {curve}."
            )
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise ImproperlyConfigured(f"{where}: {algorithm} needs an Ed25519 key.")


@sensitive_variables()
def load_key(setting: KeySetting) -> RingKey:
    """Read and parse one configured key."""
    algorithm = setting.algorithm
    if algorithm not in keys.SUPPORTED_ALGORITHMS:
        raise ImproperlyConfigured(
            f"{setting.label}: the algorithm is not one jwtsafe accepts."
        )
    # A retired key verifies nothing, so its material is never read.
    if setting.state == RETIRED:
        return RingKey(setting.kid, algorithm, setting.state, None, None)

    if algorithm in keys.HMAC_ALGORITHMS:
        if setting.secret is None:
            raise ImproperlyConfigured(
                f"{setting.label}: {algorithm} needs a 'secret', not a key pair."
            )
        secret = secret_bytes(setting.secret)
        return RingKey(setting.kid, algorithm, setting.state, secret, secret)
    if setting.secret is not None:
        raise ImproperlyConfigured(
            f"{setting.label}: {algorithm} needs a PEM key pair, not an HMAC secret."
        )

    private = (
        None if setting.private_key is None else load_private_key(setting.private_key)
    )
    public = None if setting.public_key is None else load_public_key(setting.public_key)
    if private is not None:
        derived = private.public_key()
        if public is not None and public_der(public) != public_der(derived):
            raise ImproperlyConfigured(
                f"{setting.label}: the public key is not the private key's."
            )
        public = derived
    # The settings require a private key, a public key, or both.
    assert public is not None
    _check_fits_algorithm(public, setting)
    return RingKey(setting.kid, algorithm, setting.state, private, public)


@sensitive_variables()
def build(settings: tuple[KeySetting, ...]) -> KeyRing:
    """Load every key and check that they form one ring."""
    loaded = tuple(load_key(setting) for setting in settings)
    signing = [key for key in loaded if key.state == SIGNING]
    if len(signing) != 1:
        raise ImproperlyConfigured(
            f"JWTSAFE['KEYS'] has {len(signing)} keys in state 'signing'; "
            "exactly one must sign."
        )
    by_kid: dict[str, RingKey] = {}
    for key in loaded:
        if key.kid is not None:
            if key.kid in by_kid:
                raise ImproperlyConfigured(
                    f"JWTSAFE['KEYS'] lists kid {key.kid!r} twice."
                )
            by_kid[key.kid] = key
    if len({key.is_hmac for key in loaded}) > 1:
        raise ImproperlyConfigured("JWTSAFE['KEYS'] mixes HMAC and asymmetric keys.")
    return KeyRing(
        keys=loaded,
        signing=signing[0],
        uses_kid=signing[0].kid is not None,
        by_kid=by_kid,
        algorithms=frozenset(key.algorithm for key in loaded if key.state != RETIRED),
    )


_lock = threading.Lock()
_ring: KeyRing | None = None


def current() -> KeyRing:
    """Return the ring of the current settings, loading it on first use."""
    global _ring
    ring = _ring
    if ring is None:
        with _lock:
            ring = _ring
            if ring is None:
                ring = _ring = build(jwtsafe_settings.keys)
    return ring


def clear() -> None:
    """Forget the loaded ring, so the next use reads the settings again."""
    global _ring
    with _lock:
        _ring = None


def _clear_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "JWTSAFE":
        clear()


setting_changed.connect(_clear_on_change)
