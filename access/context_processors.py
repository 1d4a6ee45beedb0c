from . import policy
from .models import BreakGlass, Role


def staff(request):
    user = getattr(request, "user", None)
    profile = policy.profile_of(user) if user is not None else None
    context = {"staff_profile": profile, "may_see_clients": policy.may_see_clients(user)}
    if profile is not None and profile.role in policy.SEES_CLIENTS:
        context["gates"] = getattr(user, policy.GATES_SHOWN, None) or policy.gates_of(user)
    if profile is not None and profile.role == Role.OWNER:
        context["pending_alerts"] = BreakGlass.objects.filter(
            verdict=BreakGlass.Verdict.PENDING).count()
    return context
