"""Property-based fuzzing of token authentication and the token views.

Hypothesis generates ``Authorization`` headers, cookies, token segments, JOSE
headers and claims, and sends them through DRF's ``APIClient`` to the test
project's views. Every request must end in 401 with a ``Bearer`` challenge,
or in the status that the docs give for an anonymous request or a CSRF
failure, and never in a server error or an exception.

Tokens built from a genuine login are changed and re-signed with the test
key, so that the claim, session and version checks after the signature are
reached, not only the parser. Such a token may still be valid. An accepted
one must then pass every check that docs/tokens.md lists, as
``passes_documented_checks`` models them.

Runs:

- Default: a short run with a fixed seed (``derandomize``), for CI.
- ``JWTSAFE_FUZZ_EXAMPLES=8000 pytest tests/test_fuzz.py``: a random run of
  that many examples per test, which prints the number of examples run.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.http.cookie import parse_cookie
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from jwtsafe.conf import ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE
from jwtsafe.sessions import parse_subject
from jwtsafe.tokens import TokenError, verify_token
from tests.conftest import b64url, login, sign_raw, split_token
from tests.test_attacks import assert_rejected

# Hypothesis profiles

EXAMPLES_VARIABLE = "JWTSAFE_FUZZ_EXAMPLES"
SHORT_PROFILE = "jwtsafe-fuzz-short"
LONG_PROFILE = "jwtsafe-fuzz-long"

# The fixtures (database, user, login) are set up once per test and shared
# by its examples on purpose, so the function-scoped fixture check is off.
# The per-example deadline is off too, because a slow first request would
# otherwise fail as flaky.
hypothesis_settings.register_profile(
    SHORT_PROFILE,
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
hypothesis_settings.register_profile(
    LONG_PROFILE,
    parent=hypothesis_settings.get_profile(SHORT_PROFILE),
    max_examples=int(os.environ.get(EXAMPLES_VARIABLE) or 1),
    derandomize=False,
)
LONG_RUN = bool(os.environ.get(EXAMPLES_VARIABLE))
# Applied to each test, not loaded globally, so other test files keep
# Hypothesis's defaults.
FUZZ = hypothesis_settings.get_profile(LONG_PROFILE if LONG_RUN else SHORT_PROFILE)

# Examples run per test, replays during shrinking included.
EXAMPLES_RUN: Counter[str] = Counter()


def count_example(test_name: str) -> None:
    EXAMPLES_RUN[test_name] += 1


@pytest.fixture(scope="module", autouse=True)
def example_summary(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the number of examples each test ran, at the end of a long run."""
    started = time.monotonic()
    yield
    if not LONG_RUN:
        return
    elapsed = time.monotonic() - started
    per_test = ", ".join(
        f"{name}={count}" for name, count in sorted(EXAMPLES_RUN.items())
    )
    line = (
        f"jwtsafe fuzz: {sum(EXAMPLES_RUN.values())} examples run in "
        f"{elapsed:.1f} s ({per_test})"
    )
    # Output capture is on during fixture teardown, so it is paused for
    # the line to reach the terminal.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}", flush=True)


# Settings and constants from the test project

ISSUER = django_settings.JWTSAFE["ISSUER"]
AUDIENCE = django_settings.JWTSAFE["AUDIENCE"]
LEEWAY_SECONDS = django_settings.JWTSAFE["LEEWAY"].total_seconds()
LIFETIME_SECONDS = {
    ACCESS_TOKEN_TYPE: django_settings.JWTSAFE["ACCESS_TOKEN_LIFETIME"].total_seconds(),
    REFRESH_TOKEN_TYPE: django_settings.JWTSAFE[
        "REFRESH_TOKEN_LIFETIME"
    ].total_seconds(),
}
TOKEN_USE = {ACCESS_TOKEN_TYPE: "access", REFRESH_TOKEN_TYPE: "refresh"}
# The default of MAX_TOKEN_BYTES, which the test settings leave unset.
MAX_TOKEN_BYTES = 8192
ACCESS_COOKIE = "jwtsafe_access"
REFRESH_COOKIE = "jwtsafe_refresh"
CSRF_COOKIE = "csrftoken"
# A CSRF secret as Django writes one: 32 letters and digits.
CSRF_SECRET = "FuzzCsrfSecret0123456789abcdefgh"

INVALID_TOKEN_CHALLENGE = 'Bearer realm="api", error="invalid_token"'
PLAIN_CHALLENGE = 'Bearer realm="api"'
INVALID_TOKEN_BODY = {"detail": "Invalid or expired token."}

