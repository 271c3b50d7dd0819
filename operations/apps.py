from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What an operator and a load balancer ask of a running streamdesk process."""

    name = "operations"
