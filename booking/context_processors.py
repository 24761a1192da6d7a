"""Template context for every page: the public notices banner. (Stub: filled in later.)"""

from django.http import HttpRequest


def public_notices(request: HttpRequest) -> dict:
    return {"public_notices": []}
