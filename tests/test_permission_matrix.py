"""THE permission matrix: every URL x every actor x every kind of object, allow or deny.

The URL configuration is walked (namespaces included), so a view added without a line in
`TABLE` fails `test_every_url_pattern_has_an_expectation`. Only Django's admin (checked
apart: staff-only), the i18n `set_language` endpoint and static files are left out.

Actors: anonymous, owner, manager, stylist, receptionist, auditor, and the outsider (a
stylist of the other location). Objects: client A (location bj, assigned to the stylist),
B (bj, assigned to a colleague), C (sh, assigned to the outsider), D (sh, unassigned), each
with a treatment, a photo and a signed form; an id that does not exist; for photos and
forms also a known client with another client's file. Then a staff member, a grant, a
break-glass record, an access review and an anomaly alert for the owner's and auditor's
pages.

For every actor and every URL (and, for URLs with ids, every kind of object) a GET (some
also with a query: searches, the thumbnail, reports for a client code), and a POST of
empty or invalid data where the view takes POST, must give the expected answer:

- anonymous: a redirect to the sign-in page, except the public pages;
- a denied object: 404 with the same body as for an id that does not exist;
- a denied page: 403;
- allowed: 200, or a redirect (or 405 for a GET of a POST-only view).

With every answer, the one invariant of DESIGN.md: a response that carries a client's
plaintext (a unique marker per client and data class) must come with an "allowed" access
event naming that client, at that class or above, written during that very request; no
response carries data beyond the actor's ceiling; a denied request carries no plaintext
and changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import re
import uuid
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from PIL import Image

ACTORS = ("anonymous", "owner", "manager", "stylist", "receptionist", "auditor", "outsider")
STAFF_ROLES = ACTORS[1:]
OTP_ACTORS = ("owner", "manager", "stylist", "auditor", "outsider")  # OTP_REQUIRED_ROLES

# -- expectations ----------------------------------------------------------------------
LOGIN = "/accounts/login/"
OK = (200, None)
NOT_ALLOWED = (405, None)
TO_LOGIN = (302, f"{LOGIN}?next=")


def to(prefix: str) -> tuple[int, str]:
    return (302, prefix)


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one URL allows.

    allow    who passes: anyone, signed_in, sees_clients, importer, owner, auditors (pages),
             public (pages without an account: anonymous visitors get the same answers)
             or visible, L3, L4, assigner (a client object: by the actor's ceiling for it)
    args     what the ids in the URL point at: none, client, photo, form, staff, person
             (user ids), grant, glass (break-glass record), review (access review), alert,
             code (a client code), invite (an invitation token), request (a rights
             request), link (a client's signed page link), copy (a link and an access copy),
             version (a privacy notice version)
    get      answer to an allowed GET; post: to an allowed POST of `payload` (None: no POST)
    missing  answer to an actor who passes, for an id that does not exist
    anon_*   answers to an anonymous visitor
    reauth   the view asks for the password again (the matrix signs in re-authenticated)
    get_for  answers to an allowed GET that differ by actor: ((actor, answer), ...)
    post_allow  who may POST, where fewer than may GET (a PAGE_ALLOW key); the rest: 403
    """

    allow: str
    args: str = "none"
    get: tuple = OK
    post: tuple | None = None
    payload: tuple = ()
    missing: tuple = (404, None)
    anon_get: tuple = TO_LOGIN
    anon_post: tuple = TO_LOGIN
    reauth: bool = False
    get_for: tuple = ()
    post_allow: str | None = None


STAFF_PAGE = "/staff/people/{pk}/"

