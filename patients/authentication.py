"""Bearer tokens for the API: `Authorization: Bearer <token>` (patients.ApiToken).

The token is looked up by its SHA-256; an expired or revoked one is refused as
not_authenticated. A staff token issued after a second factor makes the request
verified (`user.is_verified()`), as a verified admin session is; any other token is
not, so a patient's or a password-only token never reaches a staff endpoint.
"""

import datetime
import hashlib

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from patients.models import ApiToken

# A token's last use is written at most this often (one UPDATE, not one per request).
LAST_USED_EVERY = datetime.timedelta(minutes=5)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: session authentication may still apply
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            token = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from exc
        now = timezone.now()
        row = (
            ApiToken.objects.select_related("account")
            .filter(key_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if row is None or not row.account.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        user = row.account
        verified = row.second_factor
        user.is_verified = lambda: verified
        return user, row

    def authenticate_header(self, request) -> str:
        return self.keyword
