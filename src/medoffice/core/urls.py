from django.urls import path

from medoffice.core import views, views_auth

app_name = "core"
urlpatterns = [
    path("account/login/", views_auth.LoginView.as_view(), name="login"),
    path("account/logout/", views_auth.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", views_auth.two_factor, name="two_factor"),
    path("account/tokens/", views.api_tokens, name="api_tokens"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:request_id>/decide/", views.approval_decide, name="approval_decide"),
    path("practice/", views.practice, name="practice"),
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
