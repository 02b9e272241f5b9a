"""Attacks on Bearer authentication for deployments that sign with key pairs.

The tests generate the server's RSA, P-256 and Ed25519 key pairs once per
session. Single-key deployments set ``ALGORITHM``, ``SIGNING_KEY`` (the
private key as PKCS#8 PEM) and ``VERIFYING_KEY`` (the public key as
SubjectPublicKeyInfo PEM), with and without ``KEY_ID``. Key-ring deployments
set ``KEYS``: the server key signs, read from a file, an environment variable
or the settings; a key of another algorithm verifies only; and a third key is
retired.

Forged tokens carry the genuine token's header, ``kid`` included, and its
claims, so that only the algorithm, signature and header checks can reject
them. A token that names another user fails the session check, which binds
``sid`` to ``sub``, so a test built on one would still pass with the signature
check broken. Every rejected case must get 401 with a ``Bearer`` challenge,
never 403 or 5xx.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.conftest import (
    b64url,
    b64url_decode,
    b64url_json,
    login,
    mint,
    private_pem,
    public_pem,
    split_token,
)
from tests.test_attacks import (
    LISTENER_WAIT_SECONDS,
    CountingListener,
    assert_rejected,
    assert_user,
    flip_last_signature_bit,
    get_protected,
    post_refresh,
    unsigned,
    with_signature,
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

HASH_BY_SIZE: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}

# The order n of the P-256 group (FIPS 186-4 appendix D.1.2.3). An ECDSA
# signature is valid only when 0 < r < n and 0 < s < n.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# ECDSA-Sig-Value with r = 0 and s = 0 in DER: 30 06 02 01 00 02 01 00.
ZERO_DER_SIGNATURE = "MAYCAQACAQA"

SERVER_KEY_ID = "jwtsafe-test-1"
# The key-ring deployments' other keys.
VERIFY_ONLY_KEY_ID = "jwtsafe-test-0"
RETIRED_KEY_ID = "jwtsafe-test-retired"
# The common name in the server's self-signed certificate.
SERVER_NAME = "auth.jwtsafe.test"


# Signing with any key


def sign_jws(
    header: dict[str, Any],
    claims: Any,
    key: PrivateKey,
    algorithm: str | None = None,
) -> str:
    """Return a compact JWS over ``header`` and ``claims``.

    ``algorithm`` (RS*, PS* or ES*) picks the signature scheme and defaults to
    the header's ``alg``, so a test can label a token with one algorithm and
    sign it with another.
    """
    algorithm = algorithm or header["alg"]
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = signature_bytes(key, algorithm, signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


def signature_bytes(key: PrivateKey, algorithm: str, data: bytes) -> bytes:
    if algorithm == "EdDSA":
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key.sign(data)
    hash_algorithm = HASH_BY_SIZE[algorithm[2:]]()
    family = algorithm[:2]
    if family == "RS":
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(data, padding.PKCS1v15(), hash_algorithm)
    if family == "PS":
        assert isinstance(key, rsa.RSAPrivateKey)
        pss = padding.PSS(
            mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size
        )
        return key.sign(data, pss, hash_algorithm)
    assert family == "ES", algorithm
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    der = key.sign(data, ec.ECDSA(hash_algorithm))
    # JWS carries ECDSA signatures as the raw R || S pair (RFC 7518 section 3.4).
    r, s = decode_dss_signature(der)
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def public_jwk(key: PrivateKey, algorithm: str, kid: str | None) -> dict[str, str]:
    """Return the public JWK of ``key`` with ``use``, ``alg`` and ``kid`` set."""
    jwk: dict[str, str] = {"use": "sig", "alg": algorithm}
    if kid is not None:
        jwk["kid"] = kid
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        modulus_size = (numbers.n.bit_length() + 7) // 8
        exponent_size = (numbers.e.bit_length() + 7) // 8
        jwk["kty"] = "RSA"
        jwk["n"] = b64url(numbers.n.to_bytes(modulus_size, "big"))
        jwk["e"] = b64url(numbers.e.to_bytes(exponent_size, "big"))
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        jwk["kty"] = "OKP"
        jwk["crv"] = "Ed25519"
        jwk["x"] = b64url(
            key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        )
    else:
        point = key.public_key().public_numbers()
        jwk["kty"] = "EC"
        jwk["crv"] = "P-256"
        jwk["x"] = b64url(point.x.to_bytes(32, "big"))
        jwk["y"] = b64url(point.y.to_bytes(32, "big"))
    return jwk


def self_signed_certificate(key: PrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        # Ed25519 signs without a separate hash.
        .sign(
            key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        )
    )


# The server and the attacker


def key_type(algorithm: str) -> str:
    if algorithm.startswith(("RS", "PS")):
        return "RSA"
    return "ED" if algorithm == "EdDSA" else "EC"


@dataclass(frozen=True)
class Deployment:
    """The signing settings of one parametrized deployment.

    ``ring`` names where a key-ring deployment reads its signing key from:
    "file", "env" or "inline". A single-key deployment has none.
    """

    algorithm: str
    key_id: str | None = None
    ring: str | None = None
    # The algorithm of the ring's verify-only key.
    other_algorithm: str = ""

    @property
    def label(self) -> str:
        if self.ring is not None:
            return f"{self.algorithm}-ring-{self.ring}"
        return self.algorithm if self.key_id is None else f"{self.algorithm}-kid"

    @property
    def key_type(self) -> str:
        return key_type(self.algorithm)


RING_DEPLOYMENTS = [
    Deployment("RS256", SERVER_KEY_ID, ring="file", other_algorithm="ES256"),
    Deployment("ES256", SERVER_KEY_ID, ring="env", other_algorithm="RS256"),
    Deployment("EdDSA", SERVER_KEY_ID, ring="inline", other_algorithm="ES256"),
]
RSA_DEPLOYMENTS = [
    Deployment("RS256"),
    Deployment("RS256", SERVER_KEY_ID),
    RING_DEPLOYMENTS[0],
]
EC_DEPLOYMENTS = [
    Deployment("ES256"),
    Deployment("ES256", SERVER_KEY_ID),
    RING_DEPLOYMENTS[1],
]
ED_DEPLOYMENTS = [RING_DEPLOYMENTS[2]]
DEPLOYMENTS = RSA_DEPLOYMENTS + EC_DEPLOYMENTS + ED_DEPLOYMENTS


@dataclass(frozen=True)
class ServerKey:
    private_key: PrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class Server:
    """The deployment under test and its key pair.

    A key-ring deployment also has the private keys of its verify-only
    and retired keys, which only the harness would have.
    """

    deployment: Deployment
    private_key: PrivateKey
    certificate: x509.Certificate
    verify_only_key: PrivateKey | None = None
    retired_key: PrivateKey | None = None

    @property
    def algorithm(self) -> str:
        return self.deployment.algorithm

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )

    def sign(
        self, header: dict[str, Any], claims: Any, algorithm: str | None = None
    ) -> str:
        return sign_jws(header, claims, self.private_key, algorithm)

    def public_key_forms(self) -> dict[str, bytes]:
        """Return the public key in every form a verifier might be given.

        A verifier that lets the token choose HMAC and uses its copy of the
        public key as the HMAC secret accepts a token keyed with those bytes.
        """
        public_key = self.private_key.public_key()
        forms = {
            "spki-pem": self.public_pem,
            "spki-pem-no-final-newline": self.public_pem.rstrip(b"\n"),
            "spki-pem-crlf": self.public_pem.replace(b"\n", b"\r\n"),
            "spki-der": public_key.public_bytes(
                serialization.Encoding.DER,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            ),
            "openssh": public_key.public_bytes(
                serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
            ),
            "x509-certificate-pem": self.certificate.public_bytes(
                serialization.Encoding.PEM
            ),
            # NOTE: only this one serialization of the JWK is tried. Another
            # member order or whitespace gives other HMAC key bytes.
            "jwk-json": json.dumps(
                public_jwk(self.private_key, self.algorithm, self.deployment.key_id),
                separators=(",", ":"),
            ).encode("utf-8"),
        }
        if isinstance(public_key, rsa.RSAPublicKey):
            forms["pkcs1-pem"] = public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
            )
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            forms["raw-public-key"] = public_key.public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        else:
            forms["x962-uncompressed-point"] = public_key.public_bytes(
                serialization.Encoding.X962,
                serialization.PublicFormat.UncompressedPoint,
            )
        return forms


RSA_KEY_FORMS = [
    "spki-pem",
    "spki-pem-no-final-newline",
    "spki-pem-crlf",
    "pkcs1-pem",
    "spki-der",
    "openssh",
    "x509-certificate-pem",
    "jwk-json",
]
EC_KEY_FORMS = [
    form if form != "pkcs1-pem" else "x962-uncompressed-point" for form in RSA_KEY_FORMS
]
ED_KEY_FORMS = [
    form if form != "pkcs1-pem" else "raw-public-key" for form in RSA_KEY_FORMS
]


@dataclass(frozen=True)
class Attacker:
    """Key pairs and self-signed certificates that the server has never seen."""

    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    ed_key: ed25519.Ed25519PrivateKey
    rsa_certificate: x509.Certificate
    ec_certificate: x509.Certificate
    ed_certificate: x509.Certificate

    def key_for(self, algorithm: str) -> PrivateKey:
        return {"RSA": self.rsa_key, "EC": self.ec_key, "ED": self.ed_key}[
            key_type(algorithm)
        ]

    def certificate_for(self, algorithm: str) -> x509.Certificate:
        return {
            "RSA": self.rsa_certificate,
            "EC": self.ec_certificate,
            "ED": self.ed_certificate,
        }[key_type(algorithm)]

    def sign(self, header: dict[str, Any], claims: Any) -> str:
        """Sign with the attacker key that matches the header's ``alg``."""
        return sign_jws(header, claims, self.key_for(header["alg"]))

    def jwks(self, kid: str) -> bytes:
        keys = [
            public_jwk(self.rsa_key, "RS256", kid),
            public_jwk(self.ec_key, "ES256", kid),
            public_jwk(self.ed_key, "EdDSA", kid),
        ]
        return json.dumps({"keys": keys}).encode("utf-8")


