from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Broker account links: which user owns which broker credential."""

    name = "accounts"
    verbose_name = "Broker accounts"
    default_auto_field = "django.db.models.BigAutoField"
