"""The API reference page under the site's Content-Security-Policy.

drf-spectacular's Redoc template loads web fonts from Google and has inline style; this
page uses templates/api/docs.html instead (static files only, no inline script). Redoc
itself injects its styles at run time, draws its icons as `data:` images and builds its
search index in a `blob:` worker, so this page alone allows inline style, data images and
blob workers; script-src stays 'self'.
"""

from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView

DOCS_PAGE_CSP = {
    "style-src": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "worker-src": ["'self'", "blob:"],
}


@method_decorator(csp_update(DOCS_PAGE_CSP), name="get")
class ApiDocsView(SpectacularRedocView):
    template_name = "api/docs.html"
