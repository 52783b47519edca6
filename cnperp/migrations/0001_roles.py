"""Create the finance roles as groups, and the permissions they hold that Django does not make.

The matrix is ``cnperp.roles``; this migration only applies it. Reversible: going
back removes the custom permissions and the groups nobody belongs to (a group
with members stays, so stepping back and forward keeps who holds which role);
Django's own add, change, delete and view permissions stay with their models.
"""

from django.db import migrations

from cnperp.roles import roles_install, roles_uninstall


def install(apps, schema_editor):
    roles_install(apps, using=schema_editor.connection.alias)


def uninstall(apps, schema_editor):
    roles_uninstall(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("dimensions", "0001_initial"),
        ("accounting", "0002_ledger_immutability_triggers"),
        ("banking", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
