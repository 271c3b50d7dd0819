from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Broker account links: which user owns which broker credential."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
