#!/usr/bin/env python
"""Django's command-line utility for CNPERP Banking."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cnperp.settings")
    # Django's own, but a command that cannot reach the database ends with one line and exit 1.
    from cnperp.commandline import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
