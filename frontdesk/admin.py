"""The desk's pages, as views of the admin site: its sign-in, permissions and look.

They hang off the queue tickets' admin, so the admin index's "Front desk" section
reaches them, and every page goes through `admin_site.admin_view` (staff, second
factor). Each view checks its own permission (frontdesk.QueueTicket's Meta).
"""

from django.contrib import admin
from django.urls import path

from booking.admin.bookings import BookingAdmin
from booking.models import Booking
from frontdesk.models import QueueTicket
from frontdesk.services import queue_check_in
from frontdesk.views import checkin, queue, walkin


@admin.register(QueueTicket)
class QueueTicketAdmin(admin.ModelAdmin):
    list_display = ("number", "session", "room", "state", "priority", "late", "checked_in_at")
    list_filter = ("state", "priority", "late", "room")
    list_select_related = ("session__doctor", "room")
    date_hierarchy = "checked_in_at"

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # tickets are made by check-in

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # and moved by the queue's calls

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        def page(view, **extra):
            def wrapped(request, *args, **kwargs):
                return view(request, *args, model_admin=self, **extra, **kwargs)

            return self.admin_site.admin_view(wrapped)

        desk = [
            path("desk/walk-in/", page(walkin.walkin_page), name="frontdesk_walkin"),
            path("desk/phone/", page(walkin.phone_page), name="frontdesk_phone"),
            path(
                "desk/ticket/<int:booking_id>/",
                page(walkin.ticket_page),
                name="frontdesk_ticket",
            ),
            path("desk/check-in/", page(checkin.checkin_page), name="frontdesk_checkin"),
            path("desk/queue/", page(queue.queue_index), name="frontdesk_queue"),
            path(
                "desk/queue/<int:session_id>/",
                page(queue.queue_session),
                name="frontdesk_queue_session",
            ),
        ]
        return desk + super().get_urls()


# The bookings list's "check in" action puts the patient in the day's queue, as the
# check-in page does: the same admin, with the desk's check-in (booking never imports
# frontdesk, so the desk hands its service over here).
admin.site.unregister(Booking)


@admin.register(Booking)
class DeskBookingAdmin(BookingAdmin):
    check_in_service = staticmethod(queue_check_in)
