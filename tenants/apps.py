from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self):
        from tenants.rls import sync_tenant_isolation_after_migrate
        from tenants.signals import remember_memberships

        # T2, T4: every migrate ends by (re)applying RLS and tenant-consistent keys to every
        # tenant table, so a new tenant model cannot ship without them.
        post_migrate.connect(sync_tenant_isolation_after_migrate, sender=self)
        user_logged_in.connect(remember_memberships, dispatch_uid="tenants_memberships")
