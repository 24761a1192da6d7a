"""The patient's inbox over the API: the messages sent to the signed-in account.

Thin: one selector (`notifications.selectors.inbox_messages`, as the "my messages" page
reads it). Only the caller's own account's messages; one-time sign-in codes are never
listed.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import ApiView, PatientAccount, error_responses
from notifications.selectors import inbox_messages


class MyMessageResponse(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="What the message is about, e.g. booking_confirmed.")
    text = serializers.CharField(help_text="The message as sent, in the account's language.")
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()
    booking_code = serializers.CharField(
        help_text="The code of the booking the message speaks of; empty when none."
    )


class MyMessageListApi(ApiView):
    """GET: the account's messages, newest first."""

    access = {"GET": PatientAccount()}

    @extend_schema(
        operation_id="messages_list",
        summary="My messages",
        description="The messages sent to your account (confirmations, reminders, "
        "cancellations, waitlist news), newest first, the last 50.",
        responses={
            200: MyMessageResponse(many=True),
            **error_responses(generic=(401, 403, 429)),
        },
    )
    def get(self, request: Request) -> Response:
        items = inbox_messages(account_id=request.user.pk)
        return Response(MyMessageResponse(items, many=True).data)
