"""Who may open what: roles, location scope, object grants, break-glass and gates.

    owner        L4, all locations
    manager      L3, own location
    stylist      L4 for clients granted to them (assigned), L2 for others of their location
    beautician   as stylist
    receptionist L2, own location
    auditor      nothing of L2-L4 (audit metadata only)

An owner can tighten a role's ceiling per location (`LocationPolicy`). A grant also lets
staff see a client of another location. An active break-glass opens a client up to L4.
Staff who have not accepted the current confidentiality agreement or whose privacy
training has lapsed are held at L2. Deny by default: no profile, inactive, or a role
that does not see clients gets nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connections, router
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from vault.classes import DataClass

from . import permissions
from .models import (
    Agreement,
    AgreementAcceptance,
    BreakGlass,
    Grant,
    Location,
    LocationPolicy,
    Role,
    StaffProfile,
    TrainingRecord,
)

ROLE_CEILING = {
    Role.OWNER: DataClass.L4,
    Role.MANAGER: DataClass.L3,
    Role.STYLIST: DataClass.L4,
    Role.BEAUTICIAN: DataClass.L4,
    Role.RECEPTION: DataClass.L2,
    Role.AUDITOR: DataClass.NONE,
}
ALL_LOCATIONS = {Role.OWNER}
SEES_CLIENTS = {Role.OWNER, Role.MANAGER, Role.STYLIST, Role.BEAUTICIAN, Role.RECEPTION}
# Stylists and beauticians see a client's full record when it is assigned (granted) to
# them; they are the roles a client is assigned to, and a client they create is theirs.
NEEDS_GRANT_FOR_FULL = frozenset({Role.STYLIST, Role.BEAUTICIAN})
ASSIGNED_ROLES = NEEDS_GRANT_FOR_FULL
IMPORTERS = frozenset({Role.OWNER, Role.MANAGER})
GATED_ABOVE = DataClass.L2
GATES_SHOWN = "_salon_vault_gates"


def profile_of(user) -> StaffProfile | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    try:
        return user.staff
    except StaffProfile.DoesNotExist:
        return None


def role_of(user) -> str:
    profile = profile_of(user)
    return profile.role if profile else ""


def may_see_clients(user) -> bool:
    profile = profile_of(user)
    return profile is not None and profile.role in SEES_CLIENTS


@dataclass(frozen=True)
class Gates:
    agreement_ok: bool
    training_ok: bool

    @property
    def ok(self) -> bool:
        return self.agreement_ok and self.training_ok


def gates_of(user) -> Gates:
    """Agreement and training, in one statement.

    Plain SQL, as permissions.grant_facts: every page a member of staff opens asks it
    (the banner shows the gates), and composing the Exists through the ORM cost more
    than running it."""
    connection = connections[router.db_for_read(Agreement)]
    agreements, accepted, trained = (Agreement._meta.db_table,
                                     AgreementAcceptance._meta.db_table,
                                     TrainingRecord._meta.db_table)
    # Only table names are formatted in; every value is a parameter.
    sql = (f"SELECT NOT EXISTS (SELECT 1 FROM {agreements}) OR EXISTS ("  # noqa: S608
           f"SELECT 1 FROM {accepted} WHERE user_id = %s AND agreement_id = ("
           f"SELECT id FROM {agreements} ORDER BY version DESC LIMIT 1)), "
           f"EXISTS (SELECT 1 FROM {trained} WHERE user_id = %s AND expires_on >= %s)")
    today = connection.ops.adapt_datefield_value(timezone.localdate())
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, user.pk, today])
        agreement_ok, training_ok = cursor.fetchone()
    return Gates(agreement_ok=bool(agreement_ok), training_ok=bool(training_ok))


FEW_GRANTS_ELSEWHERE = 500  # beyond this, the page's query reads them itself


class VisiblePart(NamedTuple):
    """One part of the clients a user may see: those that match `filter` and, when
    `location_id` is set, are at that one location."""

    filter: Q
    location_id: uuid.UUID | None = None


class Decider:
    """The decisions for one user, loading only what can change them, once per page.

    For staff who are not owners, everything about a page of clients that can change a
    decision — live grants in the ledger, the guardian object permissions behind them,
    active break-glass and the location policies of their role — comes in one round trip
    (`_load`). Owners see every client at L4 whatever they hold, so nothing is loaded.
    """

    def __init__(self, user) -> None:
        self.user = user
        self.profile = profile_of(user)
        self.now = timezone.now()
        self._policies: dict | None = None
        self._gates: Gates | None = None
        self._loaded: set[uuid.UUID] = set()
        self._ledger: set[uuid.UUID] = set()  # live Grant rows
        self._held: set[uuid.UUID] = set()  # guardian object permissions
        self._glass_ids: set[uuid.UUID] = set()
        self._glass: dict[uuid.UUID, BreakGlass] = {}
        self._parts: list[VisiblePart] | None | bool = False  # False: not read yet

    @property
    def role(self) -> str:
        return self.profile.role if self.profile else ""

    @property
    def gates(self) -> Gates:
        if self._gates is None:
            self._gates = gates_of(self.user)
            # The page rendered after this decision shows the same gates (see
            # context_processors.staff); every decision loads them afresh.
            setattr(self.user, GATES_SHOWN, self._gates)
        return self._gates

    def _policy_ceiling(self, location_id) -> int:
        if self._policies is None:
            self._policies = dict(LocationPolicy.objects.filter(role=self.role)
                                  .values_list("location_id", "ceiling"))
        return self._policies.get(location_id, DataClass.L4)

    def prefetch(self, clients) -> None:
        """Load what decides a page of clients, in one query."""
        if self.profile is None or self.role in ALL_LOCATIONS:
            return
        self._load(clients)

    def _load(self, clients) -> None:
        ids = [c.pk for c in clients if c.pk is not None and c.pk not in self._loaded]
        if not ids:
            return
        facts = permissions.grant_facts(
            self.user, ids, now=self.now,
            policies_of_role=self.role if self._policies is None else None)
        if self._policies is None:
            self._policies = {}
        for kind, ref, extra in facts:
            if kind == "policy":
                self._policies[uuid.UUID(ref)] = int(extra)
            elif kind == "grant":
                self._ledger.add(uuid.UUID(ref))
            elif kind == "perm":
                self._held.add(uuid.UUID(ref))
            elif kind == "glass":
                self._glass_ids.add(uuid.UUID(ref))
        self._loaded.update(ids)

    def has_grant(self, client) -> bool:
        """A live grant: in the ledger (not revoked, not expired) and held in guardian."""
        if client.pk is None or self.profile is None:
            return False
        self._load([client])
        return client.pk in self._ledger and client.pk in self._held

    def _has_glass(self, client) -> bool:
        if client.pk is None or self.profile is None:
            return False
        self._load([client])
        return client.pk in self._glass_ids

    def break_glass(self, client) -> BreakGlass | None:
        """The active break-glass of `client`, loaded when an opening uses it."""
        if not self._has_glass(client):
            return None
        if client.pk not in self._glass:
            self._glass[client.pk] = (
                BreakGlass.objects.filter(user=self.user, client_id=client.pk,
                                          ended_at__isnull=True, expires_at__gt=self.now)
                .order_by("-expires_at").first())
        return self._glass[client.pk]

    def ceiling(self, client) -> int:
        """The highest data class the user may open of `client` (NONE when not at all)."""
        return self._ceiling(client, with_glass=True)

    def ceiling_without_glass(self, client) -> int:
        return self._ceiling(client, with_glass=False)

    def _ceiling(self, client, *, with_glass: bool) -> int:
        profile = self.profile
        if profile is None or profile.role not in SEES_CLIENTS:
            return DataClass.NONE
        role = profile.role
        level = ROLE_CEILING[role]
        if role not in ALL_LOCATIONS:
            own = client.location_id == profile.location_id
            # A grant matters to a stylist (full record) or outside one's location (at all).
            granted = self.has_grant(client) if role in NEEDS_GRANT_FOR_FULL or not own \
                else False
            if not own and not granted:
                return DataClass.NONE
            if role in NEEDS_GRANT_FOR_FULL and not granted:
                level = DataClass.L2
            cap = self._policy_ceiling(client.location_id)
            level = min(level, cap)
            # Break-glass lifts a record up to the owner's ceiling for the role at that
            # location, never past it.
            if with_glass and level < cap and self._has_glass(client):
                level = cap
        if level > GATED_ABOVE and not self.gates.ok:
            level = GATED_ABOVE
        return level

    def glass_ceiling(self, client) -> int:
        """What break-glass would open of `client`: the owner's ceiling for the role at
        that location (L4 unless tightened), for staff who see the client at all."""
        profile = self.profile
        if profile is None or profile.role not in SEES_CLIENTS or profile.role in ALL_LOCATIONS:
            return DataClass.NONE
        if self.ceiling_without_glass(client) == DataClass.NONE:
            return DataClass.NONE
        # Gates (agreement, training) still hold the opening at L2; that is theirs to say.
        return self._policy_ceiling(client.location_id)

    def may_break_glass(self, client) -> bool:
        """Whether break-glass would open more of `client` than the user sees now."""
        return self.glass_ceiling(client) > self.ceiling(client)

    def may_assign(self, client) -> bool:
        """Owners assign any client; a manager those of their own location."""
        profile = self.profile
        if profile is None:
            return False
        return profile.role in ALL_LOCATIONS or (
            profile.role == Role.MANAGER and profile.location_id == client.location_id)

    def may_see(self, client) -> bool:
        """Whether `client` is among those visible_filter lets the user see at all."""
        profile = self.profile
        if profile is None or profile.role not in SEES_CLIENTS:
            return False
        if profile.role in ALL_LOCATIONS or client.location_id == profile.location_id:
            return True
        self._load([client])
        return client.pk in self._ledger

    def visible_parts(self) -> list[VisiblePart] | None:
        """visible_filter as parts (see _visible_parts), read once per decider."""
        if self._parts is False:
            self._parts = self._visible_parts()
        return self._parts

    def _visible_parts(self) -> list[VisiblePart] | None:
        """visible_filter as disjoint parts that an index can each serve in code order:
        the user's own location (the (location, code) index), and granted clients of other
        locations (the user's grants). An OR of the two reads a whole location to fill a
        page; each part alone stops after a page. None means no client at all."""
        profile = self.profile
        if profile is None or profile.role not in SEES_CLIENTS:
            return None
        if profile.role in ALL_LOCATIONS:
            return [VisiblePart(Q())]
        here = profile.location_id
        # Grants elsewhere, found on the (user, location) index as the two ranges either
        # side of the user's own location: a stylist holds thousands of grants on her own
        # clients (her assignments), and reading them all to find none elsewhere would
        # cost every page. Usually there are none or a handful: read now, they spare the
        # page a second query, and the planner, which cannot know how few they are,
        # the choice of scanning other locations' clients in code order for them.
        # (No LIMIT: under one, PostgreSQL expects many and reads the whole table.)
        ids = self._grants_elsewhere(here)
        if not ids:
            return [VisiblePart(Q(), here)]
        if len(ids) > FEW_GRANTS_ELSEWHERE:  # the page's query reads them itself
            ids = (Grant.objects.filter(user=self.user, revoked_at__isnull=True)
                   .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=self.now))
                   .exclude(location_id=here).values("client_id"))
        return [VisiblePart(Q(), here), VisiblePart(~Q(location_id=here) & Q(pk__in=ids))]

    def _grants_elsewhere(self, here) -> list[uuid.UUID]:
        """Clients the user holds a live grant on outside location `here`. Plain SQL, as
        grant_facts: it runs for every list and search."""
        connection = connections[router.db_for_read(Grant)]
        location = Grant._meta.get_field("location").get_db_prep_value(here, connection)
        sql = (f"SELECT client_id FROM {Grant._meta.db_table} "  # noqa: S608
               "WHERE user_id = %s AND revoked_at IS NULL "
               "AND (expires_at IS NULL OR expires_at > %s) "
               "AND (location_id < %s OR location_id > %s)")
        to_python = Grant._meta.get_field("client_id").to_python
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.user.pk, connection.ops.adapt_datetimefield_value(self.now),
                                 location, location])
            return [to_python(row[0]) for row in cursor.fetchall()]

    def visible_filter(self) -> Q | None:
        """A filter for the clients the user may see at all; None means none."""
        profile = self.profile
        if profile is None or profile.role not in SEES_CLIENTS:
            return None
        if profile.role in ALL_LOCATIONS:
            return Q()
        # Per row, and only for rows outside the user's location: one probe of the
        # (client_id, user) index, however many grants the user holds.
        granted = (Grant.objects.filter(client_id=OuterRef("pk"), user=self.user,
                                        revoked_at__isnull=True)
                   .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=self.now)))
        return Q(location_id=profile.location_id) | Q(Exists(granted))


def may_assign(user, client) -> bool:
    return Decider(user).may_assign(client)


def is_assigned_what_they_create(user) -> bool:
    return role_of(user) in ASSIGNED_ROLES


def import_locations(user):
    """The locations the user may import clients into (none when they may not import)."""
    profile = profile_of(user)
    if profile is None or profile.role not in IMPORTERS:
        return Location.objects.none()
    if profile.role in ALL_LOCATIONS:
        return Location.objects.all()
    return Location.objects.filter(pk=profile.location_id)


def ceiling_for(user, client) -> int:
    return Decider(user).ceiling(client)


def may_view_audit(user) -> bool:
    """Owners and auditors read the audit log; it holds metadata, never record contents."""
    return role_of(user) in (Role.OWNER, Role.AUDITOR)


def may_report_subject(user) -> bool:
    """Only owners produce a client's "who saw my data" report (PIPL Art. 45)."""
    return role_of(user) == Role.OWNER
