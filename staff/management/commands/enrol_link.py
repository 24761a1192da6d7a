"""Print a one-time link that sets up a staff member's second factor.

The way in for the first superuser (`createsuperuser` makes no device, and the admin
wants one in production), or for anyone when no administrator can sign in. Same link,
same 72 hours, as the accounts admin's "Set up two-factor sign-in".
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from staff import services


class Command(BaseCommand):
    help = "Print a one-time link (72 hours) that sets up USERNAME's two-factor sign-in."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--base-url",
            default=settings.YUYUE_PUBLIC_URL,
            help="The site's address, e.g. https://yuyue.example.org (default: YUYUE_PUBLIC_URL)",
        )

    def handle(self, *args, username: str, base_url: str, **options) -> None:
        account = (
            get_user_model()
            .objects.filter(username=username, is_active=True, is_staff=True)
            .first()
        )
        if account is None:
            raise CommandError(f"No active staff account is called {username!r}.")
        _device, token = services.totp_enrolment_start(account=account)
        path = reverse("staff:enrol", args=[token])
        self.stdout.write((base_url or "").rstrip("/") + path)
