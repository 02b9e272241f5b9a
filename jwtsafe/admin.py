"""Django admin for seeing and revoking jwtsafe sessions.

Staff with ``jwtsafe.view_session`` see the sessions; revoking needs
``jwtsafe.revoke_session``. Every revocation requires a reason, which is
stored on the session row and in Django's admin log. A revocation takes
effect on the next API request of the session or user, on every worker,
through the shared revocation cache.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .models import RevokeReason, Session, SessionState
from .sessions import revoke_session, revoke_user_sessions

REVOKE_PERMISSION = "jwtsafe.revoke_session"

SESSION_FIELDS = (
    "id",
    "user",
    "state_label",
    "created_at",
    "last_refreshed_at",
    "expires_at",
    "user_agent",
    "ip_address",
    "revoked_at",
    "revoke_reason",
    "revoked_by",
    "revoke_comment",
)
INLINE_FIELDS = (
    "created_at",
    "last_refreshed_at",
    "expires_at",
    "user_agent",
    "ip_address",
)


class RevokeForm(forms.Form):
    """The reason that an administrator gives for a revocation."""

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
        help_text=_("Stored on each session and in the admin log."),
    )


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return SessionState.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        value = self.value()
        return queryset.in_state(value) if value else queryset  # type: ignore[attr-defined]


def _confirm_revocation(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    action: str,
    title: str,
    targets: list[str],
) -> tuple[str | None, TemplateResponse | None]:
    """Return the reason once confirmed, or the page that requests it."""
    if "apply" in request.POST:
        form = RevokeForm(request.POST)
        if form.is_valid():
            return form.cleaned_data["reason"], None
    else:
        form = RevokeForm()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "form": form,
        "action": action,
        "targets": targets,
        "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        # "Select all" across pages: the action then gets every row.
        "select_across": request.POST.get("select_across") == "1",
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return None, TemplateResponse(request, "admin/jwtsafe/revoke.html", context)


class RevokeSessionsMixin:
    """Admin permission check shared by the session and user admins."""

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(REVOKE_PERMISSION))


@admin.register(Session)
class SessionAdmin(RevokeSessionsMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "user",
        "state_label",
        "created_at",
        "last_refreshed_at",
        "expires_at",
        "user_agent",
        "ip_address",
    ]
    list_filter = [StateFilter, ("user", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ()
    date_hierarchy = "created_at"
    actions = ["revoke_selected", "revoke_users"]
    fields = SESSION_FIELDS
    readonly_fields = SESSION_FIELDS

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        # The user model's own login and email fields, whatever their names.
        user_model = get_user_model()
        names = [user_model.USERNAME_FIELD, user_model.get_email_field_name()]
        user_fields = {field.name for field in user_model._meta.get_fields()}
        return [f"user__{name}" for name in dict.fromkeys(names) if name in user_fields]

    @admin.display(description=_("state"))
    def state_label(self, session: Session) -> str:
        return str(SessionState(session.state).label)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Rows change only through the revocation actions.
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return dict(actions)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # Rows go only with their user or through jwtsafe_prune. A session
        # is ended by revoking it, which records who did it and why. The
        # delete permission remains, because deleting a user from the admin
        # deletes their session rows and Django checks it for them.
        raise PermissionDenied

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Revoke selected sessions"), permissions=["revoke"])
    def revoke_selected(
        self, request: HttpRequest, queryset: QuerySet[Session]
    ) -> TemplateResponse | None:
        sessions = list(queryset.select_related("user"))
        reason, page = _confirm_revocation(
            self,
            request,
            queryset,
            "revoke_selected",
            gettext("Revoke sessions"),
            [
                gettext("session %(id)s of %(user)s")
                % {"id": session.id, "user": session.user}
                for session in sessions
            ],
        )
        if page is not None:
            return page
        count = 0
        for session in sessions:
            if revoke_session(
                session.id,
                RevokeReason.ADMIN,
                revoked_by=request.user,  # type: ignore[arg-type]
                comment=reason or "",
            ):
                count += 1
                # The admin log stores this text as given, so it stays in
                # English like jwtsafe's other logs.
                self.log_change(request, session, f"Revoked: {reason}")
        # The English singular and plural are the same text, which tests and
        # operators match. ngettext gives other languages their plural forms.
        message = ngettext(
            "Revoked %(count)d session(s).", "Revoked %(count)d session(s).", count
        ) % {"count": count}
        self.message_user(request, message, messages.SUCCESS)
        return None

    @admin.action(
        description=_("Revoke all sessions of the selected sessions' users"),
        permissions=["revoke"],
    )
    def revoke_users(
        self, request: HttpRequest, queryset: QuerySet[Session]
    ) -> TemplateResponse | None:
        users = {session.user for session in queryset.select_related("user")}
        return revoke_users_with_reason(self, request, queryset, users, "revoke_users")


def revoke_users_with_reason(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    users: set[Any],
    action: str,
) -> TemplateResponse | None:
    """Ask for a reason, then end every session of each user in ``users``."""
    reason, page = _confirm_revocation(
        model_admin,
        request,
        queryset,
        action,
        gettext("Revoke all sessions of users"),
        [gettext("all sessions of %(user)s") % {"user": user} for user in users],
    )
    if page is not None:
        return page
    count = 0
    for user in users:
        count += revoke_user_sessions(
            user,
            RevokeReason.ADMIN,
            revoked_by=request.user,  # type: ignore[arg-type]
            comment=reason or "",
        )
        model_admin.log_change(request, user, f"Revoked all sessions: {reason}")
    message = ngettext(
        "Revoked %(count)d session(s) of %(users)d user(s).",
        "Revoked %(count)d session(s) of %(users)d user(s).",
        count,
    ) % {"count": count, "users": len(users)}
    model_admin.message_user(request, message, messages.SUCCESS)
    return None


class ActiveSessionInline(admin.TabularInline):  # type: ignore[type-arg]
    """The user's active sessions, read-only, on the user's admin page."""

    model = Session
    fk_name = "user"
    fields = INLINE_FIELDS
    readonly_fields = INLINE_FIELDS
    extra = 0
    can_delete = False
    verbose_name_plural = _("active sessions")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Session]:
        return super().get_queryset(request).in_state(SessionState.ACTIVE)  # type: ignore[attr-defined, no-any-return]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class UserSessionsAdminMixin(RevokeSessionsMixin):
    """Add to a user admin: an inline of active sessions and a revoke action.

    ``class UserAdmin(UserSessionsAdminMixin, BaseUserAdmin): ...``. jwtsafe
    applies it to ``auth.User``'s admin itself when Django's default
    ``UserAdmin`` is the one registered.
    """

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        inlines = list(super().get_inlines(request, obj))  # type: ignore[misc]
        if request.user.has_perm("jwtsafe.view_session"):
            inlines.append(ActiveSessionInline)
        return inlines

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        if self.has_revoke_permission(request):
            actions["revoke_all_sessions"] = (
                UserSessionsAdminMixin.revoke_all_sessions,
                "revoke_all_sessions",
                _("Revoke all sessions"),
            )
        return dict(actions)

    def revoke_all_sessions(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        if not self.has_revoke_permission(request):
            return None
        return revoke_users_with_reason(
            self,  # type: ignore[arg-type]
            request,
            queryset,
            set(queryset),
            "revoke_all_sessions",
        )


def _extend_default_user_admin() -> None:
    """Apply the mixin to auth.User's admin if it is Django's own UserAdmin."""
    from django.contrib.auth.admin import UserAdmin

    user_model = get_user_model()
    registered = admin.site._registry.get(user_model)
    if type(registered) is not UserAdmin:
        return

    class JWTSafeUserAdmin(UserSessionsAdminMixin, UserAdmin):  # type: ignore[type-arg]
        pass

    admin.site.unregister(user_model)
    admin.site.register(user_model, JWTSafeUserAdmin)


_extend_default_user_admin()
