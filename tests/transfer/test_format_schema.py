"""docs/transfer-format.schema.json describes what the package writes: a real manifest and
a sample record of every type validate; a record of the wrong shape does not."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft202012Validator

from transfer import package

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMA = json.loads((DOCS / "transfer-format.schema.json").read_text())
CLIENT = "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"
PHOTO = "files/photos/0b7e4c2a-1d3f-4a5b-9c8d-7e6f5a4b3c2d.jpg"
SHA = "ab" * 32

SAMPLES = {
    "client": {"id": CLIENT, "code": "JA-0042", "location": "JA", "full_name": "林晓雨",
               "phone": "+86 138 0013 8000", "wechat_id": None, "email": None,
               "birthday": "1990-04-12", "created_at": "2023-02-01T09:30:00+00:00",
               "last_visit": "2025-01-18"},
    "beauty_profile": {"client_id": CLIENT, "skin_type": "combination", "hair": None,
                       "concerns": "dryness"},
    "health_note": {"client_id": CLIENT, "allergies": "PPD", "contraindications": None,
                    "medication": None, "pregnancy": None, "conditions": None},
    "treatment": {"id": "1f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b", "client_id": CLIENT,
                  "performed_on": "2025-01-18", "service": "colour", "products": ["Olaplex"],
                  "colour_formula": "6.1 + 20 vol", "notes": None, "price": "380.00"},
    "photo": {"id": "2f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b", "client_id": CLIENT,
              "treatment_id": None, "kind": "after", "taken_on": "2025-01-18",
              "content_type": "image/jpeg", "width": 1200, "height": 1600, "file": PHOTO,
              "sha256": SHA},
    "form": {"id": "3f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b", "client_id": CLIENT,
             "kind": "consent", "signed_on": "2023-02-01", "content_type": "application/pdf",
             "file": "files/forms/3f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b.pdf", "sha256": SHA},
    "consent": {"id": "4f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b", "client_id": CLIENT,
                "purpose": "transfer", "action": "given", "at": "2024-11-02T14:00:00+00:00",
                "channel": "client_page", "notice_version": 3},
    "patch_test": {"id": "5f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b", "client_id": CLIENT,
                   "product": "Koleston 6/1", "tested_on": "2025-01-16", "result": "passed",
                   "reaction": None},
    "provenance": {"client_id": CLIENT, "seller": "Jade Salon Ltd",
                   "case_id": "7f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b",
                   "original_purposes": ["service", "health"]},
}


def validator(definition: str | None = None) -> Draft202012Validator:
    schema = SCHEMA if definition is None else {**SCHEMA, "$ref": f"#/$defs/{definition}"}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_a_sample_record_of_every_type_validates_as_the_package_writes_it(kind):
    def entries():
        yield "record", kind, SAMPLES[kind]

    buyer = package.keygen()
    out = io.BytesIO()
    manifest = package.write(out, recipient=buyer[1], signer=Ed25519PrivateKey.generate(),
                             header={}, entries=entries())
    [(_, got_kind, record)] = list(package.entries(io.BytesIO(out.getvalue()),
                                                   identity=buyer[0], manifest=manifest))
    assert got_kind == kind
    validator(kind).validate(record)


@pytest.mark.parametrize("kind, change", [
    ("treatment", {"price": 380.0}),  # money is a decimal string, never a float
    ("client", {"id": None}),
    ("consent", {"purpose": "lottery"}),
    ("photo", {"file": "../secrets.jpg"}),
    ("health_note", {"blood_type": "O"}),  # no field outside the format
])
def test_a_record_of_the_wrong_shape_does_not_validate(kind, change):
    assert not validator(kind).is_valid({**SAMPLES[kind], **change})


def test_a_real_manifest_validates():
    buyer = package.keygen()

    def entries():
        for kind, record in SAMPLES.items():
            yield "record", kind, record
        yield "file", PHOTO, b"\xff\xd8 photo"

    manifest = package.write(io.BytesIO(), recipient=buyer[1],
                             signer=Ed25519PrivateKey.generate(),
                             header={"case_id": "7f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b",
                                     "seller": "Jade Salon Ltd"}, entries=entries())
    validator().validate(manifest)
    assert not validator().is_valid({**manifest, "format": "something-else"})


def test_the_format_document_names_every_record_type():
    text = (DOCS / "transfer-format.md").read_text()
    for kind in SAMPLES:
        assert f"`{kind}`" in text