# The header parameters that docs/tokens.md lists as rejected under any
# signature, with the JWE parameters.
REJECTED_HEADER_PARAMETERS = (
    "jku",
    "jwk",
    "x5u",
    "x5c",
    "x5t",
    "x5t#S256",
    "cty",
    "crit",
    "b64",
    "zip",
    "enc",
    "epk",
    "apu",
    "apv",
    "iv",
    "tag",
    "p2s",
    "p2c",
)
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "ver")
STRING_CLAIMS = ("iss", "sub", "jti", "sid", "token_use")
TIME_CLAIMS = ("iat", "nbf", "exp")
# An auth-scheme is an RFC 9110 token: a run of "tchar" characters.
AUTH_SCHEME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), RFC 6749 section 3.3.
SCOPE_LIST = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
CANONICAL_UUID_HEX = re.compile(r"[0-9a-f]{32}")


# Requests


@dataclass
class GenuineTokens:
    """The fuzzed user's current genuine tokens, replaced when one is used up."""

    client: APIClient
    user: Any
    access: str
    refresh: str

    def renew(self) -> None:
        pair = login(self.client, self.user)
        self.access = pair["access"]
        self.refresh = pair["refresh"]


@pytest.fixture
def no_login_throttle(settings: Any) -> None:
    # Tests log in again after a fuzzed token ends the session, far more often
    # than the default rate of 5 logins a minute per username allows.
    settings.JWTSAFE = {
        **settings.JWTSAFE,
        "LOGIN_THROTTLE_RATES": {"ip": None, "username": None},
    }


@pytest.fixture
def fuzz_client(db: Any) -> APIClient:
    return APIClient(raise_request_exception=False)


@pytest.fixture
def csrf_client(db: Any) -> APIClient:
    return APIClient(raise_request_exception=False, enforce_csrf_checks=True)


@pytest.fixture
def genuine(no_login_throttle: None, user: Any) -> GenuineTokens:
    client = APIClient()
    pair = login(client, user)
    return GenuineTokens(client, user, pair["access"], pair["refresh"])


def send(client: APIClient, method: str, path: str, **extra: Any) -> Any:
    """Send a request and assert that the view neither failed nor raised."""
    response = getattr(client, method)(path, **extra)
    assert response.exc_info is None, repr(response.exc_info[1])
    assert response.status_code < 500, response.content[:300]
    return response


def assert_invalid_token(response: Any) -> None:
    """Assert the documented response to rejected Bearer credentials."""
    assert_rejected(response)
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    assert response.json() == INVALID_TOKEN_BODY


def assert_plain_challenge(response: Any) -> None:
    """Assert the documented response to a request without credentials."""
    assert_rejected(response)
    assert response["WWW-Authenticate"] == PLAIN_CHALLENGE


def assert_cookie_rejected(response: Any) -> None:
    """Assert 401 after a failed access cookie, which makes a request anonymous."""
    assert_rejected(response)
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE


def wsgi_text(text: str) -> str:
    """Return ``text`` as a WSGI server puts header bytes into ``environ``.

    PEP 3333 servers decode header bytes as ISO-8859-1, so a lone surrogate
    or any other character arrives as the bytes of its UTF-8 encoding.
    """
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def cookie_header(**cookies: str) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


# JSON text, including text that json.dumps never writes

# Every code point. Hypothesis's default alphabet excludes lone surrogates
# (category Cs).
ANY_CHARACTER = st.characters(exclude_categories=())


def any_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=ANY_CHARACTER, max_size=max_size)


def json_string(text: str, ascii_only: bool) -> str:
    # ensure_ascii=True writes a lone surrogate as a "\ud800" escape. With
    # False it stays a character, and encoding makes it invalid UTF-8 bytes.
    return json.dumps(text, ensure_ascii=ascii_only)


json_strings = st.builds(json_string, any_text(40), st.booleans())
json_numbers = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(
        [
            "0",
            "-0",
            "1e400",
            "-1e400",
            "1E2",
            "9007199254740993",
            "-9007199254740993",
            "1" * 400,
            "0.5",
            "-1.5e-300",
            "1.0",
        ]
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
json_scalars = st.one_of(
    st.sampled_from(["null", "true", "false", "NaN", "Infinity", "-Infinity"]),
    json_numbers,
    json_strings,
)


def json_object_text(members: list[tuple[str, str]]) -> str:
    body = ",".join(f"{name}:{value}" for name, value in members)
    return "{" + body + "}"


def json_texts() -> st.SearchStrategy[str]:
    """Return JSON text of any type and depth. Object names may repeat."""
    return st.recursive(
        json_scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4).map(
                lambda items: "[" + ",".join(items) + "]"
            ),
            st.lists(st.tuples(json_strings, children), max_size=4).map(
                json_object_text
            ),
        ),
        max_leaves=12,
    )