def new_key(kind: str) -> PrivateKey:
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "EC":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def server_keys() -> dict[str, ServerKey]:
    found = {}
    for kind in ("RSA", "EC", "ED"):
        key = new_key(kind)
        found[kind] = ServerKey(key, self_signed_certificate(key, SERVER_NAME))
    return found


@pytest.fixture(scope="session")
def retired_keys() -> dict[str, PrivateKey]:
    return {kind: new_key(kind) for kind in ("RSA", "EC", "ED")}


@pytest.fixture(scope="session")
def attacker() -> Attacker:
    rsa_key = new_key("RSA")
    ec_key = new_key("EC")
    ed_key = new_key("ED")
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey)
    assert isinstance(ed_key, ed25519.Ed25519PrivateKey)
    return Attacker(
        rsa_key=rsa_key,
        ec_key=ec_key,
        ed_key=ed_key,
        rsa_certificate=self_signed_certificate(rsa_key, "attacker.test"),
        ec_certificate=self_signed_certificate(ec_key, "attacker.test"),
        ed_certificate=self_signed_certificate(ed_key, "attacker.test"),
    )


@pytest.fixture
def server(
    request, settings, server_keys, retired_keys, tmp_path, monkeypatch
) -> Server:
    """Configure jwtsafe for the ``Deployment`` in ``request.param``."""
    deployment: Deployment = request.param
    key = server_keys[deployment.key_type]
    base = {
        name: value
        for name, value in settings.JWTSAFE.items()
        if name not in ("ALGORITHM", "SIGNING_KEY", "VERIFYING_KEY", "KEY_ID")
    }
    if deployment.ring is None:
        settings.JWTSAFE = {
            **base,
            "ALGORITHM": deployment.algorithm,
            "SIGNING_KEY": private_pem(key.private_key),
            "VERIFYING_KEY": public_pem(key.private_key),
            "KEY_ID": deployment.key_id,
        }
        return Server(deployment, key.private_key, key.certificate)

    signing: dict[str, Any] = {
        "kid": deployment.key_id,
        "algorithm": deployment.algorithm,
        "state": "signing",
    }
    if deployment.ring == "file":
        path = tmp_path / "signing.pem"
        path.write_text(private_pem(key.private_key))
        signing["private_key_file"] = path
    elif deployment.ring == "env":
        monkeypatch.setenv("JWTSAFE_TEST_SIGNING_KEY", private_pem(key.private_key))
        signing["private_key_env"] = "JWTSAFE_TEST_SIGNING_KEY"
    else:
        signing["private_key"] = private_pem(key.private_key)
        signing["public_key"] = public_pem(key.private_key)
    verify_only = server_keys[key_type(deployment.other_algorithm)].private_key
    retired = retired_keys[deployment.key_type]
    settings.JWTSAFE = {
        **base,
        "KEYS": [
            {
                "kid": VERIFY_ONLY_KEY_ID,
                "algorithm": deployment.other_algorithm,
                "state": "verify-only",
                "public_key": public_pem(verify_only),
            },
            signing,
            # A retired key keeps its material here, so the tests show that
            # it verifies nothing even while configured.
            {
                "kid": RETIRED_KEY_ID,
                "algorithm": deployment.algorithm,
                "state": "retired",
                "public_key": public_pem(retired),
            },
        ],
    }
    return Server(
        deployment,
        key.private_key,
        key.certificate,
        verify_only_key=verify_only,
        retired_key=retired,
    )


