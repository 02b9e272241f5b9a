"""Print a new signing key for the configured algorithm."""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jwtsafe import keys

# NIST SP 800-57 Part 1 gives 3072-bit RSA the same 128-bit strength as
# HS256 and P-256; 2048 bits, the minimum jwtsafe accepts, gives 112.
RSA_KEY_BITS = 3072

EC_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}


class Command(BaseCommand):
    help = (
        "Print a new random key for JWTSAFE: an HMAC secret for HS256, HS384 "
        "and HS512, or a PEM key pair for the asymmetric algorithms."
    )
    # The command must work while the configured key is still the bad one.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--algorithm",
            choices=sorted(keys.SUPPORTED_ALGORITHMS),
            help="Algorithm to make a key for; JWTSAFE['ALGORITHM'] by default.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        algorithm = options["algorithm"] or self._configured_algorithm()
        if algorithm in keys.HMAC_ALGORITHMS:
            self.stdout.write(hmac_secret(algorithm))
            return
        private_pem, public_pem = key_pair(algorithm)
        self.stdout.write(
            f"# SIGNING_KEY: the private key, for the hosts that issue tokens.\n"
            f"{private_pem}"
            f"# VERIFYING_KEY: the public key, for the hosts that only verify.\n"
            f"{public_pem}",
            ending="",
        )

    def _configured_algorithm(self) -> str:
        configured = getattr(settings, "JWTSAFE", None)
        if not isinstance(configured, dict):
            configured = {}
        algorithm = configured.get("ALGORITHM", "HS256")
        # The value is not quoted: it may be a key pasted in by mistake.
        if not isinstance(algorithm, str) or algorithm not in keys.SUPPORTED_ALGORITHMS:
            raise CommandError(
                "JWTSAFE['ALGORITHM'] is not an algorithm that jwtsafe accepts. "
                "Pass --algorithm, such as --algorithm HS256."
            )
        return algorithm


def hmac_secret(algorithm: str) -> str:
    """Return a random secret as long as the algorithm's hash output, in base64url.

    ``token_urlsafe`` gives 4 characters per 3 bytes, so the secret is longer
    in characters than in random bytes, and it passes every key check.
    """
    size = keys.HMAC_ALGORITHMS[algorithm]
    while True:
        secret = secrets.token_urlsafe(size)
        # The weakness rules reject one random key in far more than a
        # million, so this loop almost never runs twice.
        if keys.weakness(secret) is None:
            return secret


def key_pair(algorithm: str) -> tuple[str, str]:
    """Return a new private key and its public key, as PEM text."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if algorithm in keys.RSA_ALGORITHMS:
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    elif algorithm in EC_CURVES:
        private = ec.generate_private_key(EC_CURVES[algorithm])
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return private_pem.decode("ascii"), public_pem.decode("ascii")