TABLE: dict[str, Rule] = {
    # -- public and account pages
    # Each role lands on its own page.
    "home": Rule("anyone", get=to("/clients/"), anon_get=to(LOGIN),
                 get_for=(("owner", to("/staff/")), ("auditor", to("/audit/")))),
    "login": Rule("anyone", get=to("/"), post=to("/"), payload=(("username", ""),),
                  anon_get=OK, anon_post=OK),
    "logout": Rule("anyone", get=NOT_ALLOWED, post=to(LOGIN), anon_get=NOT_ALLOWED,
                   anon_post=to(LOGIN)),
    "otp_verify": Rule("signed_in", post=OK, payload=(("token", ""),)),
    "otp_setup": Rule("signed_in", post=OK, payload=(("token", ""),)),
    "reauth": Rule("signed_in", post=OK, payload=(("password", ""),)),
    "account": Rule("signed_in"),
    # Every actor of the matrix has an authenticator, so new codes are made and shown.
    "recovery_codes_new": Rule("signed_in", get=NOT_ALLOWED, post=OK, reauth=True),
    # Anyone may follow a link; one that is not (or no longer) valid is not found.
    "invitation_accept": Rule("anyone", "invite", post=(404, None), payload=(("x", ""),),
                              anon_get=(404, None), anon_post=(404, None)),
    # No agreement is in force in the matrix, so a POST has nothing to accept.
    "agreement": Rule("signed_in", post=OK, payload=(("accept", "1"),)),
    # -- the owner's pages
    "access:dashboard": Rule("owner"),
    "access:staff_list": Rule("owner"),
    "access:staff_create": Rule("owner", post=OK, payload=(("username", "!"),), reauth=True),
    "access:staff_detail": Rule("owner", "staff"),
    "access:staff_role": Rule("owner", "staff", get=NOT_ALLOWED, post=to(STAFF_PAGE),
                              payload=(("role", "bogus"),)),
    "access:staff_deactivate": Rule("owner", "staff", get=NOT_ALLOWED, post=to(STAFF_PAGE),
                                    reauth=True),
    "access:staff_reactivate": Rule("owner", "staff", get=NOT_ALLOWED, post=to(STAFF_PAGE)),
    "access:staff_unlock": Rule("owner", "staff", get=NOT_ALLOWED, post=to(STAFF_PAGE)),
    # The reset link is shown on the answer, once.
    "access:staff_reset": Rule("owner", "staff", get=NOT_ALLOWED, post=OK, reauth=True),
    "access:staff_training": Rule("owner", "staff", get=NOT_ALLOWED, post=to(STAFF_PAGE),
                                  payload=(("course", ""),)),
    "access:grant_give": Rule("owner", "staff", get=NOT_ALLOWED, post=to(STAFF_PAGE),
                              payload=(("client_code", ""),), reauth=True),
    "access:grant_revoke": Rule("owner", "grant", get=NOT_ALLOWED, post=to("/staff/people/")),
    "access:break_glass_review": Rule("owner", "glass", post=OK, payload=(("justified", "maybe"),)),
    # A POST without an item of the review finds nothing to decide.
    "access:access_review": Rule("owner", "review", post=(404, None)),
    "access:policies": Rule("owner", post=OK, payload=(("ceiling", "x"),)),
    "access:agreement_publish": Rule("owner", post=OK, payload=(("title", ""),), reauth=True),
    # -- the audit log: owners and auditors; the "who saw my data" report: owners
    "audit:events": Rule("auditors"),
    "audit:person": Rule("auditors", "person"),
    "audit:client": Rule("auditors", "code", missing=OK),  # an unknown code: an empty history
    "audit:charts": Rule("auditors"),
    "audit:export_csv": Rule("auditors", reauth=True),
    "audit:export_jsonl": Rule("auditors", reauth=True),
    "audit:alerts": Rule("auditors"),
    "audit:alert": Rule("auditors", "alert"),
    "audit:alert_acknowledge": Rule("auditors", "alert", get=NOT_ALLOWED, post=OK,
                                    payload=(("comment", "x" * 2001),)),
    "audit:alert_resolve": Rule("auditors", "alert", get=NOT_ALLOWED, post=OK,
                                payload=(("comment", "x" * 2001),)),
    "audit:subject_report": Rule("owner"),
    # -- client records
    "records:client_list": Rule("sees_clients", post=OK, payload=(("q", ""),)),
    "records:client_create": Rule("sees_clients", post=OK, payload=(("full_name", ""),)),
    "records:import": Rule("importer", post=OK, payload=(("location", "x"),)),
    # A confirmation without a held preview says the preview is gone, on the upload page.
    "records:import_confirm": Rule("importer", get=NOT_ALLOWED, post=OK,
                                   payload=(("staging", "x"),)),
    "records:client_detail": Rule("visible", "client"),
    "records:client_edit": Rule("visible", "client", post=OK, payload=(("full_name", ""),)),
    "records:break_glass": Rule("visible", "client", post=OK, payload=(("reason", "x"),),
                                reauth=True),
    "records:client_assign": Rule("assigner", "client", post=OK, payload=(("staff", "0"),)),
    "records:treatment_add": Rule("L3", "client", post=OK, payload=(("service", ""),)),
    "records:photo_add": Rule("L4", "client", post=OK, payload=(("kind", "x"),)),
    "records:photo_view": Rule("L4", "photo"),
    "records:form_add": Rule("L4", "client", post=OK, payload=(("kind", "x"),)),
    "records:form_view": Rule("L4", "form"),
    # A new data key for a client: owners only, after the password.
    "records:client_rekey": Rule("owner", "client", get=NOT_ALLOWED, post=to("/clients/"),
                                 reauth=True),
    # Destroying a client: owners only, after the password; an empty form is refused as such.
    "records:client_destroy": Rule("owner", "client", post=OK, payload=(("reason", ""),),
                                   reauth=True),
    "records:destructions": Rule("owner"),
    "records:retention": Rule("owner"),
    "records:retention_policy": Rule("owner", get=NOT_ALLOWED, post=(400, None),
                                     payload=(("years", "x"),), reauth=True),
    "records:retention_decide": Rule("owner", "proposal", get=NOT_ALLOWED,
                                     post=to("/clients/retention/"),
                                     payload=(("decision", "keep"),), reauth=True),
    "records:legal_hold_place": Rule("owner", get=NOT_ALLOWED, post=(400, None),
                                     payload=(("code", ""),), reauth=True),
    "records:legal_hold_lift": Rule("owner", "hold", get=NOT_ALLOWED,
                                    post=to("/clients/retention/")),
    "records:destruction_detail": Rule("owner", "destruction"),
    "records:destruction_certificate": Rule("owner", "destruction"),
    # The product catalogue of the contraindication stop: owners and managers.
    "records:product_list": Rule("managers"),
    "records:product_create": Rule("managers", post=OK, payload=(("name", ""),)),
    "records:product_edit": Rule("managers", "product", post=OK, payload=(("name", ""),)),
    # A patch test result is health data: recorded by those who open the client at L4.
    "records:patch_test_add": Rule("L4", "client", post=OK, payload=(("result", "x"),)),
    # -- the owners' jobs page
    "lifecycle:jobs": Rule("owner"),
    # The matrix's sessions are re-authenticated: an invalid schedule is refused as such.
    "lifecycle:job_detail": Rule("owner", "job", post=(400, None), payload=(("kind", "x"),)),
    "lifecycle:job_start": Rule("owner", "job", get=NOT_ALLOWED, post=to("/jobs/"),
                                reauth=True),
    "lifecycle:run_progress": Rule("owner", "run"),
    # -- complaints: staff who serve clients record one; owners and managers handle them;
    # auditors read the list, the metadata and the summary, never the text
    "rights:complaints": Rule("complaint_readers"),
    "rights:complaint_new": Rule("sees_clients", post=(400, None), payload=(("description", ""),)),
    "rights:complaint_summary": Rule("complaint_readers"),
    "rights:complaint_summary_csv": Rule("complaint_readers"),
    "rights:complaint_detail": Rule("complaint_readers", "complaint"),
    "rights:complaint_assign": Rule("complaint_handlers", "complaint", get=NOT_ALLOWED,
                                    post=(400, None), payload=(("handler", "0"),)),
    "rights:complaint_resolve": Rule("complaint_handlers", "complaint", get=NOT_ALLOWED,
                                     post=(400, None), payload=(("resolution", ""),)),
    # -- rights requests: anyone who serves the client records one; owners and managers
    # handle them; only the owner downloads a copy, after the password
    "rights:requests": Rule("managers"),
    "rights:request_new": Rule("visible", "client", post=(400, None), payload=(("kind", "x"),)),
    "rights:request_detail": Rule("managers", "request", post=(400, None),
                                  payload=(("step", "x"),)),
    "rights:request_copy": Rule("owner", "request", get=NOT_ALLOWED, post=OK, reauth=True),
    # An empty form saves an empty draft; publishing asks for the text in both languages.
    "rights:notice_admin": Rule("owner", post=to("/rights/notice/")),
    # A link to the client's page is made by POST and shown once.
    "rights:client_link": Rule("visible", "client", get=NOT_ALLOWED, post=OK),
    "rights:consent_record": Rule("visible", "client", post=(400, None),
                                  payload=(("channel", "x"),)),
    "records:destruction_certificate_pdf": Rule("owner", "destruction"),
    # -- pages without an account: the privacy notice, and a client's page by signed link
    # (a tampered link is not found; the matrix's link is of a fifth client without markers)
    "public:notice": Rule("public", anon_get=OK),
    "public:notice_version": Rule("public", "version", anon_get=OK),
    "public:client_page": Rule("public", "link", anon_get=OK),
    "public:acknowledge": Rule("public", "link", get=NOT_ALLOWED, post=to("/c/{token}/")),
    "public:consent": Rule("public", "link", get=NOT_ALLOWED, post=(400, None),
                           payload=(("purpose", "x"),)),
    "public:rights_request": Rule("public", "link", get=NOT_ALLOWED, post=(400, None),
                                  payload=(("kind", "x"),)),
    "public:complaint": Rule("public", "link", get=NOT_ALLOWED, post=(400, None),
                             payload=(("category", "x"),)),
    "public:copy_download": Rule("public", "copy", get=NOT_ALLOWED, post=OK),
    # -- the sale of the business: owners act, auditors read; an out-of-order step is 409
    "transfer:cases": Rule("auditors"),
    "transfer:case_new": Rule("owner", post=(400, None), payload=(("title", ""),)),
    # An empty item is refused with a message on the list page.
    "transfer:checklist_template": Rule("owner", get=NOT_ALLOWED, post=to("/transfer/"),
                                        payload=(("text", ""),)),
    "transfer:case": Rule("auditors", "case", post=(409, None), payload=(("step", "approval"),),
                          post_allow="owner"),
    # The matrix's case is in its notice period: its checklist is open, but an entry
    # without a status is refused.
    "transfer:checklist_entry": Rule("owner", "case_item", get=NOT_ALLOWED, post=(409, None)),
    "transfer:evidence": Rule("auditors", "case_entry"),
    "transfer:notices_csv": Rule("owner", "case", reauth=True),
    "transfer:approve": Rule("owner", "case", get=NOT_ALLOWED, post=(409, None), reauth=True),
    # The matrix's package is still being built: its progress reads, its download is refused.
    "transfer:package_progress": Rule("auditors", "case_package"),
    "transfer:package_download": Rule("owner", "case_package", get=NOT_ALLOWED,
                                      post=(409, None), reauth=True),
    # Nothing delivered yet: a receipt and the destruction are out of order; no certificate.
    "transfer:receipt_upload": Rule("owner", "case", get=NOT_ALLOWED, post=(409, None)),
    "transfer:destroy_copies": Rule("owner", "case", get=NOT_ALLOWED, post=(409, None),
                                    reauth=True),
    "transfer:certificate": Rule("auditors", "case", get=(404, None)),
    "transfer:case_export": Rule("auditors", "case"),
    # The client's answer to the notice, on their own page.
    "transfer_public:answer": Rule("public", "link_case", get=NOT_ALLOWED, post=(400, None),
                                   payload=(("answer", "x"),)),
}

