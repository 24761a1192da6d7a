"""The patient's booking pages (signed in): the booking steps, my bookings, waitlist,
messages. Public pages (home, status, signs) are wired in config/urls.py."""

from django.urls import path

from booking.views import book, mine

app_name = "booking"

urlpatterns: list = []

# The booking steps (booking/views/book.py): every choice in the query string.
urlpatterns += [
    path("", book.start, name="start"),
    path("department/", book.department, name="department"),
    path("doctor/", book.doctor, name="doctor"),
    path("session/", book.session, name="session"),
    path("slot/", book.slot, name="slot"),
    path("confirm/", book.confirm, name="confirm"),
    path("booking/<str:code>/", book.booking_detail, name="booking-detail"),
    path("booking/<str:code>/calendar.ics", book.booking_ics, name="booking-ics"),
]

# My bookings, cancel (with undo), reschedule, waitlist, messages (booking/views/mine.py).
urlpatterns += [
    path("mine/", mine.mine, name="mine"),
    path("mine/<int:booking_id>/cancel/", mine.booking_cancel, name="booking-cancel"),
    path("mine/<int:booking_id>/undo/", mine.booking_undo, name="booking-undo"),
    path("mine/<int:booking_id>/reschedule/", mine.booking_reschedule, name="booking-reschedule"),
    path("waitlist/join/", mine.waitlist_join, name="waitlist-join"),
    path("waitlist/<int:entry_id>/leave/", mine.waitlist_leave, name="waitlist-leave"),
    path("messages/", mine.messages, name="messages"),
]
