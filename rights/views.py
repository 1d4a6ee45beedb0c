from django.http import Http404


def request_list(request, *args, **kwargs):
    raise Http404


def request_new(request, *args, **kwargs):
    raise Http404


def request_detail(request, *args, **kwargs):
    raise Http404


def request_copy(request, *args, **kwargs):
    raise Http404


def notice_admin(request, *args, **kwargs):
    raise Http404


def client_link(request, *args, **kwargs):
    raise Http404


def consent_record(request, *args, **kwargs):
    raise Http404