CLIENT_ARGS = {"client", "photo", "form"}
KINDS = {
    "none": ("-",),
    "client": ("missing", "A", "B", "C", "D"),
    "photo": ("missing", "A", "B", "C", "D", "mixed"),
    "form": ("missing", "A", "B", "C", "D", "mixed"),
    "product": ("missing", "existing"),
    "staff": ("missing", "existing"),
    "person": ("missing", "existing"),
    "code": ("missing", "existing"),
    "alert": ("missing", "existing"),
    "grant": ("missing", "existing"),
    "glass": ("missing", "existing"),
    "review": ("missing", "existing"),
    "invite": ("missing",),
    "job": ("missing", "existing"),
    "destruction": ("missing", "existing"),
    "proposal": ("missing", "existing"),
    "hold": ("missing", "existing"),
    "run": ("missing", "existing"),
    "complaint": ("missing", "existing"),
    "request": ("missing", "existing"),
    "link": ("missing", "existing"),
    "copy": ("missing", "existing"),
    "version": ("missing", "existing"),
    "case": ("missing", "existing"),
    "case_item": ("missing", "existing"),
    "case_entry": ("missing", "existing"),
    "case_package": ("missing", "existing"),
    "link_case": ("missing", "existing"),
}

MATRIX_PRODUCT = "矩阵染膏"

