"""Attacks on Bearer authentication for deployments that sign with RS256 or ES256.

The tests generate the server's RSA and P-256 key pairs once per session. Each
deployment sets ``ALGORITHM``, ``SIGNING_KEY`` (the private key as PKCS#8 PEM)
and ``VERIFYING_KEY`` (the public key as SubjectPublicKeyInfo PEM), with and
without ``KEY_ID``.

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

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.conftest import b64url, b64url_decode, b64url_json, login, mint, split_token
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

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

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
        .sign(key, hashes.SHA256())
    )


# The server and the attacker


@dataclass(frozen=True)
class Deployment:
    """The signing settings of one parametrized deployment."""

    algorithm: str
    key_id: str | None = None

    @property
    def label(self) -> str:
        return self.algorithm if self.key_id is None else f"{self.algorithm}-kid"

    @property
    def key_type(self) -> str:
        return "RSA" if self.algorithm.startswith(("RS", "PS")) else "EC"


RSA_DEPLOYMENTS = [Deployment("RS256"), Deployment("RS256", SERVER_KEY_ID)]
EC_DEPLOYMENTS = [Deployment("ES256"), Deployment("ES256", SERVER_KEY_ID)]
DEPLOYMENTS = RSA_DEPLOYMENTS + EC_DEPLOYMENTS


@dataclass(frozen=True)
class ServerKey:
    private_key: PrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class Server:
    """The deployment under test and its key pair."""

    deployment: Deployment
    private_key: PrivateKey
    certificate: x509.Certificate

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


@dataclass(frozen=True)
class Attacker:
    """Key pairs and self-signed certificates that the server has never seen."""

    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    rsa_certificate: x509.Certificate
    ec_certificate: x509.Certificate

    def key_for(self, algorithm: str) -> PrivateKey:
        return self.ec_key if algorithm.startswith("ES") else self.rsa_key

    def certificate_for(self, algorithm: str) -> x509.Certificate:
        if algorithm.startswith("ES"):
            return self.ec_certificate
        return self.rsa_certificate

    def sign(self, header: dict[str, Any], claims: Any) -> str:
        """Sign with the attacker key that matches the header's ``alg``."""
        return sign_jws(header, claims, self.key_for(header["alg"]))

    def jwks(self, kid: str) -> bytes:
        keys = [
            public_jwk(self.rsa_key, "RS256", kid),
            public_jwk(self.ec_key, "ES256", kid),
        ]
        return json.dumps({"keys": keys}).encode("utf-8")


@pytest.fixture(scope="session")
def server_keys() -> dict[str, ServerKey]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "RSA": ServerKey(rsa_key, self_signed_certificate(rsa_key, SERVER_NAME)),
        "EC": ServerKey(ec_key, self_signed_certificate(ec_key, SERVER_NAME)),
    }


@pytest.fixture(scope="session")
def attacker() -> Attacker:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return Attacker(
        rsa_key=rsa_key,
        ec_key=ec_key,
        rsa_certificate=self_signed_certificate(rsa_key, "attacker.test"),
        ec_certificate=self_signed_certificate(ec_key, "attacker.test"),
    )


@pytest.fixture
def server(request, settings, server_keys) -> Server:
    """Configure jwtsafe for the ``Deployment`` in ``request.param``."""
    deployment: Deployment = request.param
    key = server_keys[deployment.key_type]
    server = Server(deployment, key.private_key, key.certificate)
    private_pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    settings.JWTSAFE = {
        **settings.JWTSAFE,
        "ALGORITHM": deployment.algorithm,
        "SIGNING_KEY": private_pem.decode("ascii"),
        "VERIFYING_KEY": server.public_pem.decode("ascii"),
        "KEY_ID": deployment.key_id,
    }
    return server


@dataclass(frozen=True)
class Genuine:
    """The signed-in user's genuine token pair, issued by the login view."""

    access: str
    refresh: str
    header: dict[str, Any]
    claims: dict[str, Any]
    server: Server = field(repr=False)
    attacker: Attacker = field(repr=False)

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
    return Genuine(
        access=tokens["access"],
        refresh=tokens["refresh"],
        header=header,
        claims=claims,
        server=server,
        attacker=attacker,
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


class TestAlgorithmConfusion:
    @pytest.mark.parametrize(
        ("server", "build"),
        for_deployments(RSA_DEPLOYMENTS, confusion_cases(RSA_KEY_FORMS))
        + for_deployments(EC_DEPLOYMENTS, confusion_cases(EC_KEY_FORMS)),
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
        + for_deployments(EC_DEPLOYMENTS, EC_ALGORITHM_CASES),
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
