"""The patient's account pages: sign-in by phone and one-time code, sign-out, my patients."""

from django.urls import path

from patients import views, views_family

app_name = "patients"

urlpatterns: list = [
    path("sign-in", views.sign_in, name="sign-in"),
    path("sign-in/code", views.sign_in_code, name="sign-in-code"),
    path("sign-out", views.sign_out, name="sign-out"),
]

# My patients (self and family).
urlpatterns += [
    path("patients/", views_family.patient_list, name="patient-list"),
    path("patients/add", views_family.patient_add, name="patient-add"),
    path("patients/<int:patient_id>/edit", views_family.patient_edit, name="patient-edit"),
    path("patients/<int:patient_id>/remove", views_family.patient_remove, name="patient-remove"),
]
