"""DRF's DefaultRouter, whose root view lists routes and serves no objects."""

from rest_framework.routers import DefaultRouter

from example_project.notes.views import NoteViewSet

router = DefaultRouter()
router.register("notes", NoteViewSet, basename="note")

urlpatterns = router.urls
