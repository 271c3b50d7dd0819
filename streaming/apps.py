from django.apps import AppConfig


class StreamingConfig(AppConfig):
    """Live data: broker adapters, per-user stream managers, consumers, the sandbox."""

    name = "streaming"
    default_auto_field = "django.db.models.BigAutoField"