# The four clients: A and B at the location "bj", C and D at "sh".
CLIENT_HOME = {"A": "bj", "B": "bj", "C": "sh", "D": "sh"}
ASSIGNED_TO = {"A": "stylist", "B": "colleague", "C": "outsider", "D": None}
ACTOR_HOME = {"manager": "bj", "stylist": "bj", "receptionist": "bj", "outsider": "sh"}

# The highest data class each actor may open of each client (DESIGN.md, "Data classes").
CEILING = {
    "anonymous": {"A": 0, "B": 0, "C": 0, "D": 0},
    "owner": {"A": 4, "B": 4, "C": 4, "D": 4},
    "manager": {"A": 3, "B": 3, "C": 0, "D": 0},
    "stylist": {"A": 4, "B": 2, "C": 0, "D": 0},
    "receptionist": {"A": 2, "B": 2, "C": 0, "D": 0},
    "auditor": {"A": 0, "B": 0, "C": 0, "D": 0},
    "outsider": {"A": 0, "B": 0, "C": 4, "D": 2},
}

PAGE_ALLOW = {
    "anyone": set(ACTORS),
    "signed_in": set(STAFF_ROLES),
    "sees_clients": {"owner", "manager", "stylist", "receptionist", "outsider"},
    "importer": {"owner", "manager"},
    "managers": {"owner", "manager"},
    "owner": {"owner"},
    "auditors": {"owner", "auditor"},
    "complaint_readers": {"owner", "manager", "auditor"},
    "complaint_handlers": {"owner", "manager"},
    "public": set(ACTORS),
}


def allowed(rule: Rule, actor: str, kind: str) -> bool:
    if rule.args not in CLIENT_ARGS:
        return actor in PAGE_ALLOW[rule.allow]
    if kind not in CLIENT_HOME:  # missing, mixed
        return False
    level = CEILING[actor][kind]
    if rule.allow == "assigner":
        return actor == "owner" or (actor == "manager" and CLIENT_HOME[kind] == "bj")
    if rule.allow == "owner":
        return actor == "owner"
    return level >= {"visible": 1, "L3": 3, "L4": 4}[rule.allow]


def _post_refused(rule: Rule, actor: str, method: str) -> bool:
    return method == "POST" and rule.post_allow is not None and \
        actor not in PAGE_ALLOW[rule.post_allow]


def expected(rule: Rule, actor: str, kind: str, method: str) -> tuple:
    if actor == "anonymous" and rule.allow != "public":
        return rule.anon_get if method == "GET" else rule.anon_post
    if _post_refused(rule, actor, method):
        return (403, None)
    success = rule.get if method == "GET" else rule.post
    if method == "GET":
        success = dict(rule.get_for).get(actor, success)
    if rule.args in CLIENT_ARGS:
        return success if allowed(rule, actor, kind) else (404, None)
    if not allowed(rule, actor, kind):
        return (403, None)
    if kind == "missing" and success != NOT_ALLOWED:
        return rule.missing
    return success


def is_denial(rule: Rule, actor: str, kind: str, method: str) -> bool:
    """Whether the request is refused (rather than allowed, or allowed and not found)."""
    if actor == "anonymous" and rule.allow != "public":
        return expected(rule, actor, kind, method) == TO_LOGIN
    return not allowed(rule, actor, kind) or _post_refused(rule, actor, method)


def describe(actor: str, kind: str) -> str:
    if kind not in CLIENT_HOME:
        return kind
    home = ACTOR_HOME.get(actor)
    where = (f"location {CLIENT_HOME[kind]}" if home is None
             else "own location" if home == CLIENT_HOME[kind] else "other location")
    holder = ASSIGNED_TO[kind]
    whose = ("unassigned" if holder is None else "assigned to them" if holder == actor
             else f"assigned to {holder}")
    return f"client {kind} ({where}, {whose})"


# -- the URL configuration -------------------------------------------------------------
def _skipped_view(callback) -> bool:
    from django.contrib.staticfiles.views import serve as staticfiles_serve
    from django.views.i18n import set_language
    from django.views.static import serve

    return callback in (set_language, serve, staticfiles_serve)