# Token strings that never verify

BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NEAR_BASE64 = BASE64URL + "+/=. "


def encode_segment(data: bytes, style: str) -> str:
    """Encode a token segment canonically or in one of the rejected spellings."""
    canonical = b64url(data)
    if style == "padded":
        return canonical + "=" * (-len(canonical) % 4)
    if style == "standard":
        return canonical.replace("-", "+").replace("_", "/")
    if style == "trailing bits" and canonical and len(canonical) % 4:
        # The unused low bits of the last character are not zero.
        last = BASE64URL.index(canonical[-1])
        return canonical[:-1] + BASE64URL[(last + 1) % 64]
    return canonical


SEGMENT_STYLES = st.sampled_from(
    ["canonical", "canonical", "padded", "standard", "trailing bits"]
)

# The same JSON text in encodings that docs/tokens.md lists as rejected.
TEXT_ENCODINGS: dict[str, Callable[[str], bytes]] = {
    "utf-8": lambda text: text.encode("utf-8", "surrogatepass"),
    "utf-8 with BOM": lambda text: (
        b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    ),
    "utf-16": lambda text: text.encode("utf-16", "surrogatepass"),
    "utf-32": lambda text: text.encode("utf-32", "surrogatepass"),
    "trailing bytes": lambda text: text.encode("utf-8", "surrogatepass") + b"x",
}
ENCODING_NAMES = st.sampled_from(["utf-8"] * 6 + sorted(TEXT_ENCODINGS))

json_segment_bytes = st.builds(
    lambda text, encoding: TEXT_ENCODINGS[encoding](text), json_texts(), ENCODING_NAMES
)
segment_bytes = st.one_of(json_segment_bytes, st.binary(max_size=80))
segments = st.one_of(
    st.builds(encode_segment, segment_bytes, SEGMENT_STYLES),
    st.text(alphabet=NEAR_BASE64, max_size=60),
    st.just(""),
)


def sign_with_test_key(header: str, payload: str) -> str:
    return sign_raw(header, payload)


def near_limit_token(length: int) -> str:
    """Return a token of about ``length`` characters, signed with the test key."""
    header = b64url(b'{"alg":"HS256","typ":"at+jwt"}')
    filler = "A" * max(length - len(header) - 45, 1)
    return sign_with_test_key(header, filler)


token_strings = st.one_of(
    # Arbitrary text, including NUL and lone surrogates.
    any_text(120),
    st.text(alphabet=NEAR_BASE64, max_size=200),
    # Zero to six segments, each canonical, padded, re-spelled or junk.
    st.lists(segments, max_size=6).map(".".join),
    # Three segments, the last a valid signature over the first two.
    st.builds(sign_with_test_key, segments, segments),
    # Around the 8 KB limit, where the size check and the parser meet.
    st.integers(MAX_TOKEN_BYTES - 64, MAX_TOKEN_BYTES + 128).map(near_limit_token),
    st.integers(MAX_TOKEN_BYTES - 8, MAX_TOKEN_BYTES + 72).map(lambda n: "A" * n),
)


# Genuine tokens, changed and re-signed with the test key


@dataclass(frozen=True)
class RelativeTime:
    """A time claim ``offset`` seconds from the moment the token is built."""

    offset: float


@dataclass(frozen=True)
class TextEdit:
    """A change to the genuine value of a string member, such as a case change."""

    name: str
    edit: Callable[[str], str]


def with_cyrillic_a(text: str) -> str:
    return text.replace("a", "\u0430", 1)


TEXT_EDITS = [
    TextEdit("upper", str.upper),
    TextEdit("title", str.title),
    TextEdit("leading space", lambda text: " " + text),
    TextEdit("trailing space", lambda text: text + " "),
    TextEdit("trailing NUL", lambda text: text + "\x00"),
    TextEdit("trailing slash", lambda text: text + "/"),
    TextEdit("cyrillic a", with_cyrillic_a),
    TextEdit("last character dropped", lambda text: text[:-1]),
    TextEdit("zero prefix", lambda text: "0" + text),
    TextEdit("plus prefix", lambda text: "+" + text),
    TextEdit("lone surrogate", lambda text: text + "\ud800"),
    TextEdit("fullwidth", lambda text: text.translate({0x37: 0xFF17, 0x61: 0xFF41})),
    TextEdit("unchanged", lambda text: text),
]

