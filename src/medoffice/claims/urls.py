from django.urls import path

from medoffice.claims import views, views_mailbox

app_name = "claims"

urlpatterns = [
    path("", views.home, name="home"),
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