def url_patterns(resolver=None, namespaces=(), prefix=""):
    """(name or None, route, callback) of every pattern; skipped: list of skipped routes."""
    found, skipped = [], []
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                skipped.append(route)
                continue
            inner = namespaces + ((entry.namespace,) if entry.namespace else ())
            more, more_skipped = url_patterns(entry, inner, route)
            found += more
            skipped += more_skipped
        elif isinstance(entry, URLPattern):
            if _skipped_view(entry.callback):
                skipped.append(route)
                continue
            name = ":".join((*namespaces, entry.name)) if entry.name else None
            found.append((name, route, entry.callback))
    return found, skipped


# -- the objects -----------------------------------------------------------------------
def _jpeg(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="JPEG")
    return out.getvalue()


def _staff(username, role, location):
    from access.models import StaffProfile, TrainingRecord

    user = get_user_model().objects.create_user(username=username,
                                                password="correct-horse-battery-9")
    StaffProfile.objects.create(user=user, role=role, location=location, display_name=username)
    today = timezone.localdate()
    TrainingRecord.objects.create(user=user, course="privacy basics", completed_on=today,
                                  expires_on=today + dt.timedelta(days=365))
    return user


@dataclasses.dataclass
class World:
    clients: dict
    photos: dict
    forms: dict
    markers: dict  # kind -> [(bytes, data class)]
    names: dict
    phones: dict
    colleague: object
    grant: object
    glass: object
    review: object
    alert: object
    run: object
    destruction: object
    proposal: object
    hold: object
    missing: uuid.UUID
    missing_staff: int
    complaint: object = None
    request: object = None
    link_token: str = ""
    public_copy: object = None
    case: object = None
    case_token: str = ""

    def kwargs(self, args: str, kind: str, actor: str) -> dict:
        if args == "none":
            return {}
        if args in CLIENT_ARGS:
            if kind == "missing":
                client_pk, child = self.missing, uuid.UUID(int=self.missing.int ^ 1)
            elif kind == "mixed":  # a client the actor knows, with another client's file
                mine, foreign = ("C", "A") if actor == "outsider" else ("A", "C")
                client_pk = self.clients[mine].pk
                child = (self.photos if args == "photo" else self.forms)[foreign].pk
            else:
                client_pk = self.clients[kind].pk
                child = (self.photos if args == "photo" else self.forms)[kind].pk \
                    if args != "client" else None
            extra = {"photo": "photo_pk", "form": "form_pk"}.get(args)
            return {"pk": client_pk} | ({extra: child} if extra else {})
        if args in ("staff", "person"):
            user_id = self.missing_staff if kind == "missing" else self.colleague.pk
            return {"pk" if args == "staff" else "user_id": user_id}
        if args == "code":
            return {"code": "ZZ-404404" if kind == "missing" else self.clients["A"].code}
        if args == "invite":
            return {"token": "no-such-invitation-token"}
        if args == "job":
            return {"name": "no-such-job" if kind == "missing" else "kek-rotation"}
        if args == "run":
            return {"run_id": self.missing if kind == "missing" else self.run.pk}
        if args == "destruction":
            return {"pk": self.missing if kind == "missing" else self.destruction.pk}
        if args == "product":
            from records.models import Product

            return {"pk": self.missing if kind == "missing"
                    else Product.objects.get(name=MATRIX_PRODUCT).pk}
        if args in ("proposal", "hold"):
            target = self.proposal if args == "proposal" else self.hold
            return {"pk": self.missing if kind == "missing" else target.pk}
        if args == "complaint":
            return {"pk": self.missing if kind == "missing" else self.complaint.pk}
        if args == "request":
            return {"pk": self.missing if kind == "missing" else self.request.pk}
        if args in ("link", "copy"):
            # A tampered link: the signature no longer matches.
            token = self.link_token[:-2] + "xx" if kind == "missing" else self.link_token
            return {"token": token} | ({"pk": self.public_copy.pk} if args == "copy" else {})
        if args == "version":
            return {"version": 404 if kind == "missing" else 1}
        if args in ("case", "case_item", "case_entry", "case_package"):
            from transfer.models import ChecklistEntry, ChecklistItem, Package
            pk = self.missing if kind == "missing" else self.case.pk
            if args == "case":
                return {"pk": pk}
            if args == "case_package":
                return {"pk": pk, "package_pk": Package.objects.get(case=self.case).pk}
            if args == "case_item":
                return {"pk": pk, "item_pk": ChecklistItem.objects.get(case=self.case,
                                                                       key="nda").pk}
            return {"pk": pk, "entry_pk": ChecklistEntry.objects.get(case=self.case).pk}
        if args == "link_case":
            token = self.case_token[:-2] + "xx" if kind == "missing" else self.case_token
            return {"token": token, "case_pk": self.case.pk}
        target = {"grant": self.grant, "glass": self.glass, "review": self.review,
                  "alert": self.alert}[args]
        key = "grant_pk" if args == "grant" else "pk"
        return {key: self.missing if kind == "missing" else target.pk}