@dataclass(frozen=True)
class Genuine:
    """The signed-in user's genuine token pair, issued by the login view."""

    access: str
    refresh: str
    header: dict[str, Any]
    claims: dict[str, Any]
    server: Server = field(repr=False)
    attacker: Attacker = field(repr=False)
    # The body of the server's JWKS response, byte for byte.
    jwks_body: bytes = field(default=b"", repr=False)

    @property
    def signing_input(self) -> str:
        return self.access.rsplit(".", 1)[0]

    def header_with(self, changes: dict[str, Any]) -> dict[str, Any]:
        return {**self.header, **changes}

    def claims_with(self, changes: dict[str, Any]) -> dict[str, Any]:
        return {**self.claims, **changes}


@pytest.fixture
def genuine(server, attacker, client, user) -> Genuine:
    tokens = login(client, user)
    header, claims = split_token(tokens["access"])
    jwks = client.get("/auth/jwks.json")
    assert jwks.status_code == 200
    return Genuine(
        access=tokens["access"],
        refresh=tokens["refresh"],
        header=header,
        claims=claims,
        server=server,
        attacker=attacker,
        jwks_body=jwks.content,
    )


# A case builds the token it sends from the genuine tokens.
Build = Callable[[Genuine], str]


def for_deployments(deployments: list[Deployment], cases: list[Any]) -> list[Any]:
    """Return one parameter set per deployment and case, for ``server, build``."""
    return [
        pytest.param(deployment, case.values[0], id=f"{deployment.label}-{case.id}")
        for deployment in deployments
        for case in cases
    ]


