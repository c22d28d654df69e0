from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self):
        from audit import signals

        user_logged_in.connect(signals.on_signed_in, dispatch_uid="audit_signed_in")
        user_logged_out.connect(signals.on_signed_out, dispatch_uid="audit_signed_out")
        user_login_failed.connect(signals.on_sign_in_failed, dispatch_uid="audit_sign_in_failed")