@pytest.fixture
def world(owner, manager, stylist, receptionist, auditor, outsider, location, other_location,
          make_client):
    from access import door
    from access import services as access_services
    from audit import anomalies
    from audit.models import Alert
    from lifecycle.models import JobRun
    from lifecycle.schedule import install_defaults
    from records import destruction, services
    from records.models import ClientForm, Photo

    colleague = _staff("colleague", "stylist", location)
    tag = uuid.uuid4().hex[:8]
    today = timezone.localdate()
    holders = {"stylist": stylist, "colleague": colleague, "outsider": outsider, None: None}
    names = {"A": "甲", "B": "乙", "C": "丙", "D": "丁"}
    colours = {"A": (200, 30, 30), "B": (30, 200, 30), "C": (30, 30, 200), "D": (200, 200, 30)}
    clients, photos, forms, markers, full_names, phones = {}, {}, {}, {}, {}, {}
    for kind, mark in names.items():
        name, skin, allergy = f"矩阵{mark}{tag}", f"肤质{mark}{tag}", f"过敏{mark}{tag}"
        service, document = f"护理{mark}{tag}", f"matrix-form-{kind}-{tag}"
        full_names[kind], phones[kind] = name, f"139{int(tag, 16) % 10000:04d}{ord(kind):04d}"
        client = make_client(
            location=location if CLIENT_HOME[kind] == "bj" else other_location,
            assigned_staff=holders[ASSIGNED_TO[kind]], full_name=name, phone=phones[kind],
            skin_type=skin, allergies=allergy)
        services.treatment_add(actor=owner, client=client, performed_on=today, service=service)
        photo = services.photo_add(
            actor=owner, client=client, kind=Photo.Kind.BEFORE, taken_on=today,
            upload=SimpleUploadedFile("p.jpg", _jpeg(colours[kind]), content_type="image/jpeg"))
        services.photo_make_thumbnail(photo_id=photo.pk)
        signed = services.form_add(
            actor=owner, client=client, kind=ClientForm.Kind.CONSENT, signed_on=today,
            upload=SimpleUploadedFile("f.pdf", b"%PDF-1.4\n" + document.encode() + b"\n%%EOF\n",
                                      content_type="application/pdf"))
        with door.open_for_system(actor="matrix", purpose="test fixture", subjects=[client.pk]):
            photo.refresh_from_db()
            image, thumb = photo.image.read(), photo.thumbnail.read()
        clients[kind], photos[kind], forms[kind] = client, photo, signed
        markers[kind] = [(name.encode(), 2), (phones[kind].encode(), 2), (skin.encode(), 3), (service.encode(), 3),
                         (allergy.encode(), 4), (document.encode(), 4), (image, 4), (thumb, 4)]
    grant = access_services.grant_give(actor=owner, user=colleague, client=clients["D"])
    glass = access_services.break_glass_open(
        actor=colleague, client=clients["A"],
        reason="The client reacts to a dye right now; I need the allergy history.")
    review = access_services.access_review_open()
    assert review is not None
    anomalies.detect()
    alert = Alert.objects.get(rule=Alert.Rule.BREAK_GLASS)
    last_user = get_user_model().objects.order_by("-pk").values_list("pk", flat=True).first()
    install_defaults()
    run = JobRun.objects.create(job="kek-rotation", trigger=JobRun.Trigger.SCHEDULE)
    # A product of the catalogue, for its edit page.
    from records.models import Product
    Product.objects.create(name=MATRIX_PRODUCT, allergens="PPD", needs_patch_test=True)
    # A client destroyed before: its certificate pages (no client of the matrix is touched).
    gone = make_client(full_name="已销毁", phone="13700000000")
    done = destruction.destroy_now(gone, actor=owner, basis="request", reason="matrix")
    # A proposal and a legal hold for the retention pages (of a client outside the matrix).
    from records.models import LegalHold, RetentionProposal
    from records.retention import policies
    proposal = RetentionProposal.objects.create(
        policy=policies()[0], client_id=uuid.uuid4(),
        client_code="ZZ-000001", inactive_since=dt.date(2015, 1, 1))
    hold = LegalHold.objects.create(client_id=uuid.uuid4(), client_code="ZZ-000002",
                                    reason="matrix", until=dt.date(2099, 1, 1), placed_by=owner)
    # A complaint about client A, for the complaint pages.
    from audit import actions
    from rights import complaints
    with door.open_case_file(user=owner, subjects=[clients["A"].pk],
                             purpose=actions.HANDLE_COMPLAINT, action=actions.COMPLAINT_OPEN):
        complaint = complaints.file(category="service", channel="phone",
                                    description="matrix complaint", client=clients["A"],
                                    actor=owner)
    # A fifth client, without markers, for the client's own page: a published notice, a
    # link, and two access requests with their copies made (one for the staff download,
    # one for the client's).
    from records import notices
    from rights import links, requests
    from rights.models import Channel, RightsRequest
    notices.publish(notices.save_draft(actor=owner, body_zh="矩阵告知", body_en="Matrix notice",
                                       contact="privacy@example.com"), actor=owner)
    own = make_client(full_name="自助", phone="13700000001")
    _link, token = links.issue(own, actor=owner, language="en")
    copies = []
    for _ in range(2):
        with door.open_case_file(user=owner, subjects=[own.pk],
                                 purpose=actions.HANDLE_RIGHTS_REQUEST,
                                 action=actions.RIGHTS_REQUEST_OPEN):
            asked = requests.open_request(client=own, kind=RightsRequest.Kind.ACCESS,
                                          channel=Channel.IN_PERSON, details="", actor=owner)
        requests.check_identity(asked, method=RightsRequest.Identity.ID_DOCUMENT, note="",
                                actor=owner)
        copies.append(requests.make_copy(asked, actor=owner, language="en")[0])
    # A transfer case in its notice period (scope: the fifth client's location only, not
    # the matrix's clients), its notices made, and an NDA entry with its evidence file.
    import pyrage

    from transfer import cases, checklist
    from transfer import notices as transfer_notices
    from transfer.models import ChecklistItem
    case = cases.open_case(actor=owner, title="matrix sale", recipient_name="买方",
                           recipient_contact="010-1", location_codes=[own.location.code],
                           recipient_key=str(pyrage.x25519.Identity.generate().to_public()))
    cases.confirm_key(case, actor=owner, how="matrix")
    cases.start_checklist(case, actor=owner)
    case = cases.start_notice_period(case, actor=owner)
    transfer_notices.make_all(case, actor=owner)
    checklist.record(case, ChecklistItem.objects.get(case=case, key="nda"), actor=owner,
                     status="done", evidence=SimpleUploadedFile("nda.pdf", b"%PDF-1.4 nda"))
    _link, case_token = links.issue(own, actor=owner, language="en")
    from transfer.models import Package
    Package.objects.create(case=case, scope_revision=case.scope_revision)
    return World(clients, photos, forms, markers, full_names, phones, colleague, grant, glass,
                 review, alert, run, done, proposal, hold, missing=uuid.uuid4(),
                 missing_staff=last_user + 1000, complaint=complaint,
                 request=copies[0].request, link_token=token, public_copy=copies[1],
                 case=case, case_token=case_token)


