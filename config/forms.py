"""Shared by every site's forms."""

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model


class DateTimeLocalInput(forms.DateTimeInput):
    """A browser's date-and-time picker (``datetime-local``), in the format it reads and
    sends; the value is in the organisation's time zone (``TIME_ZONE``)."""

    input_type = "datetime-local"

    def __init__(self):
        # With seconds, so an unchanged value comes back equal and is not a change.
        super().__init__(format="%Y-%m-%dT%H:%M:%S")


def show_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's refusal, next to the field it names (or above the form)."""
    by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for name, field_messages in by_field.items():
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)


def saved_through(
    request, form: forms.Form | None, save: Callable[..., Model], message
) -> Model | None:
    """A page's "add" step: for a POST whose ``form`` is valid, ``save(**cleaned_data)`` (a
    service) and ``message(record)`` flashed; the record, or None when there was nothing to
    save or the service refused (its reasons then on the form, for a 400 page)."""
    if request.method != "POST" or form is None or not form.is_valid():
        return None
    try:
        record = save(**form.cleaned_data)
    except ValidationError as error:
        show_service_errors(form, error)
        return None
    messages.success(request, message(record))
    return record


def form_status(*page_forms: forms.Form | None) -> int:
    """400 when a form the page shows has errors, else 200."""
    return 400 if any(form is not None and form.errors for form in page_forms) else 200