def each_deployment(deployments: list[Deployment]) -> Any:
    return pytest.mark.parametrize(
        "server",
        [pytest.param(deployment, id=deployment.label) for deployment in deployments],
        indirect=True,
    )


def send(client, token: str) -> Any:
    return get_protected(client, f"Bearer {token}")


# Positive controls


@each_deployment(DEPLOYMENTS)
class TestPositiveControl:
    def test_genuine_token_accepted(self, client, genuine, user):
        assert_user(send(client, genuine.access), user)

    def test_header_names_configured_algorithm(self, genuine):
        assert genuine.header["alg"] == genuine.server.algorithm
        assert genuine.header.get("kid") == genuine.server.deployment.key_id

    def test_refreshed_access_token_accepted(self, client, genuine, user):
        response = post_refresh(client, genuine.refresh)
        assert response.status_code == 200
        assert_user(send(client, response.json()["access"]), user)

    def test_harness_signed_token_accepted(self, client, genuine, user):
        # The cases below re-sign with the same helper, so a rejection there
        # comes from the one change they make.
        claims = genuine.claims_with({"jti": uuid.uuid4().hex})
        token = genuine.server.sign(genuine.header, claims)
        assert_user(send(client, token), user)

    def test_unknown_header_parameter_accepted(self, client, genuine, user):
        token = genuine.server.sign(
            genuine.header_with({"x-test": "1"}), genuine.claims
        )
        assert_user(send(client, token), user)


# Algorithm confusion: HMAC keyed with the server's public key

HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"]


