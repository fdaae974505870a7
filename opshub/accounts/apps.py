from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "opshub.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from opshub.accounts.mfa.middleware import on_login

        # Records at sign-in which second step the session still owes (mfa/middleware.py).
        user_logged_in.connect(on_login, dispatch_uid="opshub-second-factor")
