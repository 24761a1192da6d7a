"""django-axes guards staff passwords only.

Patients have no password: they sign in with a one-time code (patients.views), which still
ends in `django.contrib.auth.login` and its `user_logged_in` signal. Left to itself,
axes would then log the patient's username (the full phone number), write an AccessLog
row and delete the failed staff sign-in attempts recorded for the patient's IP address
(AXES_RESET_ON_SUCCESS) — a patient sign-in must never lift a staff lockout.
"""

from axes.handlers.database import AxesDatabaseHandler


def _is_staff(user) -> bool:
    return user is not None and (user.is_staff or user.is_superuser)


class StaffOnlyAxesHandler(AxesDatabaseHandler):
    def user_logged_in(self, sender, request, user, **kwargs):
        if _is_staff(user):
            return super().user_logged_in(sender, request, user, **kwargs)
        return None

    def user_logged_out(self, sender, request, user, **kwargs):
        if _is_staff(user):
            return super().user_logged_out(sender, request, user, **kwargs)
        return None
