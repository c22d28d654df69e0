from django.core.management.base import BaseCommand, CommandError

from audit.management.commands._organizations import organizations_from_option
from audit.verification import verify_organization_log
from keys.providers import KeyUnavailable
from tenants.context import tenant_context


class Command(BaseCommand):
    help = "Verify organisations' audit logs: HMAC chain, checkpoints, chain head (L3, L9)."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: every organisation)")

    def handle(self, *args, org: str | None, **options):
        failed = []
        for organization in organizations_from_option(org):
            with tenant_context(organization):
                try:
                    result = verify_organization_log()
                except KeyUnavailable as error:
                    self.stdout.write(f"{organization.slug}: CANNOT VERIFY: {error}")
                    failed.append(organization.slug)
                    continue
            if result.ok:
                self.stdout.write(f"{organization.slug}: OK: {result.summary()}")
            else:
                self.stdout.write(f"{organization.slug}: FAILED: {result.summary()}")
                failed.append(organization.slug)
        if failed:
            raise CommandError(f"Audit verification failed for: {', '.join(failed)}")
