"""Translated API error texts, and the French catalogue that ships with jwtsafe."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

import jwtsafe
from jwtsafe.sessions import RevocationUnavailable
from tests.conftest import PASSWORD, bearer

LOCALE_DIR = Path(jwtsafe.__file__).parent / "locale"
FRENCH_PO = LOCALE_DIR / "fr" / "LC_MESSAGES" / "django.po"
FRENCH_MO = LOCALE_DIR / "fr" / "LC_MESSAGES" / "django.mo"

INVALID_TOKEN_CHALLENGE = 'Bearer realm="api", error="invalid_token"'
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}


# Responses


def test_rejected_token_french(client, db):
    response = client.get("/whoami/", **bearer("abc"), **FRENCH)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    assert response.json() == {"detail": "Jeton invalide ou expiré."}
    assert response["Content-Language"] == "fr"


def test_rejected_token_regional_french(client, db):
    response = client.get("/whoami/", **bearer("abc"), HTTP_ACCEPT_LANGUAGE="fr-CA")
    assert response.status_code == 401
    assert response.json() == {"detail": "Jeton invalide ou expiré."}


def test_rejected_token_english_by_default(client, db):
    response = client.get("/whoami/", **bearer("abc"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    assert response.json() == {"detail": "Invalid or expired token."}


def test_rejected_token_unknown_language_english(client, db):
    response = client.get("/whoami/", **bearer("abc"), HTTP_ACCEPT_LANGUAGE="tlh")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired token."}


def test_rejected_refresh_token_french(client, db):
    response = client.post(
        "/auth/refresh/", {"refresh": "abc"}, format="json", **FRENCH
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    assert response.json() == {"detail": "Jeton invalide ou expiré."}


def test_revocation_unavailable_french(client, tokens):
    with mock.patch(
        "jwtsafe.authentication.check_session", side_effect=RevocationUnavailable()
    ):
        french = client.get("/whoami/", **bearer(tokens["access"]), **FRENCH)
        english = client.get("/whoami/", **bearer(tokens["access"]))
    assert french.status_code == 503
    assert french.json() == {
        "detail": "L’authentification est temporairement indisponible. "
        "Réessayez plus tard."
    }
    assert english.status_code == 503
    assert english.json() == {
        "detail": "Authentication is temporarily unavailable. Try again later."
    }


def test_login_failure_french(client, user):
    credentials = {"username": user.get_username(), "password": "wrong"}
    french = client.post("/auth/login/", credentials, format="json", **FRENCH)
    english = client.post("/auth/login/", credentials, format="json")
    assert french.status_code == 401
    assert french["WWW-Authenticate"].startswith("Bearer")
    assert french.json() == {"detail": "Nom d’utilisateur ou mot de passe invalide."}
    assert english.status_code == 401
    assert english.json() == {"detail": "Invalid username or password."}


def test_missing_refresh_field_french(client, db):
    response = client.post("/auth/refresh/", {}, format="json", **FRENCH)
    assert response.status_code == 400
    assert response.json() == {"refresh": ["Ce champ est obligatoire."]}


def test_missing_refresh_cookie_french(client, db):
    response = client.post("/web/auth/refresh/", **FRENCH)
    assert response.status_code == 401
    assert response.json() == {"detail": "Cookie de rafraîchissement absent."}


def test_csrf_failure_french(user):
    client = APIClient(enforce_csrf_checks=True)
    credentials = {"username": user.get_username(), "password": PASSWORD}
    response = client.post("/web/auth/login/", credentials, **FRENCH)
    assert response.status_code == 403
    # Django's reason after the prefix is English in every language.
    assert response.json()["detail"].startswith(
        "Échec de la vérification CSRF\u00a0: CSRF"
    )


def test_missing_scope_french(client, tokens):
    # Tokens from /auth/login/ carry no scope, and /scoped/ needs notes:read.
    french = client.get("/scoped/", **bearer(tokens["access"]), **FRENCH)
    english = client.get("/scoped/", **bearer(tokens["access"]))
    assert french.status_code == 403
    assert french.json() == {
        "detail": "Il manque au jeton d’accès une portée requise par cette requête."
    }
    assert english.json() == {
        "detail": "The access token lacks a scope that this request needs."
    }


# The catalogue


@dataclass
class Entry:
    """One message of a .po file. ``msgstr`` is a list of one or more forms."""

    msgid: str
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def parse_po(path: Path) -> list[Entry]:
    """Parse the entries of a .po file, without its header or obsolete entries.

    Handles what makemessages writes: ``#,`` flags, strings continued on
    further lines, plural forms and ``#~`` obsolete entries. It is no general
    .po parser.
    """
    entries: list[Entry] = []
    current: Entry | None = None
    part = ""
    flags: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue

        # .po strings use C escapes, which Python string literals share.
        if line.startswith('"'):
            assert current is not None, f"text before any msgid in {path}: {line}"
            text = ast.literal_eval(line)
        else:
            keyword, _, value = line.partition(" ")
            text = ast.literal_eval(value)
            if keyword == "msgid":
                if current is not None and current.msgid:
                    entries.append(current)
                current = Entry(msgid="", flags=flags)
                flags = set()
            elif current is None:
                raise AssertionError(f"{keyword} before any msgid in {path}")
            elif keyword == "msgid_plural":
                current.msgid_plural = ""
            elif re.fullmatch(r"msgstr(\[\d+\])?", keyword):
                current.msgstr.append("")
            else:
                raise AssertionError(f"unexpected line in {path}: {line}")
            part = keyword.partition("[")[0]

        if part == "msgid":
            current.msgid += text
        elif part == "msgid_plural":
            current.msgid_plural = (current.msgid_plural or "") + text
        else:
            current.msgstr[-1] += text
    if current is not None and current.msgid:
        entries.append(current)
    return entries


FORMAT_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

# Every catalogue that jwtsafe ships, so that a new language gets the same
# checks as French.
CATALOGUES = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/django.po"))
catalogue_params = pytest.mark.parametrize(
    "po_path", CATALOGUES, ids=[path.parts[-3] for path in CATALOGUES]
)


def plural_form_count(po_path: Path) -> int:
    """Return nplurals from the Plural-Forms header of a .po file."""
    match = re.search(r"nplurals=(\d+)", po_path.read_text(encoding="utf-8"))
    assert match is not None, f"no Plural-Forms header in {po_path}"
    return int(match.group(1))


def test_french_catalogue_shipped():
    assert FRENCH_PO in CATALOGUES
    assert FRENCH_MO.is_file()


@catalogue_params
def test_po_translates_every_message(po_path):
    entries = parse_po(po_path)
    assert entries, f"no messages in {po_path}"
    plural_forms = plural_form_count(po_path)
    for entry in entries:
        assert "fuzzy" not in entry.flags, f"fuzzy translation: {entry.msgid!r}"
        assert all(entry.msgstr), f"missing translation: {entry.msgid!r}"
        expected_forms = 1 if entry.msgid_plural is None else plural_forms
        assert len(entry.msgstr) == expected_forms, entry.msgid


@catalogue_params
def test_po_keeps_placeholders(po_path):
    for entry in parse_po(po_path):
        expected = set(FORMAT_PLACEHOLDER.findall(entry.msgid))
        for translation in entry.msgstr:
            found = set(FORMAT_PLACEHOLDER.findall(translation))
            assert found == expected, f"{entry.msgid!r} -> {translation!r}"


@catalogue_params
def test_mo_matches_po(po_path):
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.is_file(), f"{mo_path} is missing: run compilemessages"
    with mo_path.open("rb") as mo_file:
        compiled = gettext.GNUTranslations(mo_file)
    # GNUTranslations keeps every message in _catalog: a msgid for each
    # singular, a (msgid, form) pair for each plural form, "" for the header.
    catalog = dict(compiled._catalog)
    catalog.pop("", None)
    expected: dict[object, str] = {}
    for entry in parse_po(po_path):
        if entry.msgid_plural is None:
            expected[entry.msgid] = entry.msgstr[0]
        else:
            for form, translation in enumerate(entry.msgstr):
                expected[(entry.msgid, form)] = translation
    assert catalog == expected, (
        f"{mo_path} is out of date: run 'django-admin compilemessages' in jwtsafe/"
    )


@pytest.mark.skipif(
    shutil.which("msgfmt") is None, reason="msgfmt (GNU gettext) is not installed"
)
@catalogue_params
def test_po_passes_msgfmt_check(po_path, tmp_path):
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(po_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(
    shutil.which("xgettext") is None, reason="xgettext (GNU gettext) is not installed"
)
def test_po_has_every_source_message(tmp_path, monkeypatch):
    package = tmp_path / "jwtsafe"
    shutil.copytree(
        LOCALE_DIR.parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.chdir(package)
    languages = [po_path.parts[-3] for po_path in CATALOGUES]
    call_command("makemessages", locale=languages, verbosity=0)
    for po_path in CATALOGUES:
        collected_po = package / po_path.relative_to(LOCALE_DIR.parent)
        collected = {entry.msgid for entry in parse_po(collected_po)}
        shipped = {entry.msgid for entry in parse_po(po_path)}
        assert collected == shipped, (
            f"{po_path} is out of date: run 'django-admin makemessages -a' in "
            "jwtsafe/, translate, then compilemessages"
        )
