"""Object-level authorization through real requests.

Alice owns notes, projects and tasks; bob tries to read, change, delete and
list them by id. Another user's object must get 404 wherever the caller may
not see it, 403 where the caller may see it but not change it, and the
database must be unchanged after every rejected write.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from example_project.notes.models import Note
from jwtsafe.ownership import check_user_path
from jwtsafe.permissions import HasScope
from jwtsafe.sessions import issue_token_pair
from tests.conftest import DOCUMENTED_CLAIMS, bearer, login, mint, split_token
from tests.testapp.models import Document, Project, Task, UsernameOwned

REPO_ROOT = Path(__file__).resolve().parent.parent


class Caller:
    """A user with a token pair, sending requests through one API client."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.client = APIClient()
        self.access = login(self.client, user)["access"]

    def send(self, method: str, path: str, body: Any = None) -> Any:
        send = getattr(self.client, method.lower())
        return send(path, body, format="json", **bearer(self.access))


@pytest.fixture
def alice(user: Any) -> Caller:
    return Caller(user)


@pytest.fixture
def bob(other_user: Any) -> Caller:
    return Caller(other_user)


@pytest.fixture
def alice_note(user: Any) -> Note:
    return Note.objects.create(owner=user, title="Alice's plans", body="private")


@pytest.fixture
def shared_note(user: Any, other_user: Any) -> Note:
    note = Note.objects.create(owner=user, title="Reading list", body="RFC 8725")
    note.shared_with.add(other_user)
    return note


def note_state(note: Note) -> tuple[Any, ...]:
    note.refresh_from_db()
    return (note.owner_id, note.title, note.body, note.updated_at)


WRITES = [
    ("PATCH", {"title": "Changed by bob"}),
    ("PUT", {"title": "Changed by bob", "body": "", "shared_with": []}),
    ("DELETE", None),
]


# Notes: another user's note is invisible


@pytest.mark.parametrize("method,body", [("GET", None), *WRITES])
def test_other_users_note_not_found(bob, alice_note, method, body):
    before = note_state(alice_note)
    response = bob.send(method, f"/api/notes/{alice_note.pk}/", body)
    assert response.status_code == 404
    assert note_state(alice_note) == before


def test_other_users_note_looks_missing(bob, alice_note):
    missing = bob.send("GET", "/api/notes/999999/")
    existing = bob.send("GET", f"/api/notes/{alice_note.pk}/")
    assert existing.status_code == missing.status_code == 404
    assert existing.json() == missing.json()


def test_list_holds_only_own_and_shared_notes(alice, bob, alice_note, shared_note):
    own = Note.objects.create(owner=bob.user, title="Bob's note")
    # The test settings set no pagination, so the list is the whole body.
    listed = bob.send("GET", "/api/notes/").json()
    assert {note["title"] for note in listed} == {own.title, shared_note.title}


def test_owner_reads_and_changes_own_note(alice, alice_note):
    assert alice.send("GET", f"/api/notes/{alice_note.pk}/").status_code == 200
    response = alice.send("PATCH", f"/api/notes/{alice_note.pk}/", {"title": "New"})
    assert response.status_code == 200
    assert note_state(alice_note)[1] == "New"


def test_create_sets_owner_from_token(bob, user):
    response = bob.send("POST", "/api/notes/", {"title": "Mine", "owner": user.pk})
    assert response.status_code == 201
    assert Note.objects.get(pk=response.json()["id"]).owner_id == bob.user.pk


# Notes: a shared note is readable, not writable


def test_shared_note_readable(bob, shared_note):
    response = bob.send("GET", f"/api/notes/{shared_note.pk}/")
    assert response.status_code == 200
    assert response.json()["title"] == shared_note.title


@pytest.mark.parametrize("method,body", WRITES)
def test_shared_note_not_writable(bob, shared_note, method, body):
    before = note_state(shared_note)
    response = bob.send(method, f"/api/notes/{shared_note.pk}/", body)
    assert response.status_code == 403
    assert note_state(shared_note) == before
    assert list(shared_note.shared_with.all()) == [bob.user]


def test_unshared_note_disappears_at_once(alice, bob, shared_note):
    path = f"/api/notes/{shared_note.pk}/"
    assert bob.send("GET", path).status_code == 200
    response = alice.send("PATCH", path, {"shared_with": []})
    assert response.status_code == 200
    assert bob.send("GET", path).status_code == 404


# Nested routes: tasks owned through their project


@pytest.fixture
def alice_task(user: Any) -> Task:
    project = Project.objects.create(owner=user, name="Launch")
    return Task.objects.create(project=project, title="Write the announcement")


def task_path(task: Task) -> str:
    return f"/projects/{task.project_id}/tasks/{task.pk}/"


