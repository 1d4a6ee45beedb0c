from django.http import Http404


def notice(request, *args, **kwargs):
    raise Http404


def client_page(request, *args, **kwargs):
    raise Http404


def acknowledge(request, *args, **kwargs):
    raise Http404


def consent(request, *args, **kwargs):
    raise Http404


def rights_request(request, *args, **kwargs):
    raise Http404


def complaint(request, *args, **kwargs):
    raise Http404


def copy_download(request, *args, **kwargs):
    raise Http404
