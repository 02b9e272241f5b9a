"""Make a new signing key: print it, or write it to files for ``KEYS``."""

from __future__ import annotations

import datetime
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jwtsafe import keys
from jwtsafe.conf import KID_PATTERN
from jwtsafe.tokens import public_jwk

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
        "and HS512, or a PEM key pair and its public JWK for the asymmetric "
        "algorithms. With --output-dir, write the key to files and print the "
        "JWTSAFE['KEYS'] entry that reads them."
    )
    # The command must work while the configured key is still the bad one.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--algorithm",
            choices=sorted(keys.SUPPORTED_ALGORITHMS),
            help="Algorithm to make a key for; JWTSAFE['ALGORITHM'] by default.",
        )
        parser.add_argument(
            "--kid",
            help="Key id that names the key in tokens and in the JWKS; today's "
            "date (such as 2026-12-04) by default.",
        )
        parser.add_argument(
            "--output-dir",
            type=Path,
            help="Write the key to files in this directory instead of printing "
            "it: KID.secret, or KID.private.pem, KID.public.pem and "
            "KID.jwk.json. Secret files are readable by their owner only.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        algorithm = options["algorithm"] or self._configured_algorithm()
        kid = options["kid"]
        if kid is None:
            kid = datetime.date.today().isoformat()
        if not KID_PATTERN.fullmatch(kid):
            raise CommandError("--kid takes 1 to 128 letters, digits or '._~:@+=-'.")
        directory: Path | None = options["output_dir"]
        if algorithm in keys.HMAC_ALGORITHMS:
            secret = hmac_secret(algorithm)
            if directory is None:
                self.stdout.write(secret)
                return
            path = directory / f"{kid}.secret"
            write_new_files([(path, secret + "\n", True)])
            self._write_entry(kid, algorithm, "secret_file", path)
            return
        private_pem, public_pem = key_pair(algorithm)
        jwk = json.dumps(jwk_of(public_pem, algorithm, kid), indent=2)
        if directory is None:
            self.stdout.write(
                "# private_key (SIGNING_KEY): for the hosts that issue tokens.\n"
                f"{private_pem}"
                "# public_key (VERIFYING_KEY): for the hosts that only verify.\n"
                f"{public_pem}"
                f"# The public key as a JWK with kid {kid!r}, as the JWKS "
                "publishes it.\n"
                f"{jwk}\n",
                ending="",
            )
            return
        private_path = directory / f"{kid}.private.pem"
        write_new_files(
            [
                (private_path, private_pem, True),
                (directory / f"{kid}.public.pem", public_pem, False),
                (directory / f"{kid}.jwk.json", jwk + "\n", False),
            ]
        )
        self._write_entry(kid, algorithm, "private_key_file", private_path)

    def _write_entry(self, kid: str, algorithm: str, field: str, path: Path) -> None:
        self.stdout.write(
            f"Wrote the key to {path}. Add it to JWTSAFE['KEYS'] as "
            "verify-only on every host first, then make it the signing key:\n"
            f"{{'kid': {kid!r}, 'algorithm': {algorithm!r}, "
            f"'state': 'verify-only', {field!r}: {str(path.resolve())!r}}}"
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


def jwk_of(public_pem: str, algorithm: str, kid: str) -> dict[str, Any]:
    public = serialization.load_pem_public_key(public_pem.encode("ascii"))
    assert isinstance(
        public, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)
    )
    return public_jwk(public, algorithm, kid)


def write_new_files(files: list[tuple[Path, str, bool]]) -> None:
    """Create each ``(path, content, private)`` file, or none of them.

    No existing file is overwritten. Private files are created with mode
    0600, so no other user reads the key even for a moment. When one file
    cannot be created, the ones already written are removed, so no
    private key is left without its public half.
    """
    for path, _content, _private in files:
        if path.exists() or path.is_symlink():
            raise CommandError(f"{path} exists; choose another --kid.")
    written: list[Path] = []
    try:
        for path, content, private in files:
            _write_new_file(path, content, private=private)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _write_new_file(path: Path, content: str, *, private: bool) -> None:
    mode = 0o600 if private else 0o644
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise CommandError(f"{path} exists; choose another --kid.") from None
    except OSError as error:
        raise CommandError(f"Cannot create {path}: {error.strerror}.") from None
    with os.fdopen(descriptor, "w") as file:
        file.write(content)
