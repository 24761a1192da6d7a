"""Staff pages outside the admin's own URLs, under /admin/ (config/urls.py).

`enrol` needs no session: the person setting up a second factor has none yet; its
signed link is the key. `keepalive` is inside the admin site's guard.
"""

from django.contrib import admin
from django.urls import path

from staff import views

app_name = "staff"

urlpatterns = [
    path("enrol/<str:token>/", views.enrol, name="enrol"),
    path("keepalive", admin.site.admin_view(views.keepalive), name="keepalive"),
]
