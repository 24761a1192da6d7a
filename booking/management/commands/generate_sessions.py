import argparse
import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from booking.selectors import session_horizon
from clinics.exceptions import InvalidScheduleTemplate
from clinics.services import sessions_generate


def _iso_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of days >= 1, got {value!r}")
    return number


class Command(BaseCommand):
    help = (
        "Create the missing sessions, slots and quotas from the active schedule templates, "
        "for each department's booking window (its booking policy). Safe to run again: "
        "existing sessions are left as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--start", type=_iso_date, help="first date, YYYY-MM-DD (default: today in Shanghai)"
        )
        parser.add_argument(
            "--days",
            type=_positive_int,
            help=(
                "how many dates from --start, for every department (default: each "
                "department's booking window: from --start to window_days ahead)"
            ),
        )

    def handle(self, *args, start: datetime.date | None, days: int | None, **options) -> None:
        try:
            result = sessions_generate(start=start, days=days, horizon_days=session_horizon())
        except InvalidScheduleTemplate as exc:
            template = exc.params.get("template")
            raise CommandError(f"schedule template {template}: {exc.detail}") from exc
        self.stdout.write(
            f"sessions created: {result.sessions_created}, slots: {result.slots_created}, "
            f"places: {result.places_created}, already existed: {result.skipped_existing}"
        )