relative_times = st.builds(
    RelativeTime,
    st.one_of(
        st.integers(-400, 400),
        st.integers(-(2**40), 2**40),
        st.floats(-1e6, 1e6, allow_nan=False),
        st.sampled_from([-LEEWAY_SECONDS, LEEWAY_SECONDS, 300, 301, 86400, 86401]),
    ),
)
audience_texts = st.sampled_from(
    [
        json.dumps(AUDIENCE),
        json.dumps([AUDIENCE]),
        json.dumps(["https://other.test", AUDIENCE]),
        json.dumps([AUDIENCE, 1]),
        json.dumps([]),
        json.dumps([[AUDIENCE]]),
        json.dumps({"aud": AUDIENCE}),
    ]
)
claim_values = {
    "alg": st.sampled_from(
        ["HS256", "hs256", "HS256 ", "HS384", "HS512", "none", "RS256", "ES256", ""]
    ).map(json.dumps),
    "typ": st.sampled_from(
        [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+Jwt",
            "refresh+jwt",
            "application/refresh+jwt",
            "JWT",
            "at+jwt\x00",
            "",
        ]
    ).map(json.dumps),
    "kid": st.one_of(
        json_strings, st.sampled_from(['"default"', '"../../etc/passwd"'])
    ),
    "aud": audience_texts,
    "token_use": st.sampled_from(['"access"', '"refresh"', '"ACCESS"', '"id"']),
    "ver": st.sampled_from(
        ["0", "1", "-1", "2", "1.0", "true", '"0"', "18446744073709551616"]
    ),
    "scope": st.one_of(
        st.sampled_from(
            ['""', '"a"', '"a b"', '"a  b"', '" a"', '"a\\"b"', '"\\u00e9"']
        ),
        st.text(alphabet='ab :\\"\x7f', max_size=8).map(json.dumps),
    ),
}
HEADER_NAMES = ["alg", "typ", "kid", *REJECTED_HEADER_PARAMETERS, "x-custom"]
# The names that member_changes draws most often come first.
CLAIM_NAMES = [
    "exp",
    "iat",
    "nbf",
    "iss",
    "aud",
    "sub",
    "jti",
    "sid",
    "ver",
    "token_use",
    "scope",
    "is_superuser",
    "role",
]


@st.composite
def member_values(draw: Any, name: str) -> Any:
    """Draw a value for member ``name``: any JSON, an edit or a near-valid value.

    Three draws in four keep the value close to a valid one, so that most
    tokens reach the checks after the signature.
    """
    choice = draw(st.sampled_from(["json", "edit", "near-valid", "near-valid"]))
    if choice == "json":
        return draw(json_texts())
    if choice == "edit" or (name not in TIME_CLAIMS and name not in claim_values):
        return draw(st.sampled_from(TEXT_EDITS))
    if name in TIME_CLAIMS:
        return draw(relative_times)
    return draw(claim_values[name])


@st.composite
def member_changes(draw: Any, names: list[str]) -> tuple[str, str, Any]:
    """Draw one change to a JSON object: set, remove or duplicate a member.

    The first three of ``names`` are drawn most often.
    """
    kind = draw(st.sampled_from(["first three"] * 3 + ["listed"] * 3 + ["any"]))
    if kind == "any":
        name = draw(any_text(6))
    elif kind == "listed":
        name = draw(st.sampled_from(names))
    else:
        name = draw(st.sampled_from(names[:3]))
    operation = draw(st.sampled_from(["set"] * 6 + ["remove", "duplicate"]))
    value = None if operation == "remove" else draw(member_values(name))
    return operation, name, value


@dataclass(frozen=True)
class Mutation:
    """Changes to the JOSE header and claims of a genuine token, and their encoding."""

    header_changes: tuple[tuple[str, str, Any], ...]
    claim_changes: tuple[tuple[str, str, Any], ...]
    header_encoding: str
    payload_encoding: str
    header_style: str
    payload_style: str
    # Characters of an unregistered "pad" claim, or 0 for none.
    padding: int


# A "pad" claim of this many characters brings a genuine token, about 450
# characters, to within about 200 of the size limit: base64url writes 4
# characters for every 3 bytes.
NEAR_LIMIT_PADDING = (MAX_TOKEN_BYTES - 450) * 3 // 4

# Most mutated tokens keep UTF-8, canonical segments and their size, so
# that the claim checks run; the rest reach the form and size checks.
MUTATION_ENCODINGS = st.sampled_from(["utf-8"] * 20 + sorted(TEXT_ENCODINGS))
MUTATION_STYLES = st.sampled_from(
    ["canonical"] * 20 + ["padded", "standard", "trailing bits"]
)
MUTATION_PADDING = st.sampled_from([False] * 7 + [True]).flatmap(
    lambda near_limit: (
        st.integers(NEAR_LIMIT_PADDING - 150, NEAR_LIMIT_PADDING + 150)
        if near_limit
        else st.just(0)
    )
)
# Two tokens in three keep the genuine header, which the claim checks need.
HEADER_CHANGE_COUNTS = st.sampled_from([0, 0, 0, 0, 1, 2])

