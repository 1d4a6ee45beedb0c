"""The one catalogue of what the audit log records: every action and every purpose.

Callers name an action or a purpose by the constant here, never by a string of their own;
the auditor's pages, exports and alerts show the label, in the reader's language. The
name is what the hash chain keeps, so a name never changes once events carry it: add a
new one instead. (tests/audit/test_catalogue.py fails on a name used anywhere else.)
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTIONS: dict[str, Promise] = {}
PURPOSES: dict[str, Promise] = {}


def _action(name: str, label: Promise) -> str:
    ACTIONS[name] = label
    return name


def _purpose(name: str, label: Promise) -> str:
    PURPOSES[name] = label
    return name


def action_label(name: str) -> str:
    """The label of an action in the active language; an unknown name shows as itself."""
    label = ACTIONS.get(name)
    return str(label) if label is not None else name


def purpose_label(name: str) -> str:
    label = PURPOSES.get(name)
    return str(label) if label is not None else name


# -- clients -------------------------------------------------------------------------------
CLIENT_LIST = _action("client.list", _("Listed clients"))
CLIENT_SEARCH = _action("client.search", _("Searched clients"))
CLIENT_OPEN = _action("client.open", _("Opened a client record"))
CLIENT_OPEN_FOR_EDIT = _action("client.open_for_edit", _("Opened a client record to edit"))
CLIENT_CREATE = _action("client.create", _("Created a client record"))
CLIENT_UPDATE = _action("client.update", _("Changed a client record"))
CLIENT_ASSIGN = _action("client.assign", _("Assigned a client"))
CLIENT_DESTROY_REQUEST = _action("client.destroy_request", _("Asked for a client to be destroyed"))
CLIENT_DESTROY_APPROVE = _action("client.destroy_approve", _("Approved a client's destruction"))
CLIENT_DESTROY = _action("client.destroy", _("A client was destroyed"))
RETENTION_POLICY_CHANGE = _action("retention.policy_change", _("Changed the retention policy"))
LEGAL_HOLD_PLACE = _action("legal_hold.place", _("Placed a legal hold"))
LEGAL_HOLD_LIFT = _action("legal_hold.lift", _("Lifted a legal hold"))
CLIENT_REKEY = _action("client.rekey", _("Re-keyed a client"))
CONSENT_GIVE = _action("consent.give", _("Recorded a consent"))
CONSENT_WITHDRAW = _action("consent.withdraw", _("Recorded a withdrawn consent"))
CLIENT_PAGE_OPEN = _action("client_page.open", _("A client opened their own page"))
CLIENT_PAGE_LINK = _action("client_page.link", _("Made a client's page link"))
NOTICE_PUBLISH = _action("notice.publish", _("Published a privacy notice"))
NOTICE_ACKNOWLEDGE = _action("notice.acknowledge", _("A client acknowledged the privacy notice"))
RIGHTS_REQUEST_OPEN = _action("rights_request.open", _("Received a rights request"))
RIGHTS_REQUEST_STEP = _action("rights_request.step", _("Handled a rights request"))
RIGHTS_COPY_MAKE = _action("rights_request.copy", _("Made a copy of a client's data"))
RIGHTS_COPY_DOWNLOAD = _action("rights_request.copy_download",
                               _("Downloaded a copy of a client's data"))
COMPLAINT_OPEN = _action("complaint.open", _("Received a complaint"))
COMPLAINT_STEP = _action("complaint.step", _("Handled a complaint"))
TRANSFER_OPEN = _action("transfer.open", _("Opened a transfer case"))
TRANSFER_SCOPE = _action("transfer.scope", _("Changed a transfer case's scope"))
TRANSFER_STEP = _action("transfer.step", _("Moved a transfer case on"))
TRANSFER_REFUSED = _action("transfer.refused", _("A transfer step was refused"))
TRANSFER_CHECKLIST = _action("transfer.checklist", _("Recorded a transfer checklist entry"))
TRANSFER_EVIDENCE = _action("transfer.evidence", _("Opened transfer checklist evidence"))
TRANSFER_APPROVE = _action("transfer.approve", _("Approved a transfer"))
TRANSFER_NOTICES = _action("transfer.notices", _("Exported the transfer notices"))
TRANSFER_OBJECTION = _action("transfer.objection", _("A client answered a transfer notice"))
TRANSFER_PACKAGE = _action("transfer.package", _("Built a transfer package"))
TRANSFER_DOWNLOAD = _action("transfer.download", _("Downloaded a transfer package"))
TRANSFER_RECEIPT = _action("transfer.receipt", _("Recorded the recipient's receipt"))
TRANSFER_IMPORT = _action("transfer.import", _("Imported a transfer package"))
CONTRAINDICATION_OVERRIDE = _action("treatment.contraindication_override",
                                    _("Overrode a contraindication stop"))
CONTRAINDICATION_STOP = _action("treatment.contraindication_stop",
                                _("A treatment was stopped by a contraindication"))
CLIENT_IMPORT = _action("client.import", _("Imported clients from a spreadsheet"))
TREATMENT_CREATE = _action("treatment.create", _("Recorded a treatment"))
PHOTO_CREATE = _action("photo.create", _("Added a photo"))
PHOTO_VIEW = _action("photo.view", _("Viewed a photo"))
FORM_CREATE = _action("form.create", _("Added a signed form"))
FORM_VIEW = _action("form.view", _("Viewed a signed form"))
SYSTEM_OPEN = _action("system.open", _("A system job opened records"))
INTEGRITY_DAMAGED_VALUE = _action("integrity.damaged_value", _("Found a damaged value"))

# -- signing in ----------------------------------------------------------------------------
AUTH_LOGIN = _action("auth.login", _("Signed in"))
AUTH_LOGIN_FAILED = _action("auth.login_failed", _("Failed to sign in"))
AUTH_LOGOUT = _action("auth.logout", _("Signed out"))
AUTH_LOCKOUT = _action("auth.lockout", _("Locked out after repeated failures"))
AUTH_UNLOCK = _action("auth.unlock", _("Unlocked a sign-in"))
AUTH_OTP_ENROL = _action("auth.otp_enrol", _("Enrolled an authenticator"))
AUTH_OTP_VERIFY = _action("auth.otp_verify", _("Entered a second-factor code"))
AUTH_RECOVERY_CODES = _action("auth.recovery_codes", _("Made new recovery codes"))
AUTH_REAUTH = _action("auth.reauth", _("Confirmed the password again"))
AUTH_IDLE_TIMEOUT = _action("auth.idle_timeout", _("Signed out after inactivity"))
AUTH_SESSION_EXPIRED = _action("auth.session_expired", _("Session reached its maximum length"))
INVITATION_ISSUE = _action("invitation.issue", _("Issued an invitation link"))
INVITATION_USE = _action("invitation.use", _("Used an invitation link"))
INVITATION_EXPIRE = _action("invitation.expire", _("An invitation link expired"))

# -- staff and access ----------------------------------------------------------------------
STAFF_PAGE = _action("staff.page", _("Opened a staff page"))
STAFF_CREATE = _action("staff.create", _("Added a staff member"))
STAFF_ROLE_CHANGE = _action("staff.role_change", _("Changed a role"))
STAFF_DEACTIVATE = _action("staff.deactivate", _("Deactivated a staff member"))
STAFF_REACTIVATE = _action("staff.reactivate", _("Reactivated a staff member"))
GRANT_GIVE = _action("grant.give", _("Granted a client"))
GRANT_REVOKE = _action("grant.revoke", _("Revoked a grant"))
GRANT_EXPIRE = _action("grant.expire", _("A grant expired"))
GRANT_CHANGE_EXPIRY = _action("grant.change_expiry", _("Changed when a grant ends"))
POLICY_CHANGE = _action("policy.change", _("Changed a location's ceiling"))
BREAK_GLASS_OPEN = _action("break_glass.open", _("Broke the glass"))
BREAK_GLASS_REVIEW = _action("break_glass.review", _("Reviewed a break-glass"))
AGREEMENT_PUBLISH = _action("agreement.publish", _("Published an agreement"))
AGREEMENT_ACCEPT = _action("agreement.accept", _("Accepted the agreement"))
TRAINING_RECORD = _action("training.record", _("Recorded privacy training"))
ACCESS_REVIEW_OPEN = _action("access_review.open", _("An access review opened"))
ACCESS_REVIEW_DECIDE = _action("access_review.decide", _("Decided on a grant in a review"))
ACCESS_REVIEW_CLOSE = _action("access_review.close", _("An access review closed"))

# -- lifecycle jobs ------------------------------------------------------------------------
JOB_START = _action("job.start", _("Started a job"))
JOB_SCHEDULE_CHANGE = _action("job.schedule_change", _("Changed a job's schedule"))
JOB_FINISH = _action("job.finish", _("A job finished"))
JOB_FAIL = _action("job.fail", _("A job failed"))
BACKUP_RESTORE = _action("backup.restore", _("Restored a backup"))

# -- the audit log itself ------------------------------------------------------------------
AUDIT_VIEW = _action("audit.view", _("Opened the audit log"))
AUDIT_EXPORT_CSV = _action("audit.export.csv", _("Exported the audit log (CSV)"))
AUDIT_EXPORT_JSONL = _action("audit.export.jsonl", _("Exported the audit log (JSON Lines)"))
AUDIT_SUBJECT_REPORT = _action("audit.subject_report", _("Made a who-saw-my-data report"))
AUDIT_REINDEX = _action("audit.reindex", _("Rebuilt the audit client index"))
ALERT_ACKNOWLEDGE = _action("alert.acknowledge", _("Acknowledged an alert"))
ALERT_RESOLVE = _action("alert.resolve", _("Resolved an alert"))

# -- purposes: why a record was opened -----------------------------------------------------
BROWSE_CLIENTS = _purpose("browse clients", _("browse clients"))
VIEW_CLIENT = _purpose("view client record", _("view client record"))
EDIT_CLIENT = _purpose("edit client record", _("edit client record"))
CREATE_CLIENT = _purpose("create client record", _("create client record"))
UPDATE_CLIENT = _purpose("update client record", _("update client record"))
RECORD_TREATMENT = _purpose("record a treatment", _("record a treatment"))
ADD_PHOTO = _purpose("add a photo", _("add a photo"))
VIEW_PHOTO = _purpose("view a photo", _("view a photo"))
MAKE_THUMBNAIL = _purpose("make a photo thumbnail", _("make a photo thumbnail"))
ADD_FORM = _purpose("add a signed form", _("add a signed form"))
VIEW_FORM = _purpose("view a signed form", _("view a signed form"))
PREVIEW_IMPORT = _purpose("preview a spreadsheet import", _("preview a spreadsheet import"))
IMPORT_CLIENTS = _purpose("import clients from spreadsheet", _("import clients from spreadsheet"))
INTEGRITY_CHECK = _purpose("integrity check", _("integrity check"))
LOAD_DEMO = _purpose("load demo salon", _("load demo salon"))
MANAGE_JOBS = _purpose("manage lifecycle jobs", _("manage lifecycle jobs"))
DESTROY_CLIENT = _purpose("destroy a client's data", _("destroy a client's data"))
RESTORE_DRILL = _purpose("restore drill", _("restore drill"))
RESTORE_BACKUP = _purpose("restore a backup", _("restore a backup"))
BACK_UP = _purpose("back up the salon's data", _("back up the salon's data"))
REKEY_CLIENT = _purpose("re-key a client", _("re-key a client"))
RECORD_CONSENT = _purpose("record a client's consent", _("record a client's consent"))
CLIENT_SELF_SERVICE = _purpose("a client's own page", _("a client's own page"))
HANDLE_RIGHTS_REQUEST = _purpose("handle a rights request", _("handle a rights request"))
HANDLE_COMPLAINT = _purpose("handle a complaint", _("handle a complaint"))
PUBLISH_NOTICE = _purpose("publish the privacy notice", _("publish the privacy notice"))
CHECK_CONTRAINDICATIONS = _purpose("check contraindications", _("check contraindications"))
ROTATE_KEYS = _purpose("rotate key-encryption keys", _("rotate key-encryption keys"))
TRANSFER_BUSINESS = _purpose("transfer the business", _("transfer the business"))