def hmac_with_public_key(form: str, algorithm: str) -> Build:
    def build(g: Genuine) -> str:
        key = g.server.public_key_forms()[form]
        return mint(g.header_with({"alg": algorithm}), g.claims, key, algorithm)

    return build


def confusion_cases(forms: list[str]) -> list[Any]:
    return [
        pytest.param(hmac_with_public_key(form, algorithm), id=f"{algorithm}-{form}")
        for algorithm in HMAC_ALGORITHMS
        for form in forms
    ]


def published_jwk_forms(g: Genuine) -> dict[str, bytes]:
    """Return the JWKS response and each key in it, as the server sends them.

    An attacker reads these bytes from the JWKS URL, so a verifier that used
    any of them as an HMAC secret would accept the attacker's token.
    """
    forms = {"jwks-response": g.jwks_body}
    for key in json.loads(g.jwks_body)["keys"]:
        name = key.get("kid", "no-kid")
        forms[f"jwk-{name}"] = json.dumps(key).encode()
        forms[f"jwk-{name}-compact"] = json.dumps(key, separators=(",", ":")).encode()
    return forms


def hmac_with_published_jwks(algorithm: str) -> Callable[[Genuine], list[str]]:
    def build(g: Genuine) -> list[str]:
        return [
            mint(g.header_with({"alg": algorithm}), g.claims, key, algorithm)
            for key in published_jwk_forms(g).values()
        ]

    return build


class TestAlgorithmConfusion:
    @pytest.mark.parametrize(
        ("server", "build"),
        for_deployments(
            DEPLOYMENTS,
            [
                pytest.param(hmac_with_published_jwks(algorithm), id=algorithm)
                for algorithm in HMAC_ALGORITHMS
            ],
        ),
        indirect=["server"],
    )
    def test_hmac_with_published_jwks_rejected(self, client, genuine, build):
        tokens = build(genuine)
        # The JWKS and each key in it, in the two spellings.
        assert len(tokens) >= 3
        for token in tokens:
            assert_rejected(send(client, token), token)

    @pytest.mark.parametrize(
        ("server", "build"),
        for_deployments(RSA_DEPLOYMENTS, confusion_cases(RSA_KEY_FORMS))
        + for_deployments(EC_DEPLOYMENTS, confusion_cases(EC_KEY_FORMS))
        + for_deployments(ED_DEPLOYMENTS, confusion_cases(ED_KEY_FORMS)),
        indirect=["server"],
    )
    def test_hmac_with_public_key_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(send(client, token), token)


# The algorithm header


def with_algorithm(algorithm: str) -> Build:
    """Sign with the server key under ``algorithm``, named in the header."""
    return lambda g: g.server.sign(g.header_with({"alg": algorithm}), g.claims)


def attacker_signed_as(algorithm: str) -> Build:
    return lambda g: g.attacker.sign(g.header_with({"alg": algorithm}), g.claims)


COMMON_ALGORITHM_CASES = [
    pytest.param(
        lambda g: unsigned(g.header_with({"alg": "none"}), g.claims),
        id="alg-none-empty-signature",
    ),
    pytest.param(
        lambda g: unsigned(g.header_with({"alg": "NONE"}), g.claims),
        id="alg-NONE-empty-signature",
    ),
    pytest.param(
        lambda g: with_signature(
            unsigned(g.header_with({"alg": "none"}), g.claims), g.access.split(".")[2]
        ),
        id="alg-none-signature-kept",
    ),
    pytest.param(
        lambda g: g.attacker.sign(g.header, g.claims),
        id="configured-alg-attacker-key",
    ),
    pytest.param(attacker_signed_as("PS256"), id="PS256-attacker-key"),
]

RSA_ALGORITHM_CASES = [
    pytest.param(attacker_signed_as("ES256"), id="ES256-attacker-key"),
    pytest.param(with_algorithm("RS384"), id="RS384-server-key"),
    pytest.param(with_algorithm("RS512"), id="RS512-server-key"),
    pytest.param(with_algorithm("PS256"), id="PS256-server-key"),
]

