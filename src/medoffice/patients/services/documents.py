"""A patient's scanned documents: checked by content, stored through the storage API,
and every opening and removal recorded in the audit trail.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput
from medoffice.core.models import AuditAction, User
from medoffice.patients.models import DocumentKind, Patient, PatientDocument
from medoffice.patients.permissions import PatientsPerm
from medoffice.patients.services._common import (
    _date,
    _locked_patient,
    _model_errors,
    _raise_if,
    _text,
)

DOCUMENT_TYPES = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/png": ("png",),
    "image/tiff": ("tif", "tiff"),
}


def max_document_bytes() -> int:
    return int(getattr(settings, "MEDOFFICE_MAX_DOCUMENT_BYTES", 20 * 1024 * 1024))


def sniff_content_type(head: bytes) -> str | None:
    """The type of a file from its first bytes (its signature), whatever its name says."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    return None


def _content_errors(upload: File, content_type: str) -> str | None:
    """Look past the signature: images must open, a PDF must end like one."""
    upload.seek(0)
    if content_type == "application/pdf":
        size = upload.size
        upload.seek(max(size - 2048, 0))
        tail = upload.read()
        upload.seek(0)
        return None if b"%%EOF" in tail else "The PDF is incomplete or damaged."
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(upload) as image:
            image.verify()
            fmt = (image.format or "").upper()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return "The image cannot be read; it may be damaged or not an image."
    finally:
        upload.seek(0)
    expected = {"image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF"}[content_type]
    return None if fmt == expected else "The image content does not match its type."


@transaction.atomic
@binds_actor("actor")
def document_upload(
    *,
    actor: User | None,
    patient: Patient,
    kind: str,
    upload: File | None,
    document_date: date | None = None,
    description: str = "",
) -> PatientDocument:
    """Store a scan through the storage API; PDF, JPEG, PNG or TIFF by content, size-limited."""
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    patient = _locked_patient(patient)
    errors: dict = {}
    if kind not in DocumentKind.values:
        errors["kind"] = ["Choose the kind of document."]
    limit = max_document_bytes()
    content_type = None
    if upload is None or not getattr(upload, "size", 0):
        errors["file"] = ["Choose a file to upload; it is empty or missing."]
    elif upload.size > limit:
        errors["file"] = [
            f"The file is {upload.size / 1048576:.1f} MB; the limit is {limit / 1048576:.0f} MB."
        ]
    else:
        upload.seek(0)
        content_type = sniff_content_type(upload.read(16))
        upload.seek(0)
        suffix = PurePosixPath(upload.name or "").suffix.lower().lstrip(".")
        if content_type is None:
            errors["file"] = [
                "Only PDF, JPEG, PNG or TIFF files; this file's content is none of them."
            ]
        elif suffix and suffix not in DOCUMENT_TYPES[content_type]:
            errors["file"] = [
                f"The file is named .{suffix} but its content is {content_type}; "
                "rename it or upload the right file."
            ]
        else:
            problem = _content_errors(upload, content_type)
            if problem:
                errors["file"] = [problem]
    document_date = _date(document_date, "document_date", errors) or timezone.localdate()
    _raise_if(errors)
    assert upload is not None and content_type is not None  # _raise_if refused the rest
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    document = PatientDocument(
        patient=patient,
        kind=kind,
        original_name=PurePosixPath(upload.name or "scan").name[:200],
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        document_date=document_date,
        description=_text(description)[:200],
        uploaded_by=actor,
    )
    extension = DOCUMENT_TYPES[content_type][0]
    document.file.save(f"scan.{extension}", upload, save=False)
    try:
        _raise_if(_model_errors(document, exclude=["uploaded_by"]))
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    return document


@binds_actor("user")
def document_download(*, user: User, document: PatientDocument) -> PatientDocument:
    """Record that a user is opening a stored document (the caller streams it)."""
    audit.record(
        AuditAction.DOWNLOAD,
        obj=document,
        changes={"file": document.file.name, "sha256": document.sha256},
    )
    return document


@transaction.atomic
@binds_actor("actor")
def document_delete(*, actor: User | None, document: PatientDocument, reason: str) -> None:
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    if not (reason or "").strip():
        raise InvalidInput("reason: say why the document is removed.", field="reason")
    name = document.file.name
    audit.record(AuditAction.DELETE, obj=document, reason=reason.strip(),
                 changes={"file": name})  # fmt: skip
    document.delete()
    transaction.on_commit(lambda: document.file.storage.delete(name))