mutations = st.builds(
    Mutation,
    HEADER_CHANGE_COUNTS.flatmap(
        lambda count: st.lists(
            member_changes(HEADER_NAMES), min_size=count, max_size=count
        ).map(tuple)
    ),
    st.lists(member_changes(CLAIM_NAMES), min_size=1, max_size=3).map(tuple),
    MUTATION_ENCODINGS,
    MUTATION_ENCODINGS,
    MUTATION_STYLES,
    MUTATION_STYLES,
    MUTATION_PADDING,
)


def render_value(value: Any, original: Any, now: int) -> str:
    """Return member JSON text for a drawn value, given the genuine value."""
    if isinstance(value, RelativeTime):
        return json.dumps(now + value.offset)
    if isinstance(value, TextEdit):
        base = original if isinstance(original, str) else json.dumps(original)
        return json.dumps(value.edit(base))
    return str(value)


def apply_changes(
    members: dict[str, Any], changes: tuple[tuple[str, str, Any], ...], now: int
) -> list[tuple[str, str]]:
    """Return ``members`` as (JSON name, JSON value) text pairs after ``changes``."""
    pairs = [(json.dumps(name), json.dumps(value)) for name, value in members.items()]
    for operation, name, value in changes:
        quoted = json.dumps(name)
        if operation == "remove":
            pairs = [pair for pair in pairs if pair[0] != quoted]
            continue
        text = render_value(value, members.get(name), now)
        if operation == "duplicate" or all(pair[0] != quoted for pair in pairs):
            pairs.append((quoted, text))
        else:
            pairs = [(n, text if n == quoted else v) for n, v in pairs]
    return pairs


def fresh_claims(token: str, token_type: str, now: int) -> tuple[dict, dict]:
    """Return a genuine token's header and claims with current times.

    Re-signed, these are valid for the same session, so a long run never
    reaches only the expiry check.
    """
    header, claims = split_token(token)
    claims.update(
        {"iat": now, "nbf": now, "exp": now + int(LIFETIME_SECONDS[token_type])}
    )
    return header, claims


@dataclass(frozen=True)
class BuiltToken:
    token: str
    header_text: str
    payload_text: str
    base_claims: dict[str, Any]


def build_mutated(genuine: str, token_type: str, mutation: Mutation) -> BuiltToken:
    """Change a genuine token as ``mutation`` describes and re-sign it.

    The signature is HS256 with the test project's signing key.
    """
    now = int(time.time())
    header, claims = fresh_claims(genuine, token_type, now)
    header_text = json_object_text(apply_changes(header, mutation.header_changes, now))
    payload_pairs = apply_changes(claims, mutation.claim_changes, now)
    if mutation.padding:
        payload_pairs.append(('"pad"', json.dumps("p" * mutation.padding)))
    payload_text = json_object_text(payload_pairs)
    header_segment = encode_segment(
        TEXT_ENCODINGS[mutation.header_encoding](header_text), mutation.header_style
    )
    payload_segment = encode_segment(
        TEXT_ENCODINGS[mutation.payload_encoding](payload_text), mutation.payload_style
    )
    return BuiltToken(
        sign_with_test_key(header_segment, payload_segment),
        header_text,
        payload_text,
        claims,
    )


# A model of docs/tokens.md, used to check tokens that the server accepted


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("duplicate member name")
    return dict(pairs)


def parse_strict_json(text: str) -> Any:
    """Parse JSON as docs/tokens.md requires, or return None when it is invalid."""
    try:
        text.encode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        return None
    return value


def canonical_segment(text: str) -> str:
    return b64url(text.encode("utf-8", "surrogatepass"))


def is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return value == value and abs(value) != float("inf")


