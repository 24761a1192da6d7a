"""The package's URLs, mounted where its README puts them."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("appointment/", include("appointment.urls")),
]
