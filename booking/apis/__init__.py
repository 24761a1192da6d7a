"""The booking API, one module per part: status and closures, catalogue and availability,
the patient's bookings and waitlist. Routes in booking/api_urls.py."""
