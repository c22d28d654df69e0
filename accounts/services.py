from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.models import User


@transaction.atomic
def user_create(*, email: str, password: str | None, full_name: str = "") -> User:
    user = User(email=User.objects.normalize_email(email).lower(), full_name=full_name.strip())
    if password is not None:
        validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user
