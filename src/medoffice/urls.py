from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from medoffice.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard:home", permanent=False)),
    # Browsers ask for /favicon.ico before they read the page's icon link.
    path("favicon.ico", RedirectView.as_view(url=static("medoffice/favicon.svg"), permanent=True)),
    path("", include("medoffice.core.urls")),
    path("dashboard/", include("medoffice.dashboard.urls")),
    path("patients/", include("medoffice.patients.urls")),
    path("scheduling/", include("medoffice.scheduling.urls")),
    path("reception/", include("medoffice.reception.urls")),
    path("ledger/", include("medoffice.ledger.urls")),
    path("coding/", include("medoffice.coding.urls")),
    path("claims/", include("medoffice.claims.urls")),
    path("api/", api.urls),
    path("django-admin/", admin.site.urls),
]
# Stored files (scans, receipts) are never served by URL: each download goes through a
# view that checks permission and writes the audit trail, in debug mode too.