@pytest.mark.parametrize("method,body", [("GET", None), *WRITES[:1], WRITES[2]])
def test_other_users_task_not_found(bob, alice_task, method, body):
    response = bob.send(method, task_path(alice_task), body)
    assert response.status_code == 404
    alice_task.refresh_from_db()
    assert alice_task.title == "Write the announcement"


def test_other_users_task_list_empty(bob, alice_task):
    response = bob.send("GET", f"/projects/{alice_task.project_id}/tasks/")
    assert response.status_code == 200
    assert response.json() == []


def test_project_member_reads_not_writes(bob, alice_task):
    alice_task.project.members.add(bob.user)
    assert bob.send("GET", task_path(alice_task)).status_code == 200
    response = bob.send("PATCH", task_path(alice_task), {"title": "Changed"})
    assert response.status_code == 403


def test_project_owner_changes_task(alice, alice_task):
    response = alice.send("PATCH", task_path(alice_task), {"title": "Done"})
    assert response.status_code == 200


def test_task_not_created_in_foreign_project(bob, alice_task):
    path = f"/projects/{alice_task.project_id}/tasks/"
    response = bob.send("POST", path, {"title": "Planted by bob"})
    assert response.status_code == 404
    assert not Task.objects.filter(title="Planted by bob").exists()


def test_task_created_in_own_project(alice, alice_task):
    path = f"/projects/{alice_task.project_id}/tasks/"
    assert alice.send("POST", path, {"title": "Next step"}).status_code == 201


@pytest.mark.parametrize("method,body", [("GET", None), *WRITES[:1], WRITES[2]])
def test_owner_check_hides_task_without_filter(bob, alice_task, method, body):
    # TaskDetailView has IsOwner and no OwnerFilter: a stranger still gets
    # the 404 of a missing id, with the same body.
    existing = bob.send(method, f"/task-detail/{alice_task.pk}/", body)
    missing = bob.send(method, "/task-detail/999999/", body)
    assert existing.status_code == missing.status_code == 404
    assert existing.json() == missing.json()
    alice_task.refresh_from_db()
    assert alice_task.title == "Write the announcement"


# Owner paths must lead to the user's primary key


@pytest.mark.parametrize(
    "model,path,setting",
    [
        (UsernameOwned, "owner", "owner_field"),
        (Project, "members", "owner_field"),
        (Task, "title", "owner_field"),
        (Task, "project", "owner_field"),
        (Task, "project__nothing", "reader_field"),
    ],
    ids=["to-username", "many-to-many-owner", "not-a-relation", "not-the-user", "typo"],
)
def test_bad_owner_path_rejected(model, path, setting):
    with pytest.raises(ImproperlyConfigured):
        check_user_path(model, path, setting)


@pytest.mark.parametrize(
    "model,path,setting",
    [
        (Note, "owner", "owner_field"),
        (Note, "shared_with", "reader_field"),
        (Task, "project__owner", "owner_field"),
        (Task, "project__members", "reader_field"),
    ],
)
def test_owner_path_to_primary_key_accepted(model, path, setting):
    check_user_path(model, path, setting)


# Views that forget owner_field fail loudly


@pytest.mark.parametrize("path", ["/unowned-tasks/", "/unowned-tasks/1/"])
def test_missing_owner_field_raises(alice, path):
    with pytest.raises(ImproperlyConfigured, match="owner_field"):
        alice.send("GET", path)


# Per-object permissions from an authentication backend


@pytest.fixture
def editors_group() -> Group:
    group = Group.objects.create(name="editors")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="testapp",
            codename__in=["view_document", "change_document", "delete_document"],
        )
    )
    return group


@pytest.fixture
def document(other_user: Any) -> Document:
    document = Document.objects.create(title="Budget")
    document.editors.add(other_user)
    return document


def test_editor_changes_document(bob, document, editors_group):
    bob.user.groups.add(editors_group)
    response = bob.send("PATCH", f"/documents/{document.pk}/", {"title": "New"})
    assert response.status_code == 200


def test_removed_role_stops_at_once(bob, document, editors_group):
    bob.user.groups.add(editors_group)
    path = f"/documents/{document.pk}/"
    assert bob.send("GET", path).status_code == 200

    bob.user.groups.remove(editors_group)

    # The same access token, with nothing revoked: the next request reads
    # the groups from the database again.
    assert bob.send("GET", path).status_code == 404
    response = bob.send("PATCH", path, {"title": "Changed"})
    assert response.status_code == 404
    document.refresh_from_db()
    assert document.title == "Budget"


def test_non_editor_denied(alice, document, editors_group):
    alice.user.groups.add(editors_group)
    assert alice.send("GET", f"/documents/{document.pk}/").status_code == 404


def test_non_editor_sees_missing_id_body(alice, document):
    existing = alice.send("GET", f"/documents/{document.pk}/")
    missing = alice.send("GET", "/documents/999999/")
    assert existing.status_code == missing.status_code == 404
    assert existing.json() == missing.json()


