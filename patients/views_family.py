"""My patients: the signed-in account's own patients (self and family). Thin: parse the
form, call one service or selector, render; refusals come back from the services and are
shown next to the field they are about."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import YuyueError
from core.http import next_on_site
from patients import selectors, services
from patients.exceptions import NotYourPatient
from patients.forms_family import FamilyAddForm, FamilyEditForm
from patients.models import Patient


def _own_patient(request: HttpRequest, patient_id: int, *, include_removed=False) -> Patient:
    """The account's patient, or 404 (another account's, missing, or removed)."""
    try:
        return selectors.patient_get_for_account(
            account=request.user, patient_id=patient_id, include_removed=include_removed
        )
    except NotYourPatient:
        raise Http404(NotYourPatient.message) from None


@login_required
@require_http_methods(["GET"])
def patient_list(request: HttpRequest) -> HttpResponse:
    family = selectors.patient_family_for_account(
        account=request.user, limit=services.PATIENTS_PER_ACCOUNT
    )
    return render(request, "patients/family_list.html", {"family": family})


def _back_to(request: HttpRequest, *, patient_id: int) -> str | None:
    """Where the patient came from (a booking step's `next`, same site only), with the new
    patient chosen in it, so adding a family member mid-booking goes back to the step."""
    target = next_on_site(request)
    if not target:
        return None
    path, _sep, query = target.partition("?")
    params = QueryDict(query, mutable=True)
    params["patient"] = str(patient_id)
    return f"{path}?{params.urlencode()}"


@login_required
@require_http_methods(["GET", "POST"])
def patient_add(request: HttpRequest) -> HttpResponse:
    form = FamilyAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patient = services.patient_create(
                account=request.user,
                real_name=data["real_name"],
                relationship=data["relationship"],
                document_type=data["document_type"],
                document_number=data["document_number"],
                birth_date=data["birth_date"],
                sex=data["sex"] or None,
                phone=data["phone"],
                idempotency_key=data["add_key"],
            )
        except YuyueError as refusal:
            form.show_refusal(refusal)
        else:
            messages.success(
                request, _("%(name)s was added to your patients.") % {"name": patient.real_name}
            )
            return redirect(_back_to(request, patient_id=patient.pk) or "patients:patient-list")
    status = 400 if form.errors else 200
    next_url = next_on_site(request)
    return render(
        request, "patients/family_add.html", {"form": form, "next": next_url}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _own_patient(request, patient_id)
    initial = {"relationship": patient.relationship, "phone": patient.phone}
    form = FamilyEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(
                patient=patient,
                relationship=form.cleaned_data["relationship"],
                phone=form.cleaned_data["phone"],
            )
        except YuyueError as refusal:
            form.show_refusal(refusal)
        else:
            messages.success(
                request, _("The details of %(name)s were saved.") % {"name": patient.real_name}
            )
            return redirect("patients:patient-list")
    status = 400 if form.errors else 200
    return render(
        request, "patients/family_edit.html", {"form": form, "patient": patient}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def patient_remove(request: HttpRequest, patient_id: int) -> HttpResponse:
    """GET asks for confirmation; POST removes. A second POST (double submit) finds the
    patient already removed and goes to the list like the first."""
    if request.method == "POST":
        try:
            patient = services.patient_remove(
                patient=_own_patient(request, patient_id, include_removed=True),
                requested_by=request.user,
            )
        except YuyueError as refusal:
            patient = _own_patient(request, patient_id)
            return render(
                request,
                "patients/family_remove.html",
                {"patient": patient, "refusal": refusal},
                status=409,
            )
        messages.success(
            request, _("%(name)s was removed from your patients.") % {"name": patient.real_name}
        )
        return redirect("patients:patient-list")
    patient = _own_patient(request, patient_id)
    return render(request, "patients/family_remove.html", {"patient": patient})
