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

        from django.db.models.signals import post_migrate

        # The roles migration ran once; a flush (tests, restores) empties the groups and
        # permissions tables, so they are put back after every migrate, as Django does
        # for its own permissions.
        post_migrate.connect(roles_restore, dispatch_uid="cnperp-roles")

        from cnperp import audit, audit_admin

        # The audit trail watches every financial record (rule 8); the admin is loaded by now.
        audit.register()
        audit_admin.install()


def roles_restore(sender, app_config=None, apps=None, using="default", plan=None, **kwargs):
    """Re-create the finance roles after ``migrate`` or ``flush`` (idempotent)."""
    from django.apps import apps as installed_apps

    from cnperp.roles import roles_install

    # Once per migrate or flush, when the last of our apps is done.
    if app_config is None or app_config.label != "banking":
        return
    roles_install(apps or installed_apps, using=using)
