from django.urls import path, re_path

from medoffice.core import setup_views, views, views_auth

app_name = "core"
urlpatterns = [
    path("account/login/", views_auth.LoginView.as_view(), name="login"),
    path("account/logout/", views_auth.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", views_auth.two_factor, name="two_factor"),
    path("account/tokens/", views.api_tokens, name="api_tokens"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:request_id>/decide/", views.approval_decide, name="approval_decide"),
    # Practice setup
    path("practice/", setup_views.overview, name="practice"),
    path("practice/edit/", setup_views.practice_edit, name="practice_edit"),
    path("practice/locations/", setup_views.location_list, name="locations"),
    path("practice/locations/new/", setup_views.location_edit, name="location_new"),
    path("practice/locations/<int:pk>/", setup_views.location_edit, name="location_edit"),
    path(
        "practice/locations/<int:pk>/active/", setup_views.location_active, name="location_active"
    ),
    path("practice/providers/", setup_views.provider_list, name="providers"),
    path("practice/providers/new/", setup_views.provider_edit, name="provider_new"),
    path("practice/providers/<int:pk>/", setup_views.provider_edit, name="provider_edit"),
    path(
        "practice/providers/<int:pk>/active/", setup_views.provider_active, name="provider_active"
    ),
    path("practice/staff/", setup_views.staff_list, name="staff"),
    path("practice/staff/new/", setup_views.staff_create, name="staff_new"),
    path("practice/staff/<int:pk>/", setup_views.staff_detail, name="staff_detail"),
    path("practice/staff/<int:pk>/roles/", setup_views.staff_roles, name="staff_roles"),
    path("practice/staff/<int:pk>/password/", setup_views.staff_password, name="staff_password"),
    re_path(
        r"^practice/staff/(?P<pk>[0-9]+)/(?P<action>deactivate|reactivate|unlock)/$",
        setup_views.staff_action,
        name="staff_action",
    ),
    path("practice/modules/", setup_views.modules, name="modules"),
    path("practice/limits/", setup_views.authority_limits, name="authority_limits"),
    # Audit and emergency access
    path("practice/audit/", views.audit_search, name="audit"),
    path("practice/audit/export.csv", views.audit_export, name="audit_export"),
    path("practice/emergency-access/", views.emergency_review, name="emergency_review"),
    path(
        "practice/emergency-access/<int:grant_id>/review/",
        views.emergency_review_one,
        name="emergency_review_one",
    ),
    path("emergency-access/open/", views.emergency_open, name="emergency_open"),
]