ED_ALGORITHM_CASES = [
    pytest.param(attacker_signed_as("ES256"), id="ES256-attacker-key"),
    pytest.param(attacker_signed_as("RS256"), id="RS256-attacker-key"),
    pytest.param(
        # RFC 9864 names the algorithm "Ed25519"; the server key signs,
        # so only the name differs from the configured "EdDSA".
        lambda g: g.server.sign(
            g.header_with({"alg": "Ed25519"}), g.claims, algorithm="EdDSA"
        ),
        id="alg-Ed25519-server-key",
    ),
]

EC_ALGORITHM_CASES = [
    pytest.param(attacker_signed_as("RS256"), id="RS256-attacker-key"),
    # The P-256 server key over a SHA-384 or SHA-512 digest.
    # NOTE: PyJWT 2.15 also rejects a P-256 key under ES384 and ES512, so these
    # two cases get 401 even without jwtsafe's own algorithm check.
    pytest.param(with_algorithm("ES384"), id="ES384-server-key"),
    pytest.param(with_algorithm("ES512"), id="ES512-server-key"),
]


class TestAlgorithmHeader:
    @pytest.mark.parametrize(
        ("server", "build"),
        for_deployments(DEPLOYMENTS, COMMON_ALGORITHM_CASES)
        + for_deployments(RSA_DEPLOYMENTS, RSA_ALGORITHM_CASES)
        + for_deployments(EC_DEPLOYMENTS, EC_ALGORITHM_CASES)
        + for_deployments(ED_DEPLOYMENTS, ED_ALGORITHM_CASES),
        indirect=["server"],
    )
    def test_algorithm_attack_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(send(client, token), token)


# ECDSA signature encodings


def der_signed(g: Genuine) -> str:
    """Return the genuine token with a fresh server signature in DER form."""
    assert isinstance(g.server.private_key, ec.EllipticCurvePrivateKey)
    der = g.server.private_key.sign(
        g.signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())
    )
    return with_signature(g.access, b64url(der))


