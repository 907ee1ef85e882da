from django.urls import path

from medoffice.claims import views, views_acks, views_cms1500

app_name = "claims"

urlpatterns = [
    path("", views.home, name="home"),
    path("<int:claim_id>/cms1500.pdf", views_cms1500.claim_cms1500, name="claim_cms1500"),
    path("responses/apply/", views_acks.acks_apply, name="acks_apply"),
]