# -- what a request may change ---------------------------------------------------------
# Written by every request, allowed or not: the session and the audit trail itself.
STATE_IGNORED = {"django_session", "audit_accessevent", "audit_chainhead", "audit_eventsubject"}


def state() -> dict:
    """Every stored row outside the session and the audit trail, read raw, as one value."""
    from django.apps import apps
    from django.db import connections, router

    snapshot = {}
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if table in STATE_IGNORED or model._meta.proxy:
            continue
        connection = connections[router.db_for_read(model)]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            snapshot[table] = sorted(map(repr, cursor.fetchall()))
    return snapshot


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


# -- the checks --------------------------------------------------------------------------
def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _normalised(body: bytes, path: str) -> str:
    text = body.decode("utf-8", "replace")
    text = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]*"', r'\1"', text)
    for form in sorted({path, quote(path), html.escape(path), quote(path, safe="")},
                       key=len, reverse=True):
        text = text.replace(form, "‹path›")
    return text


def _last_event() -> int:
    from audit.models import AccessEvent

    return AccessEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _allowed_events_since(pk: int) -> list[dict]:
    from audit.models import AccessEvent

    return list(AccessEvent.objects.filter(pk__gt=pk, outcome="allowed")
                .values("client_id", "subjects", "data_class"))


def _names(event: dict, client_pk) -> bool:
    return event["client_id"] == client_pk or str(client_pk) in {str(s) for s in
                                                                 event["subjects"] or []}


def check_plaintext(world: World, actor: str, body: bytes, events: list[dict],
                    denied: bool) -> list[str]:
    """The invariant on one response: plaintext only with a recorded allowed decision."""
    problems = []
    for kind, markers in world.markers.items():
        client_pk = world.clients[kind].pk
        for marker, level in markers:
            if marker not in body:
                continue
            if denied:
                problems.append(f"a denied answer carries L{level} plaintext of client {kind}")
            if level > CEILING[actor][kind]:
                problems.append(f"shows L{level} plaintext of client {kind}, beyond the "
                                f"actor's ceiling L{CEILING[actor][kind]}")
            if not any(_names(e, client_pk) and e["data_class"] >= level for e in events):
                problems.append(f"shows L{level} plaintext of client {kind} without an "
                                f"'allowed' access event at L{level}+ naming it in this request")
    return problems


def _probes(name: str, rule: Rule, world: World) -> list[tuple[str, dict | None]]:
    """The requests made for one URL and object: GET, GET with queries, POST, searches."""
    probes = [("GET", None)] + [("GET", query) for query in QUERIES.get(name, _no_queries)(world)]
    probes += [("POST", dict(rule.payload))] if rule.post is not None else []
    return probes + [("POST", terms) for terms in SEARCHES.get(name, _no_queries)(world)]


def _no_queries(world: World) -> list[dict]:
    return []


# Extra GETs with a query string: the thumbnail, reports for a client code.
QUERIES = {
    "records:photo_view": lambda w: [{"size": "thumb"}],
    "audit:events": lambda w: [{"client_code": w.clients["A"].code}],
    "audit:subject_report": lambda w: [{"code": w.clients["A"].code},
                                       {"code": w.clients["C"].code}],
}


# Searches, posted so that no term is ever in a URL.
SEARCHES = {
    "records:client_list": lambda w: [{"q": w.names["A"]}, {"q": w.names["C"]},
                                      {"q": w.phones["D"][-4:]}],
}


