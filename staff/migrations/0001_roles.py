"""The staff roles' groups, written from staff/roles.py (the one list)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def forwards(apps, schema_editor):
    # The permissions of every app exist only after its post_migrate; make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from staff.roles import roles_sync

    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


def backwards(apps, schema_editor):
    from staff.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auditlog", "0017_add_actor_email"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("booking", "0006_visit_day"),
        ("clinics", "0005_doctor_account_extra_places"),
        ("frontdesk", "0001_initial"),
        ("patients", "0005_document_number_permission"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
