from . import policy


def staff(request):
    user = getattr(request, "user", None)
    profile = policy.profile_of(user) if user is not None else None
    return {"staff_profile": profile, "may_see_clients": policy.may_see_clients(user)}
