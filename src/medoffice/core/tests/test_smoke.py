import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_manager_sees_dashboard(client_for):
    response = client_for("manager").get(reverse("dashboard:home"))
    assert response.status_code == 200
    assert b"Approvals waiting for you" in response.content


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302
    assert reverse("core:login") in response["Location"]
