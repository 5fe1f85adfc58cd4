"""App config for submits that write once."""

from django.apps import AppConfig


class SubmitsConfig(AppConfig):
    name = "submits"
