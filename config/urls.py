from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from clinics import views as clinic_views
from config import health

if settings.YUYUE_ADMIN_REQUIRE_OTP:
    from django_otp.admin import OTPAdminSite

    # Staff pages need a verified second factor: the stock admin, OTP-guarded.
    admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", clinic_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
]