def passes_documented_checks(
    built: BuiltToken,
    token_type: str,
    *,
    sent_at: float,
    answered_at: float,
) -> bool:
    """Return whether an accepted token passes every check docs/tokens.md lists.

    Times are checked in the server's favour: ``exp`` against the time the
    request was sent, ``nbf`` and ``iat`` against the time the response arrived.
    """
    if len(built.token) > MAX_TOKEN_BYTES:
        return False
    # Padding, the standard alphabet, non-zero unused bits and encodings other
    # than UTF-8 change the segments, but some styles leave a segment unchanged.
    header_segment, payload_segment, _ = built.token.split(".")
    if header_segment != canonical_segment(built.header_text):
        return False
    if payload_segment != canonical_segment(built.payload_text):
        return False
    header = parse_strict_json(built.header_text)
    claims = parse_strict_json(built.payload_text)
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return False

    if header.get("alg") != "HS256" or "kid" in header:
        return False
    token_types = (token_type, f"application/{token_type}")
    if (
        not isinstance(header.get("typ"), str)
        or header["typ"].lower() not in token_types
    ):
        return False
    if any(name in header for name in REJECTED_HEADER_PARAMETERS):
        return False

    if any(name not in claims for name in (*REQUIRED_CLAIMS, "token_use")):
        return False
    if not all(
        isinstance(claims[name], str) and claims[name] for name in STRING_CLAIMS
    ):
        return False
    if not all(is_number(claims[name]) for name in TIME_CLAIMS):
        return False
    audience = claims["aud"]
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or AUDIENCE not in audiences:
        return False
    if not all(isinstance(item, str) for item in audiences):
        return False
    version = claims["ver"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        return False
    if "scope" in claims and not (
        isinstance(claims["scope"], str) and SCOPE_LIST.fullmatch(claims["scope"])
    ):
        return False

    if claims["iss"] != ISSUER or claims["token_use"] != TOKEN_USE[token_type]:
        return False
    if claims["exp"] <= sent_at - LEEWAY_SECONDS:
        return False
    if claims["nbf"] > answered_at + LEEWAY_SECONDS:
        return False
    if claims["iat"] > answered_at + LEEWAY_SECONDS:
        return False
    if claims["exp"] - claims["iat"] > LIFETIME_SECONDS[token_type]:
        return False
    if not all(CANONICAL_UUID_HEX.fullmatch(claims[name]) for name in ("jti", "sid")):
        return False

    # The session checks: the same user, session and session version.
    base = built.base_claims
    return all(claims[name] == base[name] for name in ("sub", "sid", "ver"))


def assert_accepted_token_valid(
    response: Any,
    built: BuiltToken,
    token_type: str,
    sent_at: float,
) -> None:
    assert passes_documented_checks(
        built,
        token_type,
        sent_at=sent_at,
        answered_at=time.time(),
    ), (response.status_code, built.header_text, built.payload_text)


# Unit level: verify_token raises TokenError and nothing else


@FUZZ
@given(token=st.one_of(token_strings, any_text(10_000)))
def test_verify_token_raises_only_token_error(token):
    count_example("verify_token")
    for token_type in (ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE):
        with pytest.raises(TokenError):
            verify_token(token, token_type)


@FUZZ
@given(
    subject=st.one_of(
        any_text(30),
        st.integers().map(str),
        st.uuids().map(str),
        st.text(alphabet="0123456789-+ \u0660\u0667\uff17", max_size=25),
    )
)
def test_parse_subject_canonical_or_token_error(db, subject):
    count_example("parse_subject")
    try:
        value = parse_subject(subject)
    except TokenError:
        return
    assert str(value) == subject


# Header authentication

SCHEMES = st.sampled_from(
    ["Bearer", "bearer", "BEARER", "BeArEr", "Basic", "Token", "JWT", "Bearer2", ""]
)
SEPARATORS = st.sampled_from([" ", "  ", "\t", "", ",", " \x00", "\u00a0", " \r\n "])


def expected_header_outcome(header: str, valid_token: str) -> str:
    """Return "anonymous", "accepted" or "rejected" for an Authorization value.

    Follows docs/tokens.md: another scheme is left anonymous, and Bearer
    takes one or more spaces and then the token, with nothing after it.
    """
    scheme = AUTH_SCHEME.match(header)
    if scheme is None or scheme.group().lower() != "bearer":
        return "anonymous"
    if re.fullmatch(" +" + re.escape(valid_token), header[scheme.end() :]):
        return "accepted"
    return "rejected"


def assert_whoami_outcome(response: Any, expected: str, user: Any) -> None:
    if expected == "accepted":
        assert response.status_code == 200, response.content[:300]
        assert response.json() == {"user": str(user.pk)}
    elif expected == "anonymous":
        assert_plain_challenge(response)
    else:
        assert_invalid_token(response)


@FUZZ
@given(
    header=st.one_of(
        any_text(200).map(wsgi_text),
        st.tuples(
            SCHEMES,
            SEPARATORS,
            st.one_of(token_strings, st.just("GENUINE")),
            st.sampled_from(["", "", " ", ",x", "\t", "=", "=="]),
        ),
    )
)
def test_authorization_header_rejected(fuzz_client, genuine, header):
    count_example("authorization header")
    if isinstance(header, tuple):
        scheme, separator, token, trailer = header
        token = genuine.access if token == "GENUINE" else token
        header = wsgi_text(scheme + separator + token + trailer)
    response = send(fuzz_client, "get", "/whoami/", HTTP_AUTHORIZATION=header)
    expected = expected_header_outcome(header, genuine.access)
    assert_whoami_outcome(response, expected, genuine.user)


@FUZZ
@given(mutation=mutations, scheme=st.sampled_from(["Bearer ", "bearer  "]))
def test_resigned_access_token_on_whoami(fuzz_client, genuine, mutation, scheme):
    count_example("re-signed access token, /whoami/")
    built = build_mutated(genuine.access, ACCESS_TOKEN_TYPE, mutation)
    sent_at = time.time()
    response = send(
        fuzz_client, "get", "/whoami/", HTTP_AUTHORIZATION=scheme + built.token
    )
    if response.status_code == 200:
        assert response.json() == {"user": str(genuine.user.pk)}
        assert_accepted_token_valid(response, built, ACCESS_TOKEN_TYPE, sent_at)
    else:
        assert_invalid_token(response)


@FUZZ
@given(mutation=mutations)
def test_resigned_access_token_on_logout(fuzz_client, genuine, mutation):
    count_example("re-signed access token, /auth/logout/")
    built = build_mutated(genuine.access, ACCESS_TOKEN_TYPE, mutation)
    sent_at = time.time()
    response = send(
        fuzz_client, "post", "/auth/logout/", HTTP_AUTHORIZATION="Bearer " + built.token
    )
    if response.status_code == 204:
        assert_accepted_token_valid(response, built, ACCESS_TOKEN_TYPE, sent_at)
        genuine.renew()
    else:
        assert_invalid_token(response)


@FUZZ
@given(
    token=token_strings, path=st.sampled_from(["/auth/logout/", "/auth/logout-all/"])
)
def test_logout_with_fuzzed_token_rejected(fuzz_client, genuine, token, path):
    count_example("fuzzed token, header logout")
    header = wsgi_text("Bearer " + token)
    response = send(fuzz_client, "post", path, HTTP_AUTHORIZATION=header)
    if expected_header_outcome(header, genuine.access) == "anonymous":
        assert_plain_challenge(response)
    else:
        assert_invalid_token(response)


# The refresh view in header mode, with the token in a JSON body


def expected_refresh_status(body: bytes) -> int:
    """Return 400 for a body without a "refresh" member, else 401.

    DRF's JSON parser rejects invalid UTF-8, ``NaN`` and ``Infinity``, and
    the last of duplicate member names wins.
    """
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeError, ValueError, RecursionError):
        return 400
    if isinstance(data, dict) and "refresh" in data:
        return 401
    return 400


