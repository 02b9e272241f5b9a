"""Inspection of signing keys: strength, fingerprints and key types.

Used by the system checks and the key management commands. Nothing here
signs or verifies tokens.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from .conf import FINGERPRINT_PREFIX

HMAC_ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
EDDSA_ALGORITHMS = frozenset({"EdDSA"})
ASYMMETRIC_ALGORITHMS = RSA_ALGORITHMS | frozenset(EC_ALGORITHMS) | EDDSA_ALGORITHMS
SUPPORTED_ALGORITHMS = frozenset(HMAC_ALGORITHMS) | ASYMMETRIC_ALGORITHMS

MIN_RSA_BITS = 2048
ALLOWED_EC_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})

# A key must carry at least 128 bits by the estimate below: the security
# strength NIST SP 800-57 Part 1 requires of symmetric keys protecting data past
# 2030. A key of 32 random bytes written as hex or base64 scores well above.
MIN_ESTIMATED_ENTROPY_BITS = 128

# A key with fewer distinct characters than this is not random: 32 random
# bytes written as hex use about 15 of 16 hex digits, as base64 about 30.
MIN_DISTINCT_CHARACTERS = 10

# A substring this long that occurs twice is a repeat, not chance: in 32
# random bytes written as hex (16 symbols), any one pair of 8-character
# substrings matches with probability 16**-8, about 2e-10.
MIN_REPEAT_LENGTH = 8

# Entries of Django's common-password list shorter than this are not
# looked for inside keys: short fragments occur by chance in random keys.
MIN_WORD_LENGTH = 3

# Words that people build signing keys from and that the password list
# ranks low or lacks. Each costs as much as a word of rank 1,000 would.
KEY_WORDS = frozenset(
    {
        "access", "api", "app", "auth", "dev", "django", "hmac", "jwt",
        "jwtsafe", "key", "prod", "production", "private", "refresh",
        "server", "service", "sign", "signing", "staging", "test", "the",
        "this", "token", "tokens", "is", "our", "your", "and", "with",
    }
)  # fmt: skip
KEY_WORD_RANK = 1000

# Digit and symbol substitutions undone before looking for words.
SUBSTITUTIONS = str.maketrans("013457@$!", "oieastasi")

# A run of at least this many characters with one step between neighbours
# ("abcdef", "98765") costs ``SEQUENCE_BITS``: its first character and its
# direction, whatever its length.
MIN_SEQUENCE_LENGTH = 4
SEQUENCE_BITS = 8.0

# The fingerprint is an HMAC under this public label, so two environments
# compute the same value for the same key and the value names only that key.
FINGERPRINT_LABEL = b"jwtsafe key fingerprint v1"

# Secrets published in JWT tutorials, library READMEs, sample projects and
# wordlists of tools that guess JWT keys. Compared case-insensitively.
PUBLISHED_SECRETS = frozenset(
    {
        "secret",
        "secretkey",
        "secret-key",
        "secret_key",
        "changeme",
        "change-me",
        "change_me",
        "changeit",
        "password",
        "your-256-bit-secret",
        "your-384-bit-secret",
        "your-512-bit-secret",
        "your-secret-key",
        "your_secret_key",
        "yoursecretkey",
        "my-secret-key",
        "my_secret_key",
        "mysecretkey",
        "mysecret",
        "supersecret",
        "super-secret",
        "super_secret",
        "supersecretkey",
        "shhhhh",
        "shhhhhhared-secret",
        "keyboard cat",
        "jwt_secret",
        "jwt-secret",
        "jwtsecret",
        "jwt_secret_key",
        "jwt-secret-key",
        "s3cr3t",
        "default",
        "hs256-secret",
        "qwertyuiopasdfghjklzxcvbnm123456",
        "a-string-secret-at-least-256-bits-long",
        "django-insecure",
        # The development key that jwtsafe's example project once shipped.
        "b2e38579273dbdbd694dbe3c8783c755eddcdecfa5ffbd0c8c5b97c693bd6a79",
    }
)
PUBLISHED_PREFIXES = ("django-insecure-",)


def key_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else key


def fingerprint(key: str | bytes) -> str:
    """Return a fingerprint that names ``key`` without revealing it.

    Asymmetric keys are fingerprinted by their public key, so a PEM file and
    its public half, however formatted, give the same value.
    """
    material = key_bytes(key)
    public = load_public_key_der(material)
    if public is not None:
        material = public
    digest = hmac.new(FINGERPRINT_LABEL, material, hashlib.sha256).hexdigest()
    return FINGERPRINT_PREFIX + digest[:32]


def is_published_secret(key: str | bytes) -> bool:
    text = key_bytes(key).decode("utf-8", "replace").strip().lower()
    return text in PUBLISHED_SECRETS or text.startswith(PUBLISHED_PREFIXES)


@lru_cache(maxsize=1)
def _word_ranks() -> dict[str, int]:
    """Return each alphabetic word of Django's common-password list with its rank.

    The list is ordered from the most common password down, so the rank
    bounds the guesses needed to find the word.
    """
    import django.contrib.auth

    path = Path(django.contrib.auth.__file__).parent / "common-passwords.txt.gz"
    ranks: dict[str, int] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for rank, line in enumerate(lines, start=1):
            word = line.strip().lower()
            if len(word) >= MIN_WORD_LENGTH and word.isalpha():
                ranks.setdefault(word, rank)
    for word in KEY_WORDS:
        ranks[word] = min(ranks.get(word, KEY_WORD_RANK), KEY_WORD_RANK)
    return ranks


def estimate_entropy_bits(key: str | bytes) -> float:
    """Estimate the entropy of ``key`` in bits.

    The key is split into the cheapest sequence of pieces, each with a cost:

    - a word of Django's common-password list, or of ``KEY_WORDS``, in any
      case and with digits for letters ("s3cr3t"): the base-2 logarithm of
      its rank, plus a bit for capitals and a bit for substitutions;
    - a run of neighbouring characters ("abcd", "4321"): ``SEQUENCE_BITS``;
    - any other character: its information content, ``log2(n / count)``
      for a key of n characters in which it occurs count times. Summed over
      every character this is the key's Shannon entropy from its own
      character frequencies, so a separator used often costs little.

    It is an estimate in the manner of zxcvbn: patterns it does not know,
    such as keyboard walks outside the list, count as random characters.
    """
    text = key_bytes(key).decode("latin-1")
    if not text:
        return 0.0
    counts = Counter(text)
    lower = text.lower()
    plain = lower.translate(SUBSTITUTIONS)
    ranks = _word_ranks()
    longest_word = 20

    # cost[i] is the cheapest estimate for text[i:].
    cost = [0.0] * (len(text) + 1)
    for start in range(len(text) - 1, -1, -1):
        best = math.log2(len(text) / counts[text[start]]) + cost[start + 1]
        for end in range(
            start + MIN_WORD_LENGTH, min(len(text), start + longest_word) + 1
        ):
            for candidate, substituted in ((lower, False), (plain, True)):
                rank = ranks.get(candidate[start:end])
                if rank is None:
                    continue
                bits = math.log2(rank + 1)
                if text[start:end] != lower[start:end]:
                    bits += 1
                if substituted and plain[start:end] != lower[start:end]:
                    bits += 1
                best = min(best, bits + cost[end])
        end = _sequence_end(text, start)
        if end - start >= MIN_SEQUENCE_LENGTH:
            best = min(best, SEQUENCE_BITS + cost[end])
        cost[start] = best
    return cost[0]


def _sequence_end(text: str, start: int) -> int:
    """Return the end of the run of neighbouring characters at ``start``."""
    if start + 1 >= len(text):
        return start + 1
    step = ord(text[start + 1]) - ord(text[start])
    if step not in (1, -1):
        return start + 1
    end = start + 1
    while end < len(text) and ord(text[end]) - ord(text[end - 1]) == step:
        end += 1
    return end


def weakness(key: str | bytes) -> str | None:
    """Return why ``key`` is guessable, or None when no rule finds a weakness."""
    data = key_bytes(key)
    if is_published_secret(data):
        return "it is a secret published in tutorials, samples or guessing lists"
    if len(set(data)) < MIN_DISTINCT_CHARACTERS:
        return f"it uses fewer than {MIN_DISTINCT_CHARACTERS} distinct characters"
    if _has_repeat(data):
        return f"it repeats a run of {MIN_REPEAT_LENGTH} or more characters"
    bits = estimate_entropy_bits(data)
    if bits < MIN_ESTIMATED_ENTROPY_BITS:
        return (
            f"its estimated entropy is {bits:.0f} bits, under the minimum of "
            f"{MIN_ESTIMATED_ENTROPY_BITS}"
        )
    return None


def _has_repeat(data: bytes) -> bool:
    seen = set()
    for start in range(len(data) - MIN_REPEAT_LENGTH + 1):
        piece = data[start : start + MIN_REPEAT_LENGTH]
        if piece in seen:
            return True
        seen.add(piece)
    return False


def looks_like_pem(key: str | bytes) -> bool:
    return key_bytes(key).lstrip().startswith(b"-----BEGIN")


@dataclass(frozen=True)
class AsymmetricKey:
    """The type, size and curve of a loaded PEM key."""

    kind: str  # "rsa", "ec", "ed25519", "ed448"
    is_private: bool
    rsa_bits: int | None = None
    curve: str | None = None


def inspect_pem(key: str | bytes) -> AsymmetricKey | None:
    """Return the type of a PEM key, or None when it does not load."""
    data = key_bytes(key)
    loaded: object
    is_private = True
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        is_private = False
        try:
            loaded = serialization.load_pem_public_key(data)
        except (ValueError, TypeError):
            return None
    if isinstance(loaded, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return AsymmetricKey("rsa", is_private, rsa_bits=loaded.key_size)
    if isinstance(loaded, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return AsymmetricKey("ec", is_private, curve=loaded.curve.name)
    if isinstance(loaded, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return AsymmetricKey("ed25519", is_private)
    if isinstance(loaded, (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        return AsymmetricKey("ed448", is_private)
    return AsymmetricKey("other", is_private)


def load_public_key_der(data: bytes) -> bytes | None:
    """Return the DER SubjectPublicKeyInfo of a PEM key, or None."""
    if not looks_like_pem(data):
        return None
    try:
        private = serialization.load_pem_private_key(data, password=None)
        public = private.public_key()
    except (ValueError, TypeError):
        try:
            public = serialization.load_pem_public_key(data)
        except (ValueError, TypeError):
            return None
    return public.public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )


def expected_kind(algorithm: str) -> str | None:
    """Return the key type an algorithm needs, or None for HMAC."""
    if algorithm in RSA_ALGORITHMS:
        return "rsa"
    if algorithm in EC_ALGORITHMS:
        return "ec"
    if algorithm in EDDSA_ALGORITHMS:
        return "ed25519"
    return None
