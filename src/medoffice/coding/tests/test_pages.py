"""The code search page (htmx as one types), the import page, and the API: who may use them,
what they show, and an upload's errors in words with nothing written."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from medoffice.coding import imports
from medoffice.coding.models import CodeSetRelease, ProcedureCode
from medoffice.coding.tests.corpus import CPT_CSV, CPT_MAP

pytestmark = pytest.mark.django_db


@pytest.fixture
def cpt(users):
    imports.import_cpt(data=CPT_CSV, source_name="cpt_2024.csv", column_map=CPT_MAP,
                       actor=users["biller"])  # fmt: skip


@pytest.mark.parametrize("name", ["coding:home", "coding:codes", "coding:import"])
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize(
    ("role", "codes", "upload"),
    [
        ("front_desk", 403, 403),
        ("medical_assistant", 403, 403),
        ("clinician", 200, 403),
        ("auditor", 200, 403),
        ("biller", 200, 200),
        ("manager", 200, 200),
    ],
)
def test_who_may_search_and_who_may_load(client_for, role, codes, upload):
    client = client_for(role)
    assert client.get(reverse("coding:codes"), {"q": "e11.9"}).status_code == codes
    assert client.get(reverse("coding:import")).status_code == upload


def test_code_search_page_and_its_htmx_results(client_for, cpt):
    client = client_for("clinician")
    page = client.get(reverse("coding:codes"), {"q": "e11.9"})
    html = page.content.decode()
    assert 'hx-get="/coding/codes/"' in html and 'id="code-results"' in html
    assert "E11.9" in html and "Type 2 diabetes mellitus without complications" in html
    assert "April 1, 2026" in html
    partial = client.get(reverse("coding:codes"), {"q": "venipunct", "set": "procedure"},
                         HTTP_HX_REQUEST="true")  # fmt: skip
    text = partial.content.decode()
    assert "<html" not in text and "36415" in text and "Venipuncture" in text
    assert "ICD-10-CM" not in text
    header = client.get(
        reverse("coding:codes"), {"q": "E11", "set": "icd10"}, HTTP_HX_REQUEST="true"
    )
    assert "Header (pick a more specific code)" in header.content.decode()
    nothing = client.get(reverse("coding:codes"), {"q": "xyzzy"}, HTTP_HX_REQUEST="true")
    assert "No ICD-10-CM code matches “xyzzy”" in nothing.content.decode()


def test_the_import_page_loads_a_file_and_names_bad_rows(client_for, users):
    client = client_for("biller")
    good = SimpleUploadedFile("cpt_2024.csv", CPT_CSV, content_type="text/csv")
    response = client.post(reverse("coding:import"), {"kind": "cpt", "file": good,
                                                      "column_map": CPT_MAP})  # fmt: skip
    assert response.status_code == 302
    assert ProcedureCode.objects.filter(system="CPT").count() == 4
    release = CodeSetRelease.objects.get()
    assert release.imported_by == users["biller"] and release.label == "2024"
    listing = client.get(reverse("coding:import")).content.decode()
    assert "Loaded CPT" in listing and "cpt_2024.csv" in listing

    again = SimpleUploadedFile("cpt_2024.csv", CPT_CSV, content_type="text/csv")
    refused = client.post(reverse("coding:import"), {"kind": "cpt", "file": again,
                                                     "column_map": CPT_MAP})  # fmt: skip
    assert refused.status_code == 422
    assert "This file was already loaded on" in refused.content.decode()

    bad = SimpleUploadedFile(
        "mue_2024q3.tsv", b"hcpcs\tmue_units\n99213\t2\n99214\tlots\n", content_type="text/plain"
    )
    refused = client.post(reverse("coding:import"), {"kind": "ncci_mue", "file": bad})
    html = refused.content.decode()
    assert refused.status_code == 422
    assert "line 3, column “mue_units”: “lots” is not a whole number" in html
    assert "nothing was written" in html
    no_map = SimpleUploadedFile("cpt_2025.csv", CPT_CSV, content_type="text/csv")
    refused = client.post(reverse("coding:import"), {"kind": "cpt", "file": no_map})
    assert (
        refused.status_code == 422 and "Say which column holds the code" in refused.content.decode()
    )
    assert CodeSetRelease.objects.count() == 1


def test_front_desk_cannot_post_an_import(client_for):
    bad = SimpleUploadedFile("mue_2024q3.tsv", b"hcpcs\tmue_units\n99213\t2\n")
    response = client_for("front_desk").post(reverse("coding:import"),
                                             {"kind": "ncci_mue", "file": bad})  # fmt: skip
    assert response.status_code == 403
    assert not CodeSetRelease.objects.exists()


def test_api_searches_icd10_and_procedures_with_the_page_permissions(client, client_for, cpt):
    assert client.get("/api/coding/icd10", {"q": "e119"}).status_code == 401
    assert client_for("front_desk").get("/api/coding/icd10", {"q": "e119"}).status_code == 403
    clinician = client_for("clinician")
    found = clinician.get("/api/coding/icd10", {"q": "e119"})
    assert found.status_code == 200
    assert found.json()[0] == {
        "code": "E11.9", "description": "Type 2 diabetes mellitus without complications",
        "billable": True,
    }  # fmt: skip
    assert len(clinician.get("/api/coding/icd10", {"q": "diabetes", "limit": 5}).json()) == 5
    procedures = clinician.get("/api/coding/procedures", {"q": "9921"}).json()
    assert [p["code"] for p in procedures] == ["99213", "99214"]
    assert procedures[0]["system"] == "CPT" and procedures[0]["effective_date"] == "2021-01-01"
    missing = clinician.get("/api/coding/procedures")
    assert missing.status_code == 422
    assert client_for("front_desk").get("/api/coding/procedures", {"q": "99"}).status_code == 403
    schema = clinician.get("/api/openapi.json").json()
    assert "/api/coding/icd10" in schema["paths"] and "/api/coding/procedures" in schema["paths"]


def test_a_nul_in_the_search_is_refused(client_for):
    client = client_for("clinician")
    assert client.get("/coding/codes/?q=e1%001").status_code == 400
    assert client.get("/api/coding/icd10?q=e1%001").status_code == 422
    assert client.get("/api/coding/procedures?q=99%0021").status_code == 422
    too_long = client.get("/api/coding/icd10", {"q": "a" * 101})
    assert too_long.status_code == 422 and "q" in str(too_long.json()["errors"])
