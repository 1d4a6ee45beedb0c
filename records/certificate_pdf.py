"""A destruction certificate as a PDF: the signed statement set out for people to read,
in the language of the one downloading it, with the signed JSON attached inside.

The PDF is drawn from the signed statement alone (not from the database row), so what it
says is what was signed; `certificate_verify` accepts the PDF itself and checks the
attached statement.
"""

from __future__ import annotations

import base64
from datetime import datetime

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils import timezone
from django.utils.translation import gettext as _

from .certificate_file import dumps
from .models import Destruction
from .pdf import Document

COUNT_LABELS = {
    "client": lambda: _("client record"),
    "treatment": lambda: _("treatments"),
    "photo": lambda: _("photos"),
    "clientform": lambda: _("signed forms"),
    "beautyprofile": lambda: _("beauty profile"),
    "healthnote": lambda: _("health notes"),
    "consentevent": lambda: _("consent records"),
    "files": lambda: _("files"),
    "grants_revoked": lambda: _("access grants revoked"),
}


def render(signed: dict, *, public_key) -> bytes:
    statement = signed["certificate"]
    scope = dict(Destruction.Scope.choices).get(statement.get("scope", "client"), "")
    basis = dict(Destruction.Basis.choices).get(statement["basis"], statement["basis"])
    doc = Document(title=_("Certificate of destruction"),
                   footer=_("Destruction certificate %(id)s") % {"id": statement["id"]})
    doc.paragraph(_("The client's personal data named below was destroyed: the data keys "
                    "that sealed it were shredded, so no copy of its ciphertext, in the "
                    "database, in files or in a backup, can be read again. The audit "
                    "events are kept; they hold no personal data."))
    doc.heading(_("What was destroyed"))
    doc.rows([
        (_("Client code"), statement["client_code"]),
        (_("Client id"), statement["client_id"]),
        (_("Location"), statement.get("location")),
        (_("What"), scope),
        (_("Data keys shredded"), ", ".join(statement["key_ids"]) or "—"),
        (_("Deleted"), "; ".join(f"{COUNT_LABELS.get(k, lambda k=k: k)()}: {n}"
                                 for k, n in statement["counts"].items())),
    ])
    doc.heading(_("When, why and by whom"))
    doc.rows([
        (_("Basis"), basis),
        (_("Reason"), statement["reason"]),
        (_("Requested by"), f"{statement['requested_by']} · {_when(statement['requested_at'])}"),
        (_("Approved by"), f"{statement['approved_by']} · {_when(statement['approved_at'])}"),
        (_("Destroyed"), _when(statement["destroyed_at"])),
    ])
    doc.heading(_("Signature"))
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    doc.rows([
        (_("Certificate id"), statement["id"]),
        (_("Signing key id"), statement["key_id"]),
        (_("Public key"), base64.b64encode(raw).decode()),
    ])
    doc.paragraph(_("Ed25519 signature over the statement's canonical JSON:"), size=9)
    doc.paragraph(signed["signature"], size=8, mono=True)
    doc.paragraph(_("The signed statement is attached to this PDF as %(name)s. Check it "
                    "with `manage.py certificate_verify` on this PDF or on the JSON file, or "
                    "without the salon's database with `records/certificate_file.py FILE "
                    "--public-key KEY`. Compare the public key with the one the salon "
                    "publishes, not only with the one printed here.")
                  % {"name": attachment_name(statement)}, size=9)
    doc.attach(attachment_name(statement), dumps(signed), _("Signed destruction certificate"))
    return doc.render()


def attachment_name(statement: dict) -> str:
    return f"destruction-{statement['client_code']}-{statement['id']}.json"


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M:%S %Z")
