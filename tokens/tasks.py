from celery import shared_task

from tokens.services.token_mode import refresh_tokens_delete_expired


@shared_task(name="tokens.delete_expired_refresh_tokens")
def delete_expired_refresh_tokens() -> int:
    """Beat job (A8): every refresh leaves a spent row, kept for reuse detection until its
    family ends; afterwards it only takes space."""
    return refresh_tokens_delete_expired()
