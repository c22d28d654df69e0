"""Transactional email (O11): rendered from templates, sent through Django's configured
backend (console in development, SES in production, an in-memory outbox in tests)."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string


def send_templated_email(*, to: str, template: str, context: dict) -> None:
    """``template`` names ``templates/email/<template>.subject.txt`` and ``.body.txt``."""
    subject = render_to_string(f"email/{template}.subject.txt", context).strip()
    body = render_to_string(f"email/{template}.body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
