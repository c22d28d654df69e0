from django.core.management.base import BaseCommand

from audit.checkpoints import checkpoint_create, platform_public_key
from audit.management.commands._organizations import organizations_from_option
from tenants.context import tenant_context


class Command(BaseCommand):
    help = "Sign a checkpoint of organisations' audit logs now (the beat job does it hourly)."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: every organisation)")

    def handle(self, *args, org: str | None, **options):
        self.stdout.write(f"platform public key: {platform_public_key()}")
        for organization in organizations_from_option(org):
            with tenant_context(organization):
                checkpoint = checkpoint_create()
            status = f"signed at {checkpoint.tree_size} events" if checkpoint else "nothing new"
            self.stdout.write(f"{organization.slug}: {status}")
