"""Booking codes and manage tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B: easy to read out on the phone and to type.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8


def new_code() -> str:
    """A short human-readable booking code, e.g. ``K7MX4QPA`` (25^8 ≈ 1.5e11 values)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """Accept lower case, spaces and dashes as people type them."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def new_token() -> str:
    """A manage token with 192 random bits."""
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str | None, token_hash: str) -> bool:
    if not token:
        return False
    return hmac.compare_digest(hash_token(token), token_hash)


def new_uid() -> str:
    """A random iCalendar UID without host or personal data (RFC 7986)."""
    return str(uuid.uuid4())
