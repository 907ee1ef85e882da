"""The project's URLs plus one record page guarded by a module's view permission, so the
emergency-access flow can be driven end to end through real pages (tests only)."""

from django.http import HttpResponse
from django.urls import path

from medoffice.core.access import get_for_user
from medoffice.core.permissions import Perm
from medoffice.patients.models import Patient
from medoffice.urls import urlpatterns as project_urlpatterns


def record_page(request, pk: int) -> HttpResponse:
    record = get_for_user(Patient, request.user, Perm.VIEW_PATIENTS, pk=pk, record_view=True)
    return HttpResponse(f"record {record.last_name}")


urlpatterns = [
    *project_urlpatterns,
    path("test-record/<int:pk>/", record_page, name="test_record"),
]