def test_create_needs_model_permission(bob, editors_group):
    assert bob.send("POST", "/documents/", {"title": "New"}).status_code == 403
    bob.user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="testapp", codename="add_document"
        )
    )
    assert bob.send("POST", "/documents/", {"title": "New"}).status_code == 201


# Tokens carry no roles


def test_token_carries_no_roles(user, editors_group):
    user.is_staff = True
    user.is_superuser = True
    user.save()
    user.groups.add(editors_group)
    pair = issue_token_pair(user)
    for token in (pair.access, pair.refresh):
        header, claims = split_token(token)
        assert set(claims) == DOCUMENTED_CLAIMS


def test_role_claims_in_token_ignored(client, user):
    # A token signed with the server key that claims to be staff changes
    # nothing: privileges come from the user row.
    header, claims = split_token(login(client, user)["access"])
    forged = mint(header, {**claims, "is_staff": True, "groups": ["admins"]})
    response = client.get("/privileges/", **bearer(forged))
    assert response.status_code == 200
    assert response.json()["is_staff"] is False


# Scopes


def test_scope_allows_its_methods(user):
    pair = issue_token_pair(user, scopes=["notes:read"])
    client = APIClient()
    response = client.get("/scoped/", **bearer(pair.access))
    assert response.status_code == 200
    assert response.json() == {"scopes": ["notes:read"]}
    assert client.post("/scoped/", **bearer(pair.access)).status_code == 403


def test_token_without_scope_denied(alice):
    assert alice.send("GET", "/scoped/").status_code == 403


def test_head_uses_get_scopes(user):
    pair = issue_token_pair(user, scopes=["notes:read"])
    assert APIClient().head("/scoped/", **bearer(pair.access)).status_code == 200


@pytest.mark.parametrize("required", [5, "notes:read", [1]], ids=["int", "str", "ints"])
def test_malformed_required_scopes_raise(user, required):
    request = SimpleNamespace(method="GET", auth=None)
    view = SimpleNamespace(required_scopes=required)
    with pytest.raises(ImproperlyConfigured):
        HasScope().has_permission(request, view)


def test_method_missing_from_scope_map_denied(user):
    pair = issue_token_pair(user, scopes=["notes:read", "notes:write"])
    assert APIClient().delete("/scoped/", **bearer(pair.access)).status_code == 403


def test_refresh_keeps_scopes(user):
    pair = issue_token_pair(user, scopes=["notes:read"])
    client = APIClient()
    refreshed = client.post("/auth/refresh/", {"refresh": pair.refresh}, format="json")
    access = refreshed.json()["access"]
    assert split_token(access)[1]["scope"] == "notes:read"


@pytest.mark.parametrize(
    "scope", ["", "notes:read  notes:write", 'no"quote', 5, ["notes:read"]]
)
def test_malformed_scope_claim_rejected(client, user, scope):
    header, claims = split_token(login(client, user)["access"])
    forged = mint(header, {**claims, "scope": scope})
    response = client.get("/scoped/", **bearer(forged))
    assert response.status_code == 401


def test_invalid_scope_name_not_issued(user):
    with pytest.raises(ValueError):
        issue_token_pair(user, scopes=["two words"])


# The audit command


def audit(*args: str) -> str:
    output = StringIO()
    call_command("jwtsafe_audit", *args, stdout=output)
    return output.getvalue()


def test_audit_flags_unprotected_views():
    output = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "jwtsafe_audit", "--urlconf", "tests.unprotected_urls", stdout=output
        )
    assert raised.value.returncode == 1
    rows = output.getvalue().splitlines()[1:]
    assert len(rows) == 6
    for row in rows:
        assert row.startswith("UNPROTECTED")
    for view in ("UnprotectedTaskViewSet", "ReadersWriteViewSet", "PlainTaskView"):
        assert view in output.getvalue()


def test_audit_passes_default_router_root():
    output = audit("--urlconf", "tests.router_urls")
    assert "NO OBJECTS  rest_framework.routers.APIRootView" in output
    assert "UNPROTECTED" not in output


def test_audit_passes_test_views():
    output = audit()
    assert "UNPROTECTED" not in output
    assert "OK" in output
    assert "EXEMPT" in output
    assert "NO OBJECTS" in output


def test_audit_passes_example_project(tmp_path):
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    env["JWTSAFE_SIGNING_KEY"] = secrets.token_urlsafe(32)
    env["EXAMPLE_DB_PATH"] = str(tmp_path / "example.sqlite3")
    result = subprocess.run(
        [sys.executable, "manage.py", "jwtsafe_audit"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "NoteViewSet" in result.stdout
    assert "UNPROTECTED" not in result.stdout
