"""The first policy: the demo roles and ceilings of DESIGN.md, "Data classes".

    owner        L4, all locations
    manager      L3, own location
    stylist      L4 for clients assigned to them, L2 for other clients of their location
    beautician   as stylist
    receptionist L2, own location
    auditor      nothing of L2-L4 (audit metadata only)

Deny by default: a user without a staff profile, or inactive, gets nothing.
"""

from __future__ import annotations

from vault.classes import DataClass

from .models import Role, StaffProfile

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


def ceiling_for(user, client) -> DataClass:
    """The highest data class `user` may open of `client` (NONE when not at all)."""
    profile = profile_of(user)
    if profile is None or profile.role not in SEES_CLIENTS:
        return DataClass.NONE
    if profile.role not in ALL_LOCATIONS and client.location_id != profile.location_id:
        return DataClass.NONE
    if profile.role in (Role.STYLIST, Role.BEAUTICIAN) and client.assigned_staff_id != user.pk:
        return DataClass.L2
    return ROLE_CEILING[profile.role]


def may_see_clients(user) -> bool:
    profile = profile_of(user)
    return profile is not None and profile.role in SEES_CLIENTS


def visible_filter(user) -> dict | None:
    """Keyword filter for the clients `user` may see at all; None means none."""
    profile = profile_of(user)
    if profile is None or profile.role not in SEES_CLIENTS:
        return None
    if profile.role in ALL_LOCATIONS:
        return {}
    return {"location_id": profile.location_id}
