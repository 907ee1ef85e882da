from django.urls import path

from medoffice.claims import views, views_claims

app_name = "claims"

urlpatterns = [
    path("", views.home, name="home"),
    path("worklist/", views_claims.worklist, name="worklist"),
    path("claim/<int:pk>/", views_claims.claim_detail, name="claim_detail"),
    path("claim/<int:pk>/scrub", views_claims.claim_scrub, name="claim_scrub"),
    path("claim/<int:pk>/override", views_claims.claim_override, name="claim_override"),
    path("claim/<int:pk>/void", views_claims.claim_void, name="claim_void"),
    path("claim/<int:pk>/replace", views_claims.claim_replace, name="claim_replace"),
]
