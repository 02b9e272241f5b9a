"""The sessions admin and the revoke and prune commands, through real admin URLs.

A staff client logs in to Django's admin with a session cookie, as an
operator would, and revokes. The API client of the affected user then gets
401 on its next request.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from jwtsafe.models import RevokeReason, Session
from jwtsafe.sessions import issue_token_pair, revoke_session
from tests.conftest import PASSWORD, bearer

SESSIONS_URL = "/admin/jwtsafe/session/"


def user_admin_url() -> str:
    meta = get_user_model()._meta
    return f"/admin/{meta.app_label}/{meta.model_name}/"


def grant(user: Any, *codenames: str) -> None:
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="jwtsafe", codename__in=codenames
        )
    )


@pytest.fixture
def operator(make_user: Any) -> Any:
    staff = make_user(username="operator", is_staff=True)
    grant(staff, "view_session", "revoke_session")
    return staff


def admin_client(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.get_username(), password=PASSWORD)
    return client


def api_status(access: str) -> int:
    return APIClient().get("/whoami/", **bearer(access)).status_code


def run_action(
    client: Client, url: str, action: str, ids: list[Any], reason: str | None
) -> Any:
    data: dict[str, Any] = {"action": action, "_selected_action": [str(i) for i in ids]}
    if reason is not None:
        data.update(apply="1", reason=reason)
    return client.post(url, data)


# The sessions list


def test_list_shows_sessions_and_states(operator, user):
    active = issue_token_pair(user)
    revoked = issue_token_pair(user)
    revoke_session(revoked.session_id)
    response = admin_client(operator).get(SESSIONS_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert active.session_id not in page
    assert "Active" in page
    assert "Revoked" in page
    assert user.get_username() in page


@pytest.mark.parametrize(
    "state,expected", [("active", 1), ("revoked", 1), ("reuse_detected", 0)]
)
def test_state_filter(operator, user, state, expected):
    issue_token_pair(user)
    revoke_session(issue_token_pair(user).session_id)
    response = admin_client(operator).get(SESSIONS_URL, {"state": state})
    assert response.status_code == 200
    assert response.context["cl"].result_count == expected


def test_search_by_username(operator, user, other_user):
    issue_token_pair(user)
    issue_token_pair(other_user)
    response = admin_client(operator).get(SESSIONS_URL, {"q": user.get_username()})
    assert response.context["cl"].result_count == 1


def test_no_add_or_change(operator, user):
    pair = issue_token_pair(user)
    client = admin_client(operator)
    assert client.get(SESSIONS_URL + "add/").status_code == 403
    detail = client.get(f"{SESSIONS_URL}{pair.session_id}/change/")
    assert detail.status_code == 200
    assert b'name="user_agent"' not in detail.content


# Revoking from the sessions list


def test_revoke_asks_for_reason_first(operator, user):
    pair = issue_token_pair(user)
    client = admin_client(operator)
    response = run_action(
        client, SESSIONS_URL, "revoke_selected", [pair.session_id], None
    )
    assert response.status_code == 200
    assert b'name="reason"' in response.content
    assert api_status(pair.access) == 200


def test_revoke_selected_takes_effect_at_once(operator, user):
    pair = issue_token_pair(user)
    other = issue_token_pair(user)
    client = admin_client(operator)
    assert api_status(pair.access) == 200
    response = run_action(
        client, SESSIONS_URL, "revoke_selected", [pair.session_id], "laptop stolen"
    )
    assert response.status_code == 302
    assert api_status(pair.access) == 401
    assert api_status(other.access) == 200

    session = Session.objects.get(pk=pair.session_id)
    assert session.revoke_reason == RevokeReason.ADMIN
    assert session.revoked_by_id == operator.pk
    assert session.revoke_comment == "laptop stolen"
    entry = LogEntry.objects.get(object_id=str(session.pk))
    assert "laptop stolen" in entry.change_message
    assert entry.user_id == operator.pk

    listing = client.get(SESSIONS_URL)
    assert "Revoked 1 session(s)." in listing.content.decode()


def test_select_across_pages_revokes_every_session(operator, user):
    pairs = [issue_token_pair(user) for _ in range(3)]
    client = admin_client(operator)
    # The changelist shows one page; "select all" sends its ids and
    # select_across, and the confirmation page must carry both.
    first = client.post(
        SESSIONS_URL,
        {
            "action": "revoke_selected",
            "_selected_action": [pairs[0].session_id],
            "select_across": "1",
        },
    )
    assert b'name="select_across"' in first.content
    client.post(
        SESSIONS_URL,
        {
            "action": "revoke_selected",
            "_selected_action": [pairs[0].session_id],
            "select_across": "1",
            "apply": "1",
            "reason": "all of them",
        },
    )
    for pair in pairs:
        assert api_status(pair.access) == 401


def test_sessions_cannot_be_deleted(make_user, user):
    superuser = make_user(username="root", is_staff=True, is_superuser=True)
    pair = issue_token_pair(user)
    client = admin_client(superuser)
    url = f"{SESSIONS_URL}{pair.session_id}/delete/"
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Session.objects.filter(pk=pair.session_id).exists()
    detail = client.get(f"{SESSIONS_URL}{pair.session_id}/change/")
    assert b"deletelink" not in detail.content


def test_revoke_users_ends_every_session(operator, user):
    first = issue_token_pair(user)
    second = issue_token_pair(user)
    client = admin_client(operator)
    run_action(client, SESSIONS_URL, "revoke_users", [first.session_id], "left")
    assert api_status(first.access) == 401
    assert api_status(second.access) == 401
    assert Session.objects.filter(user=user, revoked_by=operator).count() == 2


def test_empty_reason_revokes_nothing(operator, user):
    pair = issue_token_pair(user)
    client = admin_client(operator)
    response = run_action(
        client, SESSIONS_URL, "revoke_selected", [pair.session_id], ""
    )
    assert response.status_code == 200
    assert api_status(pair.access) == 200


# Permissions


def test_non_staff_cannot_see_sessions(user):
    client = admin_client(user)
    assert client.get(SESSIONS_URL).status_code == 302


def test_viewer_without_revoke_permission_cannot_revoke(make_user, user):
    viewer = make_user(username="viewer", is_staff=True)
    grant(viewer, "view_session")
    pair = issue_token_pair(user)
    client = admin_client(viewer)
    assert client.get(SESSIONS_URL).status_code == 200
    run_action(client, SESSIONS_URL, "revoke_selected", [pair.session_id], "no right")
    assert api_status(pair.access) == 200
    assert not Session.objects.get(pk=pair.session_id).revoked_at


def test_staff_without_view_permission_sees_nothing(make_user):
    staff = make_user(username="staff", is_staff=True)
    assert admin_client(staff).get(SESSIONS_URL).status_code == 403


# The user admin


def test_user_admin_action_revokes_all_sessions(operator, user):
    operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    pair = issue_token_pair(user)
    client = admin_client(operator)
    response = run_action(
        client, user_admin_url(), "revoke_all_sessions", [user.pk], "account review"
    )
    assert response.status_code == 302
    assert api_status(pair.access) == 401
    assert LogEntry.objects.filter(object_id=str(user.pk)).exists()


def test_user_admin_shows_active_sessions(operator, user):
    operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    issue_token_pair(user, request=None)
    response = admin_client(operator).get(f"{user_admin_url()}{user.pk}/change/")
    assert response.status_code == 200
    assert "active sessions" in response.content.decode().lower()


def test_user_deleted_from_admin(operator, user, make_user):
    superuser = make_user(username="root", is_staff=True, is_superuser=True)
    pair = issue_token_pair(user)
    client = admin_client(superuser)
    response = client.post(f"{user_admin_url()}{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not Session.objects.filter(pk=pair.session_id).exists()
    assert api_status(pair.access) == 401


def test_user_without_sessions_deleted_from_admin(user, make_user):
    superuser = make_user(username="root", is_staff=True, is_superuser=True)
    response = admin_client(superuser).post(
        f"{user_admin_url()}{user.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302


# Commands


def command(*args: str) -> str:
    output = StringIO()
    call_command(*args, stdout=output)
    return output.getvalue()


def test_revoke_command_one_session(user):
    pair = issue_token_pair(user)
    output = command("jwtsafe_revoke", "--session", pair.session_id)
    assert "Revoked session" in output
    assert api_status(pair.access) == 401
    assert Session.objects.get(pk=pair.session_id).revoke_reason == RevokeReason.COMMAND


def test_revoke_command_user(user):
    pair = issue_token_pair(user)
    output = command("jwtsafe_revoke", "--user", user.get_username(), "--reason", "x")
    assert "Revoked 1 session(s)" in output
    assert api_status(pair.access) == 401


def test_revoke_command_all_needs_confirmation(user, other_user):
    first = issue_token_pair(user)
    second = issue_token_pair(other_user)
    with pytest.raises(CommandError):
        command("jwtsafe_revoke", "--all")
    assert api_status(first.access) == 200
    output = command("jwtsafe_revoke", "--all", "--yes")
    assert "Revoked 2 session(s) of 2 user(s)" in output
    assert api_status(first.access) == 401
    assert api_status(second.access) == 401


@pytest.mark.parametrize(
    "args",
    [
        ["--session", "not-a-uuid"],
        ["--session", "0" * 32],
        ["--user", "nobody"],
        ["--user", "pk:abc"],
        ["--session", "", "--yes"],
        ["--user", "", "--yes"],
        ["--user", "pk:", "--yes"],
        ["--user", "alice", "--reason", " "],
    ],
)
def test_revoke_command_rejects_bad_target(user, other_user, args):
    pair = issue_token_pair(other_user)
    with pytest.raises(CommandError):
        command("jwtsafe_revoke", *args)
    assert api_status(pair.access) == 200


@pytest.mark.parametrize("days", ["-5", "3000000"])
def test_prune_rejects_bad_retention(db, days):
    with pytest.raises(CommandError):
        command("jwtsafe_prune", "--retention-days", days)


def test_prune_deletes_only_old_rows(user):
    recent = issue_token_pair(user)
    old = issue_token_pair(user)
    Session.objects.filter(pk=old.session_id).update(
        expires_at=timezone.now() - timedelta(days=31)
    )
    output = command("jwtsafe_prune", "--retention-days", "30")
    assert "Deleted 1 session row(s)" in output
    assert Session.objects.filter(pk=recent.session_id).exists()
    assert not Session.objects.filter(pk=old.session_id).exists()
