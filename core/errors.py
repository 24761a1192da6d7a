"""The one error type every Yuyue rule raises.

Each refusal carries a stable `code` (for clients and tests) and a translatable
message (for people), in the request's language.
"""

from typing import Any

from django.utils.encoding import force_str
from rest_framework import status


class YuyueError(Exception):
    code: str = "error"
    message: Any = "Request refused."
    http_status: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: Any = None, *, code: str | None = None, **params: Any) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        self.params = params
        super().__init__(self.code)

    @property
    def detail(self) -> str:
        text = force_str(self.message)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"
