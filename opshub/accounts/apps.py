from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "opshub.accounts"
    label = "accounts"
    verbose_name = "Accounts"
