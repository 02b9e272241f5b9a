"""An authentication backend with per-object permissions, as django-rules gives."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend

from .models import Document

# The permissions an editor of a document has on it.
EDITOR_PERMISSIONS = frozenset(
    {"testapp.view_document", "testapp.change_document", "testapp.delete_document"}
)


class DocumentEditorBackend(BaseBackend):
    """Grant editors of a document view, change and delete on it.

    Being an editor also needs the model-wide permission from the user's
    groups, so removing the user from the group takes the access away.
    """

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if not isinstance(obj, Document) or perm not in EDITOR_PERMISSIONS:
            return False
        if not user_obj.is_active:
            return False
        # ModelBackend reads group permissions once per user object, so the
        # check reads the database as it is at this request.
        if not user_obj.has_perm(perm):
            return False
        return obj.editors.filter(pk=user_obj.pk).exists()
