from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


@login_required
def import_upload(request):
    raise PermissionDenied
