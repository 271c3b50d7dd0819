from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What an operator and a load balancer ask of a running streamdesk process."""

    name = "operations"

    def ready(self) -> None:
        """A process killed with kill -9 left its live gauges behind: drop them."""
        from .metrics import forget_dead_processes

        forget_dead_processes()