def raw_from_der(token: str) -> str:
    """Return ``token`` with its DER ECDSA signature rewritten as R || S."""
    r, s = decode_dss_signature(b64url_decode(token.rsplit(".", 1)[1]))
    return with_signature(token, b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")))


ECDSA_CASES = [
    # Java 15 to 18 accepted r = s = 0 for any message (CVE-2022-21449). As
    # raw R || S that is 64 zero bytes, "A" * 86 in base64url.
    pytest.param(lambda g: with_signature(g.access, "A" * 86), id="zero-r-s"),
    pytest.param(
        lambda g: with_signature(g.access, ZERO_DER_SIGNATURE), id="zero-r-s-der"
    ),
    pytest.param(
        lambda g: with_signature(g.access, b64url(P256_ORDER.to_bytes(32, "big") * 2)),
        id="r-s-equal-curve-order",
    ),
    pytest.param(der_signed, id="valid-signature-der-encoded"),
]


class TestEcdsaSignature:
    @pytest.mark.parametrize(
        ("server", "build"),
        for_deployments(EC_DEPLOYMENTS, ECDSA_CASES),
        indirect=["server"],
    )
    def test_invalid_signature_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(send(client, token), token)

    @each_deployment(EC_DEPLOYMENTS)
    def test_der_signature_verifies(self, genuine):
        # The DER case carries a genuine signature, so only its encoding differs.
        token = der_signed(genuine)
        genuine.server.private_key.public_key().verify(
            b64url_decode(token.rsplit(".", 1)[1]),
            genuine.signing_input.encode("ascii"),
            ec.ECDSA(hashes.SHA256()),
        )

    @each_deployment(EC_DEPLOYMENTS)
    def test_raw_form_of_der_signature_accepted(self, client, genuine, user):
        token = raw_from_der(der_signed(genuine))
        assert_user(send(client, token), user)


# Changes after signing


def payload_changed(changes: Callable[[Genuine], dict[str, Any]]) -> Build:
    """Replace the payload of the genuine token and keep its signature."""

    def build(g: Genuine) -> str:
        header, _, signature = g.access.split(".")
        return f"{header}.{b64url_json(g.claims_with(changes(g)))}.{signature}"

    return build


TAMPERING_CASES = [
    pytest.param(payload_changed(lambda g: {"role": "admin"}), id="claim-added"),
    pytest.param(
        payload_changed(lambda g: {"exp": g.claims["exp"] - 1}), id="exp-changed"
    ),
    pytest.param(
        payload_changed(lambda g: {"jti": uuid.uuid4().hex}), id="jti-changed"
    ),
    pytest.param(
        lambda g: flip_last_signature_bit(g.access), id="signature-bit-flipped"
    ),
]


class TestTampering:
    @pytest.mark.parametrize(
        ("server", "build"),
        for_deployments(DEPLOYMENTS, TAMPERING_CASES),
        indirect=["server"],
    )
    def test_changed_token_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(send(client, token), token)


# Header parameters that carry or locate a key


@pytest.fixture
def listener(genuine) -> Iterator[CountingListener]:
    """Serve the attacker's JWKS and certificate on 127.0.0.1."""
    kid = genuine.server.deployment.key_id or "attacker"
    certificate = genuine.attacker.certificate_for(genuine.server.algorithm)
    http_server = CountingListener(
        {
            "/jwks.json": genuine.attacker.jwks(kid),
            "/cert.pem": certificate.public_bytes(serialization.Encoding.PEM),
        }
    )
    thread = threading.Thread(
        target=http_server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield http_server
    http_server.shutdown()
    http_server.server_close()
    thread.join()


KeyParameters = Callable[[Genuine, str], dict[str, Any]]


def embedded_jwk(g: Genuine, url: str) -> dict[str, Any]:
    algorithm = g.server.algorithm
    key = g.attacker.key_for(algorithm)
    return {"jwk": public_jwk(key, algorithm, g.header.get("kid"))}


def x5c_certificate(g: Genuine, url: str) -> dict[str, Any]:
    certificate = g.attacker.certificate_for(g.server.algorithm)
    der = certificate.public_bytes(serialization.Encoding.DER)
    # x5c contains standard base64, not base64url (RFC 7515 section 4.1.6).
    return {"x5c": [base64.b64encode(der).decode("ascii")]}


KEY_PARAMETERS: list[tuple[str, KeyParameters]] = [
    ("jwk", embedded_jwk),
    ("jku", lambda g, url: {"jku": f"{url}/jwks.json"}),
    ("x5u", lambda g, url: {"x5u": f"{url}/cert.pem"}),
    ("x5c", x5c_certificate),
]


def signed_by(signer: str, parameters: KeyParameters) -> Callable[[Genuine, str], str]:
    def build(g: Genuine, url: str) -> str:
        header = g.header_with(parameters(g, url))
        if signer == "attacker":
            return g.attacker.sign(header, g.claims)
        return g.server.sign(header, g.claims)

    return build


KEY_HEADER_CASES = [
    pytest.param(signed_by(signer, parameters), id=f"{name}-{signer}-key")
    for name, parameters in KEY_PARAMETERS
    for signer in ("attacker", "server")
]

# Only these cases name a URL, so only they could make the server fetch one.
KEY_URL_CASES = [
    case for case in KEY_HEADER_CASES if case.id.startswith(("jku-", "x5u-"))
]


class TestKeyHeader:
    @pytest.mark.parametrize(
        ("server", "build"),
        for_deployments(DEPLOYMENTS, KEY_HEADER_CASES),
        indirect=["server"],
    )
    def test_token_rejected(self, client, genuine, listener, build):
        token = build(genuine, listener.url)
        assert_rejected(send(client, token), token)

    @pytest.mark.parametrize(
        ("server", "build"),
        for_deployments(DEPLOYMENTS, KEY_URL_CASES),
        indirect=["server"],
    )
    def test_key_url_never_fetched(self, client, genuine, listener, build):
        token = build(genuine, listener.url)
        send(client, token)
        listener.connected.wait(LISTENER_WAIT_SECONDS)
        assert listener.connections == 0


# Key selection by kid in a key ring


def signed_with_kid(kid: Any, signer: str = "server") -> Build:
    """Sign the genuine claims with one of the ring's keys under ``kid``.

    The header's ``alg`` is the signing key's own, so only the ``kid``
    choice can reject the token.
    """

    def build(g: Genuine) -> str:
        key = {
            "server": g.server.private_key,
            "verify-only": g.server.verify_only_key,
            "retired": g.server.retired_key,
        }[signer]
        assert key is not None
        algorithm = {
            "verify-only": g.server.deployment.other_algorithm,
        }.get(signer, g.server.algorithm)
        header = g.header_with({"alg": algorithm, "kid": kid})
        if kid is None:
            del header["kid"]
        return sign_jws(header, g.claims, key)

    return build


KID_SELECTION_CASES = [
    pytest.param(signed_with_kid(RETIRED_KEY_ID, "retired"), id="retired-key"),
    pytest.param(signed_with_kid(RETIRED_KEY_ID), id="retired-kid-signing-key"),
    # The signing key's signature under the verify-only key's kid: the kid
    # picks the verify-only key, whose algorithm the header does not name.
    pytest.param(signed_with_kid(VERIFY_ONLY_KEY_ID), id="verify-only-kid-signing-key"),
    pytest.param(
        lambda g: sign_jws(
            g.header_with(
                {"kid": SERVER_KEY_ID, "alg": g.server.deployment.other_algorithm}
            ),
            g.claims,
            g.server.verify_only_key,  # type: ignore[arg-type]
        ),
        id="signing-kid-verify-only-key",
    ),
    pytest.param(signed_with_kid(None), id="kid-missing"),
    pytest.param(signed_with_kid(""), id="kid-empty"),
    pytest.param(signed_with_kid("attacker"), id="kid-unknown"),
    pytest.param(signed_with_kid(SERVER_KEY_ID.upper()), id="kid-other-case"),
    pytest.param(signed_with_kid(f" {SERVER_KEY_ID}"), id="kid-leading-space"),
    pytest.param(signed_with_kid(f"{SERVER_KEY_ID}\n"), id="kid-trailing-newline"),
    pytest.param(signed_with_kid(f"{SERVER_KEY_ID}\u0000"), id="kid-trailing-nul"),
    pytest.param(
        signed_with_kid(SERVER_KEY_ID.replace("-", "\u2010")), id="kid-unicode-hyphen"
    ),
    pytest.param(signed_with_kid(f"./{SERVER_KEY_ID}"), id="kid-dot-slash"),
    pytest.param(signed_with_kid(f"{SERVER_KEY_ID}/"), id="kid-trailing-slash"),
    pytest.param(signed_with_kid(f"../{SERVER_KEY_ID}"), id="kid-parent-directory"),
    pytest.param(
        signed_with_kid("../../../../../../dev/null"), id="kid-dev-null-traversal"
    ),
    pytest.param(signed_with_kid("/dev/null"), id="kid-dev-null"),
    pytest.param(
        signed_with_kid(f"{SERVER_KEY_ID}' OR '1'='1"), id="kid-sql-injection"
    ),
    pytest.param(signed_with_kid(f"{SERVER_KEY_ID}|sleep 10"), id="kid-shell-pipe"),
    pytest.param(signed_with_kid([SERVER_KEY_ID]), id="kid-array"),
    pytest.param(signed_with_kid({"kid": SERVER_KEY_ID}), id="kid-object"),
    pytest.param(signed_with_kid(1), id="kid-number"),
    pytest.param(signed_with_kid(True), id="kid-true"),
    pytest.param(signed_with_kid(None), id="kid-null"),
]


class TestKeyRing:
    @each_deployment(RING_DEPLOYMENTS)
    def test_verify_only_key_accepted(self, client, genuine, user):
        # The positive control for the cases below: a token that the
        # verify-only key signed, under its own kid and algorithm.
        token = signed_with_kid(VERIFY_ONLY_KEY_ID, "verify-only")(genuine)
        assert_user(send(client, token), user)

    @each_deployment(RING_DEPLOYMENTS)
    def test_retired_key_signs_valid_signature(self, genuine):
        # The retired-key case carries a correct signature by the retired
        # key, so only the key's state rejects it.
        token = signed_with_kid(RETIRED_KEY_ID, "retired")(genuine)
        retired = genuine.server.retired_key
        assert retired is not None
        jwt.PyJWS().decode(
            token, retired.public_key(), algorithms=[genuine.server.algorithm]
        )

    @pytest.mark.parametrize(
        ("server", "build"),
        for_deployments(RING_DEPLOYMENTS, KID_SELECTION_CASES),
        indirect=["server"],
    )
    def test_token_rejected(self, client, genuine, build):
        token = build(genuine)
        assert_rejected(send(client, token), token)
