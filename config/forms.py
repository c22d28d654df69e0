"""Shared by every site's forms."""

from django import forms
from django.core.exceptions import ValidationError


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
