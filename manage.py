#!/usr/bin/env python
"""ProOne's command-line entry point."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proone.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings: a missing variable is named
    except ImproperlyConfigured as error:
        sys.exit(f"CommandError: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
