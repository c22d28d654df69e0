import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.services import user_create
from tenants.context import tenant_context
from tenants.models import Membership, Organization
from tenants.services import membership_create, organization_create
from workforce.models import Department, Site
from workforce.services import department_create, site_create

DEMO_ORGANIZATIONS = {
    "acme-security": (
        "Acme Security",
        {"Operations": ["Harbour Gate", "North Depot"], "Events": ["City Arena"]},
    ),
    "brightside-care": (
        "Brightside Care",
        {"Residential": ["Elm House", "Oak Lodge"]},
    ),
}


class Command(BaseCommand):
    help = "Load demo organisations, users and sites (dev only, O2). Prints sign-in details."

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("Demo data is never loaded in production (O2).")
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            owner = self._user("owner@demo.palisade.invalid", "Demo Owner", password)
            for slug, (name, departments) in DEMO_ORGANIZATIONS.items():
                organization = Organization.objects.filter(slug=slug).first()
                if organization is None:
                    organization = organization_create(name=name, slug=slug)
                with tenant_context(organization):
                    if not Membership.objects.filter(user=owner).exists():
                        membership_create(user=owner, role=Membership.Role.OWNER)
                    for department_name, site_names in departments.items():
                        department = self._department(department_name)
                        for site_name in site_names:
                            self._site(site_name, department)
        self.stdout.write(
            "Demo data loaded. Sign in at http://app.localhost:8000/ with\n"
            f"  email:    {owner.email}\n  password: {password}\n"
            "(a new password is set every time demo data is loaded)"
        )

    @staticmethod
    def _user(email: str, full_name: str, password: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            return user_create(email=email, password=password, full_name=full_name)
        user.set_password(password)
        user.save(update_fields=["password"])
        return user

    @staticmethod
    def _department(name: str):
        existing = Department.objects.filter(name=name, parent=None).first()
        return existing or department_create(name=name)

    @staticmethod
    def _site(name: str, department) -> None:
        if not Site.objects.filter(name=name).exists():
            site_create(name=name, department=department, address=f"{name}\nDemo Street 1")