@FUZZ
@given(
    body=st.one_of(
        st.builds(
            lambda token: json.dumps({"refresh": token}).encode(),
            st.one_of(token_strings, any_text(60)),
        ),
        # "refresh" of every JSON type, beside other and repeated members.
        st.builds(
            lambda members: json_object_text(members).encode("utf-8", "surrogatepass"),
            st.lists(
                st.tuples(
                    st.sampled_from(['"refresh"', '"access"', '"x"']), json_texts()
                ),
                max_size=4,
            ),
        ),
        json_segment_bytes,
        st.binary(max_size=60),
    )
)
def test_refresh_body_rejected(fuzz_client, genuine, body):
    count_example("refresh body")
    response = send(
        fuzz_client,
        "post",
        "/auth/refresh/",
        data=body,
        content_type="application/json",
    )
    expected = expected_refresh_status(body)
    assert response.status_code == expected, (body[:200], response.content[:300])
    if expected == 401:
        assert_invalid_token(response)


@FUZZ
@given(mutation=mutations)
def test_resigned_refresh_token(fuzz_client, genuine, mutation):
    count_example("re-signed refresh token, /auth/refresh/")
    built = build_mutated(genuine.refresh, REFRESH_TOKEN_TYPE, mutation)
    sent_at = time.time()
    response = send(
        fuzz_client,
        "post",
        "/auth/refresh/",
        data={"refresh": built.token},
        format="json",
    )
    if response.status_code == 200:
        assert_accepted_token_valid(response, built, REFRESH_TOKEN_TYPE, sent_at)
        # The refresh token is used up and the next one belongs to the
        # same session.
        genuine.access = response.json()["access"]
        genuine.refresh = response.json()["refresh"]
    else:
        assert_invalid_token(response)


# Cookie authentication


