"""Load-balancer probes. `/healthz` says the process answers; nothing more."""

from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
