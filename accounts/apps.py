from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts.sessions import signals

        user_logged_in.connect(signals.on_signed_in, dispatch_uid="accounts_session_start")
        user_logged_out.connect(signals.on_signed_out, dispatch_uid="accounts_session_end")
