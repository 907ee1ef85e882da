from django.urls import path

from medoffice.claims import views, views_claims, views_cms1500, views_mailbox

app_name = "claims"

urlpatterns = [
    path("", views.home, name="home"),
    path("worklist/", views_claims.worklist, name="worklist"),
    path("claim/<int:pk>/", views_claims.claim_detail, name="claim_detail"),
    path("claim/<int:pk>/scrub", views_claims.claim_scrub, name="claim_scrub"),
    path("claim/<int:pk>/override", views_claims.claim_override, name="claim_override"),
    path("claim/<int:pk>/void", views_claims.claim_void, name="claim_void"),
    path("claim/<int:pk>/replace", views_claims.claim_replace, name="claim_replace"),
    path("<int:claim_id>/cms1500.pdf", views_cms1500.claim_cms1500, name="claim_cms1500"),
    # The clearinghouse mailbox
    path("mailbox/", views_mailbox.mailbox, name="mailbox"),
    path("mailbox/collect/", views_mailbox.collect_now, name="mailbox_collect"),
    path("clearinghouses/", views_mailbox.clearinghouses, name="clearinghouses"),
    path("clearinghouses/new/", views_mailbox.clearinghouse_edit, name="clearinghouse_new"),
    path("clearinghouses/<int:pk>/", views_mailbox.clearinghouse_edit, name="clearinghouse_edit"),
    path(
        "clearinghouses/<int:pk>/test/", views_mailbox.clearinghouse_test, name="clearinghouse_test"
    ),
]
