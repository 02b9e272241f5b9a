"""Inspection of signing keys: strength, fingerprints and key types.

Used by the system checks and the key management commands. Nothing here
signs or verifies tokens.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

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
# bytes written as hex use about 15 of 16 hex digits, as base64 about 30. A
# random 256-bit number in decimal misses one of its 10 digits about 3 times
# in 1,000, so the minimum is below 10.
MIN_DISTINCT_CHARACTERS = 8

# A substring this long that occurs twice is a repeat, not chance: in 32
# random bytes written as hex (16 symbols), any one pair of 10-character
# substrings matches with probability 16**-10, about 1e-12. At 8, about one
# hex key in 3 million failed.
MIN_REPEAT_LENGTH = 10

# Words that people build signing keys from, looked for beside zxcvbn's
# dictionaries of passwords, English words and names, at rank 1,000.
KEY_WORDS = (
    "access", "api", "app", "auth", "dev", "django", "hmac", "jwt",
    "jwtsafe", "key", "prod", "production", "private", "refresh", "server",
    "service", "sign", "signing", "staging", "secret", "token", "tokens",
)  # fmt: skip
KEY_WORD_RANK = 1000

# Digits that people copy from a reference instead of choosing: pi, e, the
# square root of 2 and the golden ratio, to 60 digits. A run of at least
# ``MIN_CONSTANT_DIGITS`` of their leading digits counts as one guess.
CONSTANT_DIGITS = (
    "314159265358979323846264338327950288419716939937510582097494",
    "271828182845904523536028747135266249775724709369995957496696",
    "141421356237309504880168872420969807856967187537694807317667",
    "161803398874989484820458683436563811772030917980576286213544",
)
MIN_CONSTANT_DIGITS = 8

# Only the first characters of a longer key are estimated: a key whose
# first 256 characters carry 128 bits is strong whatever follows. zxcvbn's
# matching of 128 random printable characters took seconds here, and of 64
# about 60 ms, so the key is matched in chunks of 64.
MAX_ESTIMATED_CHARACTERS = 256
CHUNK_CHARACTERS = 64

# Characters that cannot be seen but change a key: BOMs and zero-width marks.
INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060\u00ad"

# Letters from other scripts that look like Latin ones, folded to Latin
# before looking for words: "Асmе" in Cyrillic reads as "Acme".
LOOK_ALIKES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеіјосрхуѕԁһӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορτυχօեıɑԝԛ",
    "ABESIJKMHOPCTXYaeijocpxysdhlABEZHIKMNOPTYXaiknoptuxoeiawq",
)

# Patterns shorter than this are not used. zxcvbn charges at least 50
# guesses for any pattern, which makes two random characters look cheaper
# than they are, and a short word saves a person's key only a few bits.
MIN_MATCH_LENGTH = 3

# A key whose letters are at least this share dictionary words of at least
# PASSPHRASE_MIN_WORD letters, with at least PASSPHRASE_MIN_WORDS of them,
# is a passphrase. Random base64 and hex keys stay far below this share.
PASSPHRASE_WORD_SHARE = 0.75
PASSPHRASE_MIN_WORD = 3
PASSPHRASE_MIN_WORDS = 4
PASSPHRASE_MIN_LETTERS = 16

# zxcvbn's cardinality for characters outside ASCII.
NON_ASCII_CARDINALITY = 100

# Digests that people derive keys with, applied to a common word.
DIGESTS = (
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha3_256",
    "sha3_512",
    "blake2b",
    "blake2s",
)
# A key that is the digest of a guessable word costs this many bits: the
# word's guesses, which the password list bounds by 2**15, plus the choice
# of digest and encoding.
DIGEST_OF_WORD_BITS = 20.0

HEX = re.compile(r"[0-9a-fA-F]+")
# An OpenSSH public key type anywhere in the key, as in authorized_keys.
SSH_KEY_TYPE = re.compile(
    rb"(?:^|\s)(?:ssh-|ecdsa-sha2-|sk-ssh-|sk-ecdsa-)[\w@.-]+ AAAA"
)
BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")

# The fingerprint is an HMAC under this public label, so two environments
# compute the same value for the same key and the value names only that key.
FINGERPRINT_LABEL = b"jwtsafe key fingerprint v1"

# Secrets published in JWT tutorials, library READMEs, sample projects and
# wordlists of tools that guess JWT keys. Compared case-insensitively, and
# looked for inside longer keys at rank 1.
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
        "a-string-secret-at-least-256-bits-long",
        "a-valid-string-secret-that-is-at-least-256-bits-long",
        "a-valid-string-secret-that-is-at-least-384-bits-long",
        "a-valid-string-secret-that-is-at-least-512-bits-long-which-is-very-long",
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
        # The sample keys of the FastAPI and Spring Security JWT tutorials.
        "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
        "404e635266556a586e3272357538782f413f4428472b4b6250645367566b5970",
        "django-insecure",
        # The development key that jwtsafe's example project once shipped.
        "b2e38579273dbdbd694dbe3c8783c755eddcdecfa5ffbd0c8c5b97c693bd6a79",
    }
)
PUBLISHED_PREFIXES = ("django-insecure-",)


def key_bytes(key: str | bytes) -> bytes:
    """Return the bytes that PyJWT signs with, for ``key`` as str or bytes."""
    if isinstance(key, bytes):
        return key
    try:
        return key.encode("utf-8")
    except UnicodeEncodeError:
        # A str from os.environ contains lone surrogates for bytes that are
        # not UTF-8. The settings check reports that, so here any bytes do.
        return key.encode("utf-8", "surrogateescape" if _escaped(key) else "replace")


def _escaped(text: str) -> bool:
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def fingerprint(key: str | bytes) -> str:
    """Return a fingerprint that names ``key`` without revealing it.

    Asymmetric keys are fingerprinted by their public key, so a PEM file and
    its public half, however formatted, give the same value. Other keys lose
    surrounding whitespace and trailing NUL bytes first, so a key read from
    a file with its newline matches the key without it.
    """
    material = key_bytes(key)
    public = load_public_key_der(material)
    if public is not None:
        material = public
    else:
        cleaned = _clean_text(_key_text(material)).rstrip("\0")
        material = key_bytes(cleaned)
    digest = hmac.new(FINGERPRINT_LABEL, material, hashlib.sha256).hexdigest()
    return FINGERPRINT_PREFIX + digest[:32]


def same_secret(first: str | bytes, second: str | bytes, algorithm: str) -> bool:
    """Return whether two keys sign alike, or one contains the other.

    HMAC pads a key shorter than the hash block with zero bytes and hashes
    a longer one, so ``key`` and ``key + b"\\0"`` sign alike, as do a long
    key and its digest. A key that contains another of at least 16 bytes
    was derived from it, such as ``SECRET_KEY + "-jwt"``.
    """
    a, b = key_bytes(first), key_bytes(second)
    # A key read from a file may carry a newline that the other lacks.
    forms_a = _hmac_forms(a, algorithm) | _hmac_forms(a.strip(), algorithm)
    forms_b = _hmac_forms(b, algorithm) | _hmac_forms(b.strip(), algorithm)
    if forms_a & forms_b:
        return True
    a, b = a.strip(), b.strip()
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) >= 16 and shorter in longer:
        return True
    return any(
        longer in (digest.digest(), digest.hexdigest().encode())
        for digest in (hashlib.new(name, shorter) for name in DIGESTS)
    )


def _hmac_forms(key: bytes, algorithm: str) -> set[bytes]:
    """Return the padded forms under which HMAC uses ``key``."""
    hashes = {"HS256": ("sha256",), "HS384": ("sha384",), "HS512": ("sha512",)}
    forms = {key.rstrip(b"\0")}
    for name in hashes.get(algorithm, ("sha256", "sha384", "sha512")):
        digest = hashlib.new(name)
        if len(key) > digest.block_size:
            digest.update(key)
            forms.add(digest.digest().rstrip(b"\0"))
    return forms


def is_published_secret(key: str | bytes) -> bool:
    text = _clean_text(_key_text(key)).lower()
    return text in PUBLISHED_SECRETS or text.startswith(PUBLISHED_PREFIXES)


@lru_cache(maxsize=1)
def _dictionaries() -> dict[str, dict[str, int]]:
    """Return zxcvbn's ranked dictionaries with jwtsafe's own added."""
    from zxcvbn.matching import RANKED_DICTIONARIES

    published = {secret: 1 for secret in PUBLISHED_SECRETS}
    constants = {
        digits[:length]: 1
        for digits in CONSTANT_DIGITS
        for length in range(MIN_CONSTANT_DIGITS, len(digits) + 1)
    }
    return {
        **RANKED_DICTIONARIES,
        "jwtsafe_published": published,
        "jwtsafe_constants": constants,
        "jwtsafe_key_words": {word: KEY_WORD_RANK for word in KEY_WORDS},
    }


def estimate_entropy_bits(key: str | bytes) -> float:
    """Estimate the entropy of ``key`` in bits.

    The key, without surrounding whitespace, is split into the cheapest
    sequence of pieces, each with a cost in bits:

    - a pattern that zxcvbn finds costs the base-2 logarithm of zxcvbn's
      guesses. Patterns are words of its dictionaries, ``PUBLISHED_SECRETS``
      or ``KEY_WORDS`` (also reversed, or with digits for letters), keyboard
      walks, repeats, sequences, dates and the leading digits of pi;
    - any other letter or digit: the base-2 logarithm of the number of
      characters in the key's character classes (lower case, upper case,
      digits, symbols, other);
    - any other symbol: its information content, ``log2(n / count)`` in a
      key of n characters where it occurs count times, if that is less, so
      that a separator used often costs little.

    A key written as hex or base64 of text, or of a digest of a common word,
    scores as that text or word. It is an estimate in the manner of zxcvbn,
    which counts every character outside a pattern as random.
    """
    text = _clean_text(_key_text(key))[:MAX_ESTIMATED_CHARACTERS]
    if not text:
        return 0.0
    bits = _estimate_in_chunks(text)
    for decoded in _decodings(text):
        if _is_digest_of_common_word(decoded):
            return min(bits, DIGEST_OF_WORD_BITS)
        try:
            decoded_text = _clean_text(decoded.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        if decoded_text and decoded_text.isprintable():
            bits = min(bits, _estimate_in_chunks(decoded_text))
    return bits


def _is_passphrase(key: str | bytes) -> bool:
    """Return whether dictionary words make up most of the key's letters.

    The estimate charges each word by its rank alone, so a long sentence of
    common words scores as if its words were chosen at random. Grammar makes
    it far more predictable, which nothing here measures.
    """
    text = _clean_text(_key_text(key))[:MAX_ESTIMATED_CHARACTERS]
    letters = [index for index, character in enumerate(text) if character.isalpha()]
    if len(letters) < PASSPHRASE_MIN_LETTERS:
        return False
    covered: set[int] = set()
    words = 0
    for start in range(0, len(text), CHUNK_CHARACTERS):
        chunk = text[start : start + CHUNK_CHARACTERS]
        for match in _matches(_fold(chunk)):
            length = match["j"] - match["i"] + 1
            if match["pattern"] == "dictionary" and length >= PASSPHRASE_MIN_WORD:
                covered.update(range(start + match["i"], start + match["j"] + 1))
                words += 1
    share = len(covered.intersection(letters)) / len(letters)
    return words >= PASSPHRASE_MIN_WORDS and share >= PASSPHRASE_WORD_SHARE


@lru_cache(maxsize=64)
def _matches(folded: str) -> tuple[dict[str, Any], ...]:
    """Return zxcvbn's matches in ``folded``, shared by the two rules that use them.

    ``weakness()`` applies the passphrase rule and then the estimate to the
    same chunks, so each chunk is matched once.
    """
    from zxcvbn import matching

    return tuple(matching.omnimatch(folded, _dictionaries()))


def _fold(text: str) -> str:
    # Each character is normalised on its own, so that positions match.
    return "".join(
        (unicodedata.normalize("NFKC", character) or character)[0] for character in text
    ).translate(LOOK_ALIKES)


def _clean_text(text: str) -> str:
    """Remove what surrounds a key by accident: whitespace, BOMs and quotes."""
    return text.strip(INVISIBLE + " \t\r\n\x0b\x0c\xa0").strip("\"'").strip()


def _estimate_in_chunks(text: str) -> float:
    """Estimate ``text`` in chunks of ``CHUNK_CHARACTERS``, summing the bits.

    zxcvbn's matching slows down sharply with length, so a long key is
    estimated piece by piece. A pattern across two chunks is missed, which
    only makes such keys score higher.
    """
    return sum(
        _estimate_text_bits(text[start : start + CHUNK_CHARACTERS])
        for start in range(0, len(text), CHUNK_CHARACTERS)
    )


def _key_text(key: str | bytes) -> str:
    if isinstance(key, str):
        return key
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return key.decode("latin-1")


def _estimate_text_bits(text: str) -> float:
    from zxcvbn import scoring

    folded = _fold(text)
    matches = _matches(folded)

    counts = Counter(text)
    cardinality = _cardinality(text)
    ends: dict[int, list[tuple[int, float]]] = {}
    for match in matches:
        if match["j"] - match["i"] + 1 < MIN_MATCH_LENGTH:
            continue
        guesses = scoring.estimate_guesses(match, folded)
        ends.setdefault(match["i"], []).append((match["j"] + 1, math.log2(guesses)))

    # cost[i] is the cheapest estimate for text[i:].
    cost = [0.0] * (len(text) + 1)
    for start in range(len(text) - 1, -1, -1):
        character = text[start]
        single = math.log2(cardinality)
        if not character.isalnum():
            single = min(single, math.log2(len(text) / counts[character]))
        best = single + cost[start + 1]
        for end, bits in ends.get(start, ()):
            best = min(best, bits + cost[end])
        cost[start] = best
    return cost[0]


def _cardinality(text: str) -> int:
    size = 0
    if any(c.islower() and c.isascii() for c in text):
        size += 26
    if any(c.isupper() and c.isascii() for c in text):
        size += 26
    if any(c.isdigit() and c.isascii() for c in text):
        size += 10
    if any(c.isascii() and not c.isalnum() for c in text):
        size += 33
    if any(not c.isascii() for c in text):
        size += NON_ASCII_CARDINALITY
    return size


def _decodings(text: str) -> list[bytes]:
    """Return what ``text`` decodes to as hex and as base64, where it does.

    The forms that tools print are read too: ``sha256sum`` lines, a ``0x``
    prefix, bytes separated by colons or spaces, and base64 wrapped in lines.
    """
    compact = text.split("  ", 1)[0]  # "<digest>  -" from sha256sum
    compact = compact.removeprefix("0x").removeprefix("0X")
    compact = re.sub(r"[\s:]", "", compact)
    decoded = []
    if len(compact) >= 16 and HEX.fullmatch(compact) and len(compact) % 2 == 0:
        decoded.append(bytes.fromhex(compact))
    if len(compact) >= 16 and BASE64.fullmatch(compact):
        standard = compact.replace("-", "+").replace("_", "/")
        try:
            decoded.append(base64.b64decode(standard + "=" * (-len(standard) % 4)))
        except ValueError:
            pass
    # A digest written as hex, then encoded again as base64.
    for value in list(decoded):
        try:
            inner = value.decode("ascii")
        except UnicodeDecodeError:
            continue
        if HEX.fullmatch(inner) and len(inner) % 2 == 0:
            decoded.append(bytes.fromhex(inner))
    return decoded


@cache
def _common_word_digests(size: int) -> frozenset[bytes]:
    """Return the digests of ``size`` bytes of common words.

    The words are Django's common passwords, the published secrets and
    ``KEY_WORDS``. Built on first use for each size, from about 20,000 words.
    """
    import django.contrib.auth

    names = [name for name in DIGESTS if hashlib.new(name).digest_size == size]
    if not names:
        return frozenset()
    path = Path(django.contrib.auth.__file__).parent / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        words = {line.strip() for line in lines}
    words |= PUBLISHED_SECRETS | set(KEY_WORDS)
    # As typed: capitalised, and with the newline that "echo ... |" adds.
    inputs = {variant for word in words for variant in (word, word.capitalize())}
    inputs |= {value + "\n" for value in inputs}
    digests = set()
    for name in names:
        for value in inputs:
            digest = hashlib.new(name, value.encode()).digest()
            digests.add(digest)
            if name == "sha256":
                digests.add(hashlib.sha256(digest).digest())
    return frozenset(digests)


def _is_digest_of_common_word(data: bytes) -> bool:
    return data in _common_word_digests(len(data))


def weakness(key: str | bytes) -> str | None:
    """Return why ``key`` is guessable, or None when no rule finds a weakness."""
    data = key_bytes(key)
    if is_published_secret(data):
        return "it is a secret published in tutorials, samples or guessing lists"
    if len(set(data)) < MIN_DISTINCT_CHARACTERS:
        return f"it uses fewer than {MIN_DISTINCT_CHARACTERS} distinct characters"
    if _has_repeat(data):
        return f"it repeats a run of {MIN_REPEAT_LENGTH} or more characters"
    if _is_passphrase(data):
        return (
            "it is made of dictionary words, and sentences are far easier to "
            "guess than their length suggests"
        )
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
    """Return whether ``key`` holds a PEM block, after any comment or BOM."""
    return b"-----BEGIN " in key_bytes(key)


def is_encrypted_pem(key: str | bytes) -> bool:
    data = key_bytes(key)
    return looks_like_pem(data) and b"ENCRYPTED" in data


def is_public_key(key: str | bytes) -> bool:
    """Return whether ``key`` is a public key in a form other than PEM.

    An HMAC key that is a public key, as an OpenSSH line or blob, a JWK, or
    DER as raw bytes, base64 or hex, lets anyone who has the public key sign
    tokens.
    """
    data = key_bytes(key).strip()
    if SSH_KEY_TYPE.search(data):
        return True
    if data.startswith(b"{") and re.search(rb"[\"']kty[\"']", data):
        return True
    compact = re.sub(rb"\s", b"", data)
    candidates = [data]
    try:
        candidates.append(base64.b64decode(compact + b"=" * (-len(compact) % 4)))
    except ValueError:
        pass
    if HEX.fullmatch(compact.decode("latin-1")) and len(compact) % 2 == 0:
        candidates.append(bytes.fromhex(compact.decode("ascii")))
    for candidate in candidates:
        # The OpenSSH wire format starts with the length of its type name.
        if candidate.startswith(b"\x00\x00\x00") and b"ssh-" in candidate[:24]:
            return True
        try:
            serialization.load_der_public_key(candidate)
        except (ValueError, TypeError):
            continue
        return True
    return False


def is_key_pair(private: str | bytes, public: str | bytes) -> bool:
    """Return whether ``public`` is the public key of ``private``.

    True when either does not load, which other checks report.
    """
    private_der = load_public_key_der(key_bytes(private))
    public_der = load_public_key_der(key_bytes(public))
    if private_der is None or public_der is None:
        return True
    return private_der == public_der


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
