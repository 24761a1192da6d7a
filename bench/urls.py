"""Production's URLs plus the naive booking view, for the benchmark only."""

from django.urls import path

from bench import naive
from config.urls import handler404  # noqa: F401
from config.urls import urlpatterns as production_urlpatterns

urlpatterns = [
    path("bench/naive-book", naive.naive_book, name="bench-naive-book"),
    *production_urlpatterns,
]
