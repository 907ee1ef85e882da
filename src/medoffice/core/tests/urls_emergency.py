"""The project's URLs plus one record page guarded by a module's view permission, so the
emergency-access flow can be driven end to end through real pages (tests only)."""

from django.http import HttpResponse
from django.urls import include, path

from medoffice.core.access import get_for_user
from medoffice.core.models import Location


def record_page(request, pk: int) -> HttpResponse:
    record = get_for_user(Location, request.user, "patients.view", pk=pk, record_view=True)
    return HttpResponse(f"record {record.name}")


urlpatterns = [
    path("test-record/<int:pk>/", record_page, name="test_record"),
    path("", include("medoffice.urls")),  # the whole project, named as Django names it
]