@FUZZ
@given(
    cookie=st.one_of(
        any_text(200).map(wsgi_text),
        token_strings.map(lambda token: cookie_header(jwtsafe_access=wsgi_text(token))),
    ),
    path=st.sampled_from(["/cookie-whoami/", "/public/", "/web/auth/logout-all/"]),
)
def test_fuzzed_access_cookie_rejected(fuzz_client, genuine, cookie, path):
    count_example("fuzzed access cookie")
    method = "post" if path.startswith("/web/") else "get"
    response = send(fuzz_client, method, path, HTTP_COOKIE=cookie)
    if path == "/public/":
        # A failed cookie makes the request anonymous, and the view is open.
        assert response.status_code == 200
        assert response.json() == {"authenticated": False}
        return
    assert_rejected(response)
    if parse_cookie(cookie).get(ACCESS_COOKIE):
        assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    else:
        assert response["WWW-Authenticate"] == PLAIN_CHALLENGE


@FUZZ
@given(mutation=mutations, method=st.sampled_from(["get", "post"]))
def test_resigned_access_cookie(csrf_client, genuine, mutation, method):
    count_example("re-signed access cookie, /cookie-whoami/")
    built = build_mutated(genuine.access, ACCESS_TOKEN_TYPE, mutation)
    sent_at = time.time()
    # No CSRF token is sent, so an accepted cookie gets 403 on POST.
    response = send(
        csrf_client,
        method,
        "/cookie-whoami/",
        HTTP_COOKIE=cookie_header(jwtsafe_access=built.token),
    )
    accepted_status = 200 if method == "get" else 403
    if response.status_code == accepted_status:
        assert_accepted_token_valid(response, built, ACCESS_TOKEN_TYPE, sent_at)
    else:
        assert_cookie_rejected(response)


@FUZZ
@given(
    refresh=st.one_of(token_strings.map(wsgi_text), st.just("")),
    access=st.one_of(token_strings.map(wsgi_text), st.just("")),
    csrf=st.sampled_from(["match", "missing", "wrong"]),
)
def test_cookie_refresh_rejected(csrf_client, genuine, refresh, access, csrf):
    count_example("fuzzed cookies, /web/auth/refresh/")
    extra = {
        "HTTP_COOKIE": cookie_header(
            jwtsafe_access=access, jwtsafe_refresh=refresh, csrftoken=CSRF_SECRET
        )
    }
    if csrf != "missing":
        extra["HTTP_X_CSRFTOKEN"] = CSRF_SECRET if csrf == "match" else "x" * 32
    response = send(csrf_client, "post", "/web/auth/refresh/", **extra)
    if csrf != "match":
        assert response.status_code == 403, response.content[:300]
        return
    if parse_cookie(extra["HTTP_COOKIE"]).get(REFRESH_COOKIE):
        assert_invalid_token(response)
    else:
        # A request without a refresh cookie gets its own message.
        assert_rejected(response)
        assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE


@FUZZ
@given(mutation=mutations, csrf=st.booleans())
def test_resigned_refresh_cookie(csrf_client, genuine, mutation, csrf):
    count_example("re-signed refresh cookie, /web/auth/refresh/")
    built = build_mutated(genuine.refresh, REFRESH_TOKEN_TYPE, mutation)
    extra = {
        "HTTP_COOKIE": cookie_header(jwtsafe_refresh=built.token, csrftoken=CSRF_SECRET)
    }
    if csrf:
        extra["HTTP_X_CSRFTOKEN"] = CSRF_SECRET
    sent_at = time.time()
    response = send(csrf_client, "post", "/web/auth/refresh/", **extra)
    if not csrf:
        assert response.status_code == 403, response.content[:300]
    elif response.status_code == 200:
        assert_accepted_token_valid(response, built, REFRESH_TOKEN_TYPE, sent_at)
        genuine.refresh = response.cookies[REFRESH_COOKIE].value
    else:
        assert_invalid_token(response)


@FUZZ
@given(
    cookie=st.one_of(
        any_text(200).map(wsgi_text),
        st.tuples(token_strings, token_strings).map(
            lambda pair: cookie_header(
                jwtsafe_access=wsgi_text(pair[0]), jwtsafe_refresh=wsgi_text(pair[1])
            )
        ),
    ),
    csrf=st.booleans(),
)
def test_cookie_logout_with_fuzzed_cookies(csrf_client, genuine, cookie, csrf):
    count_example("fuzzed cookies, /web/auth/logout/")
    extra = {"HTTP_COOKIE": f"{cookie}; {CSRF_COOKIE}={CSRF_SECRET}"}
    if csrf:
        extra["HTTP_X_CSRFTOKEN"] = CSRF_SECRET
    response = send(csrf_client, "post", "/web/auth/logout/", **extra)
    # Cookie logout is open to anonymous requests and ignores cookies that do
    # not verify, so it ends in 204 once the CSRF check passes.
    assert response.status_code == (204 if csrf else 403), response.content[:300]
