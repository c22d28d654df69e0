import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.context import Actor, acting_as
from audit.exports import FORMATS, audit_export_request, export_lines
from audit.management.commands._organizations import organizations_from_option
from tenants.context import tenant_context


class Command(BaseCommand):
    help = "Export an organisation's audit log with verification material (L6)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--format", choices=sorted(FORMATS), default="jsonl")
        parser.add_argument("--purpose", required=True, help="why the log is exported")
        parser.add_argument("--requested-by", required=True, help="who asked for it")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, org, format, purpose, requested_by, output, **options):
        [organization] = organizations_from_option(org)
        operator = Actor(type="system", label=f"audit_export for {requested_by}")
        try:
            with tenant_context(organization), acting_as(operator):
                request = audit_export_request(file_format=format, purpose=purpose)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        stream = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
        try:
            stream.writelines(export_lines(request))
        finally:
            if output:
                stream.close()
        if output:
            self.stderr.write(f"Exported {request.up_to_seq} events to {output}.")
