from __future__ import annotations

from django.contrib import admin

from .models import Note


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "updated_at"]
    list_filter = ["owner"]
    search_fields = ["title", "body"]
    raw_id_fields = ["owner"]
