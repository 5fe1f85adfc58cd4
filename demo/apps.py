"""App config for the demo and benchmark data (the seed_demo command)."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo data"
