"""What ``manage.py`` adds around every command: a database outage ends it with one line, not a traceback.

A command run by cron or by an operator that cannot reach the database (the
server down, a wrong host, port or database name, the connection dropped under
it) is not a bug in the command: the person reading the mail needs the reason
in one line, and cron needs exit status 1. ``--traceback`` still shows the
whole trace for whoever is debugging. Errors the database raises with the
server up (a bad regular expression, say) are left alone, as in the API.
"""

import sys


def database_unavailable_message(exc):
    """Return the one line that says the database could not be used, with the server's own words."""
    return f"The database is unavailable: {exc}"


def execute_from_command_line(argv):
    """Run the command in ``argv`` as Django does; on a database outage write one line to stderr, exit 1."""
    from django.core.management import execute_from_command_line as django_execute

    try:
        django_execute(argv)
    except Exception as exc:
        # Imported here: the middleware's module needs the settings, which the command has just loaded.
        from cnperp.middleware import is_outage

        if not is_outage(exc) or "--traceback" in argv:
            raise
        sys.stderr.write(database_unavailable_message(exc) + "\n")
        sys.exit(1)
