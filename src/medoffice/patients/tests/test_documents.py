import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.models import AuditEvent
from medoffice.patients import services
from medoffice.patients.models import PatientDocument

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="JPEG")
    return buffer.getvalue()


def tiff_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buffer, format="TIFF")
    return buffer.getvalue()


def upload(user, patient, name, content, **extra):
    return services.document_upload(
        actor=user, patient=patient, kind=extra.pop("kind", "insurance_card_front"),
        upload=SimpleUploadedFile(name, content), **extra,
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "maker", "content_type"),
    [
        ("card.pdf", lambda: PDF, "application/pdf"),
        ("card.png", png_bytes, "image/png"),
        ("card.JPG", jpeg_bytes, "image/jpeg"),
        ("card.tif", tiff_bytes, "image/tiff"),
        ("no-extension", png_bytes, "image/png"),
    ],
)
def test_allowed_types_are_stored_outside_the_database(
    users, patient, media_root, name, maker, content_type
):
    content = maker()
    document = upload(users["front_desk"], patient, name, content, description="front of card")
    assert document.content_type == content_type
    assert document.size == len(content)
    assert document.file.name.startswith(f"patients/{patient.pk}/")
    assert default_storage.exists(document.file.name)
    with default_storage.open(document.file.name, "rb") as stored:
        assert stored.read() == content
    assert document.uploaded_by == users["front_desk"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.pdf", b"MZ\x90\x00\x03 this is a windows program", "content"),
        ("card.png", b"<html><script>alert(1)</script></html>", "content"),
        ("card.pdf", png_bytes(), "named .pdf"),
        ("card.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "cannot be read"),
        ("scan.pdf", b"%PDF-1.4 truncated without an end", "incomplete"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_disguised_or_broken_files_are_rejected_and_nothing_is_stored(
    users, patient, media_root, name, content, message
):
    with pytest.raises(InvalidInput) as caught:
        upload(users["front_desk"], patient, name, content)
    assert "file" in caught.value.errors
    assert message in caught.value.errors["file"][0]
    assert not PatientDocument.objects.exists()
    assert not (media_root / "patients").exists() or not any((media_root / "patients").rglob("*.*"))


@pytest.mark.django_db
def test_size_limit(users, patient, media_root, settings):
    settings.MEDOFFICE_MAX_DOCUMENT_BYTES = 1024
    with pytest.raises(InvalidInput) as caught:
        upload(users["front_desk"], patient, "big.pdf", PDF + b"0" * 2000 + b"%%EOF")
    assert "limit" in caught.value.errors["file"][0]
    assert not PatientDocument.objects.exists()


@pytest.mark.django_db
def test_upload_needs_edit_permission(users, patient, media_root):
    with pytest.raises(NotPermitted):
        upload(users["clinician"], patient, "card.pdf", PDF)
    assert not PatientDocument.objects.exists()


@pytest.mark.django_db
def test_download_streams_the_file_and_writes_an_audit_event(
    users, patient, media_root, client_for
):
    document = upload(users["front_desk"], patient, "card.pdf", PDF)
    url = reverse("patients:document_download", args=[document.pk])
    for role in ("clinician", "auditor", "front_desk"):
        before = AuditEvent.objects.filter(action="download").count()
        response = client_for(role).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert "attachment" in response["Content-Disposition"]
        assert "no-store" in response["Cache-Control"]
        events = AuditEvent.objects.filter(action="download")
        assert events.count() == before + 1
        event = events.order_by("-id").first()
        assert event.patient_id == str(patient.pk)
        assert event.object_type == "patients.patientdocument"
        assert event.actor_id == users[role].pk


@pytest.mark.django_db
def test_download_refused_without_permission_and_not_audited(
    users, patient, media_root, client_for, client
):
    document = upload(users["front_desk"], patient, "card.pdf", PDF)
    url = reverse("patients:document_download", args=[document.pk])
    response = client_for("hr_payroll").get(url)
    assert response.status_code == 403
    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]
    assert not AuditEvent.objects.filter(action="download").exists()


@pytest.mark.django_db
def test_stored_files_have_no_public_url(users, patient, media_root, client):
    document = upload(users["front_desk"], patient, "card.pdf", PDF)
    response = client.get("/files/" + document.file.name)
    assert response.status_code in (302, 404)


@pytest.mark.django_db
def test_upload_page_shows_the_error_on_the_file_field(users, patient, media_root, client_for):
    response = client_for("front_desk").post(
        reverse("patients:document_upload", args=[patient.pk]),
        {"kind": "photo_id", "file": SimpleUploadedFile("id.jpg", b"GIF89a not allowed")},
    )
    assert response.status_code == 422
    assert "none of them" in response.context["form"].errors["file"][0]
    assert not PatientDocument.objects.exists()