def run_matrix(http, actor: str, world: World, relogin) -> list[str]:
    problems: list[str] = []
    names = sorted(TABLE, key=lambda n: n == "logout")  # signing out goes last
    for name in names:
        rule = TABLE[name]
        missing_bodies: dict[str, str] = {}
        for kind in KINDS[rule.args]:
            kwargs = world.kwargs(rule.args, kind, actor)
            path = reverse(name, kwargs=kwargs)
            for method, data in _probes(name, rule, world):
                query = f"?{urlencode(data)}" if method == "GET" and data else ""
                where = f"{method} {name} {path}{query} [{actor} × {describe(actor, kind)}]"
                want = expected(rule, actor, kind, method)
                denial = is_denial(rule, actor, kind, method)
                before_state = state() if denial and method == "POST" else None
                before = _last_event()
                try:
                    response = (http.get(path, data) if method == "GET"
                                else http.post(path, data))
                except Exception as exc:  # noqa: BLE001 - a crash is one more mismatch
                    problems.append(f"{where}: expected {want[0]}, raised {exc!r}")
                    continue
                body = _body(response)
                if data and (method == "GET" or name in SEARCHES):  # typed terms shown back
                    for value in filter(None, data.values()):
                        body = body.replace(html.escape(value).encode(), b"\x00")
                got = response.status_code
                if got != want[0]:
                    problems.append(f"{where}: expected {want[0]}, got {got}")
                elif want[1] is not None:
                    target = want[1].format(**kwargs)
                    if not response.get("Location", "").startswith(target):
                        problems.append(f"{where}: expected a redirect to {target}…, got "
                                        f"{response.get('Location')}")
                events = _allowed_events_since(before)
                problems += [f"{where}: {p}" for p in
                             check_plaintext(world, actor, body, events, denial)]
                if before_state is not None:
                    changed = changed_tables(before_state, state())
                    if changed:
                        problems.append(f"{where}: a denied request changed {changed}")
                if rule.args != "none" and not query and got == want[0] and got in (403, 404):
                    text = _normalised(body, path)
                    if kind == "missing":
                        missing_bodies[method] = text
                    elif method in missing_bodies and text != missing_bodies[method]:
                        problems.append(f"{where}: the denial differs from the answer for an id "
                                        f"that does not exist (existence leaks)")
                if name == "logout" and method == "POST" and actor != "anonymous":
                    http = relogin()
    return problems


# -- the tests ---------------------------------------------------------------------------
def test_every_url_pattern_has_an_expectation():
    found, skipped = url_patterns()
    unnamed = [route for name, route, _view in found if name is None]
    assert not unnamed, f"URL patterns without a name cannot be in the matrix: {unnamed}"
    names = [name for name, _route, _view in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"URL names used twice (the matrix reaches only one): {duplicates}"
    assert "admin/" in skipped, "the admin is checked apart: it must still be mounted at admin/"
    missing = sorted(set(names) - TABLE.keys())
    stale = sorted(TABLE.keys() - set(names))
    assert not missing, (f"URL patterns without an entry in the permission matrix TABLE: "
                         f"{missing}. Add who may reach them and with what answer.")
    assert not stale, f"TABLE entries for URL names that no longer exist: {stale}"


def test_reauth_flags_match_the_views():
    views = {name: view for name, _route, view in url_patterns()[0]}
    marked = {name for name, view in views.items() if getattr(view, "reauth_required", False)}
    assert marked == {name for name, rule in TABLE.items() if rule.reauth}


@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(actor, world, client, login, request):
    if actor == "anonymous":
        http, relogin = client, None
    else:
        user = request.getfixturevalue(actor)

        def relogin():
            return login(user, reauthed=True)

        http = relogin()
    problems = run_matrix(http, actor, world, relogin)
    if problems:
        pytest.fail(f"{len(problems)} mismatches for {actor}:\n" + "\n".join(problems),
                    pytrace=False)


@pytest.mark.parametrize("actor", ["owner", "stylist", "auditor"])
def test_reauth_views_ask_for_the_password_again(actor, world, login, request):
    http = login(request.getfixturevalue(actor))
    problems = []
    for name, rule in TABLE.items():
        kind = {"none": "-"}.get(rule.args, "A" if rule.args in CLIENT_ARGS else "existing")
        if not rule.reauth or not allowed(rule, actor, kind):
            continue
        path = reverse(name, kwargs=world.kwargs(rule.args, kind, actor))
        for method in ("GET", "POST"):
            before = state()
            response = getattr(http, method.lower())(path, dict(rule.payload))
            location = response.get("Location", "")
            if response.status_code != 302 or not location.startswith("/accounts/reauth/"):
                problems.append(f"{method} {name} without re-authentication: "
                                f"{response.status_code} {location}")
            changed = changed_tables(before, state())
            if changed:
                problems.append(f"{method} {name} without re-authentication changed {changed}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("actor", OTP_ACTORS)
def test_two_factor_roles_verify_before_any_page(actor, world, login, request):
    http = login(request.getfixturevalue(actor), verified=False, reauthed=True)
    problems = []
    for name, rule in TABLE.items():
        kind = {"none": "-"}.get(rule.args, "A" if rule.args in CLIENT_ARGS else "existing")
        path = reverse(name, kwargs=world.kwargs(rule.args, kind, actor))
        if path.startswith("/accounts/"):
            continue
        response = http.get(path)
        location = response.get("Location", "")
        if response.status_code != 302 or not location.startswith("/accounts/otp/"):
            problems.append(f"GET {name} before two-factor: {response.status_code} {location}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("actor", ACTORS)
def test_admin_is_for_django_staff_only(actor, client, login, request, client_record):
    http = client if actor == "anonymous" else login(request.getfixturevalue(actor),
                                                    reauthed=True)
    for path in ("/admin/", "/admin/records/client/",
                 f"/admin/records/client/{client_record.pk}/change/"):
        response = http.get(path)
        assert response.status_code == 302, (actor, path, response.status_code)
        assert response["Location"].startswith("/admin/login/?next="), (actor, path)
