from django.urls import path

from medoffice.claims import views, views_cms1500, views_mailbox

app_name = "claims"

urlpatterns = [
    path("", views.home, name="home"),
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
