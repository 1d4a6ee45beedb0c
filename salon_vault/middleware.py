"""Response headers that every page of the application carries."""

from __future__ import annotations

from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    """No page is kept by a browser or a proxy cache: ``Cache-Control: no-store``.

    Almost every page shows personal data, and a page kept on a shared salon computer can
    be read after its viewer signed out (the back button, the disk cache). Static files are
    served by WhiteNoise before this middleware runs, so they keep their long cache lifetime.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # A view that already forbade storing keeps its header; otherwise no-store is merged
        # into what it set (and overrides any max-age there).
        if "no-store" not in response.get("Cache-Control", ""):
            patch_cache_control(response, no_store=True, private=True)
        return response
