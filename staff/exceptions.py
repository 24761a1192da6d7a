"""Staff sign-in refusals, each with a stable code."""

from core.errors import YuyueError
from staff.forms import GENERIC_ERROR


class InvalidCredentials(YuyueError):
    """Every failed staff sign-in, whatever failed (name, password, code, lock-out, not
    staff): the answer never tells a right password from a wrong one."""

    code = "invalid_credentials"
    message = GENERIC_ERROR
