"""Roles become data (Z2): every existing organisation gets the default roles and approval
chains, departments get their materialised paths (Z5), and memberships and invitations are
held to a role of their own organisation by composite foreign keys."""

from django.db import migrations

from rbac import registry

ROLE_KEYS = {
    "tenants_membership": "tenants_membership_role_fk",
    "tenants_invitation": "tenants_invitation_role_fk",
}

# Paths of one organisation's departments, root first, in one statement (no recursion in
# Python); run inside that organisation's context, since the table forces row security.
DEPARTMENT_PATHS = """
WITH RECURSIVE tree(id, path) AS (
    SELECT id, '/' || id || '/' FROM workforce_department WHERE parent_id IS NULL
    UNION ALL
    SELECT d.id, t.path || d.id || '/' FROM workforce_department d JOIN tree t ON d.parent_id = t.id
)
UPDATE workforce_department d SET path = tree.path FROM tree WHERE d.id = tree.id
"""


def seed(apps, schema_editor):
    Organization = apps.get_model("tenants", "Organization")
    Role = apps.get_model("rbac", "Role")
    ApprovalChain = apps.get_model("rbac", "ApprovalChain")
    with schema_editor.connection.cursor() as cursor:
        for organization_id in Organization.objects.values_list("id", flat=True):
            cursor.execute("SELECT set_config('app.current_org', %s, true)", [str(organization_id)])
            for seed_role in registry.DEFAULT_ROLES:
                Role.objects.create(
                    organization_id=organization_id,
                    key=seed_role.key,
                    name=seed_role.name,
                    description=seed_role.description,
                    permissions=sorted(seed_role.permissions),
                    scopes=dict(seed_role.scopes),
                    approval_limits=dict(seed_role.approval_limits),
                    rank=seed_role.rank,
                    time_boxed=seed_role.time_boxed,
                    is_default=True,
                )
            for subject, steps in registry.DEFAULT_APPROVAL_CHAINS.items():
                ApprovalChain.objects.create(
                    organization_id=organization_id,
                    subject=subject,
                    steps=[list(step) for step in steps],
                )
            cursor.execute(DEPARTMENT_PATHS)
        cursor.execute("SELECT set_config('app.current_org', '', true)")


class Migration(migrations.Migration):
    dependencies = [
        ("rbac", "0001_initial"),
        ("tenants", "0007_membership_role_department_client"),
        ("workforce", "0002_records_department_paths"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        *(
            migrations.RunSQL(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (organization_id, role) "
                "REFERENCES rbac_role (organization_id, key) ON DELETE RESTRICT ON UPDATE RESTRICT",
                f"ALTER TABLE {table} DROP CONSTRAINT {name}",
            )
            for table, name in ROLE_KEYS.items()
        ),
    ]
