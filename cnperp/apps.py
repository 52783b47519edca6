"""The project package as an app, so it can hold the operations commands
(``backup_database``, ``verify_backup``, ``restore_backup``) beside the code they run."""

from django.apps import AppConfig


class CnperpConfig(AppConfig):
    name = "cnperp"
    verbose_name = "CNPERP operations"

    def ready(self):
        from django.core.signals import got_request_exception

        from cnperp.middleware import note_database_outage

        # A database error raised outside a view (a session save, a lazy user
        # lookup) never reaches process_exception; this marks the request so the
        # outermost middleware can still answer 503 instead of 500.
        got_request_exception.connect(note_database_outage, dispatch_uid="cnperp-database-outage")
