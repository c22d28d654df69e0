from django.urls import path

from accounts.second_factors import views

pages = [
    path("", views.security, name="security"),
    path("totp/", views.totp_setup, name="security-totp"),
    path("email/", views.email_setup, name="security-email"),
    path("passkeys/", views.passkey_setup, name="security-passkeys"),
    path(
        "passkeys/options/",
        views.passkey_registration_options,
        name="security-passkey-options",
    ),
    path(
        "passkeys/register/",
        views.passkey_registration_complete,
        name="security-passkey-register",
    ),
    path("recovery-codes/", views.recovery_codes, name="security-recovery-codes"),
    path(
        "remove/<str:method>/<int:device_id>/",
        views.second_factor_removal,
        name="security-remove",
    ),
    path("verify/", views.step_up, name="security-step-up"),
    path(
        "verify/passkey/options/",
        views.step_up_passkey_options,
        name="security-step-up-passkey-options",
    ),
    path(
        "verify/passkey/verify/",
        views.step_up_passkey_verify,
        name="security-step-up-passkey-verify",
    ),
]
