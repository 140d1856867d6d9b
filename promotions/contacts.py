"""How contacts are compared by the referral checks.

Phones are already E.164 on the member (``members.identifiers.phone_normalize``), so they
compare as they are. Emails are compared by a *normalised* form: lower case; in the part
before ``@``, everything from the first ``+`` on removed (``an+ref@...`` is ``an@...``) and
every dot removed (``a.n@...`` is ``an@...``), for every domain, not only Gmail: the rule
of the programme is "an email differing only by dots or a +tag is the same person".
``googlemail.com`` is ``gmail.com``. A few distinct people may share a normalised address
on a company domain; the check that compares against every member therefore only holds a
referral for review, it never refuses it.
"""

from __future__ import annotations


def email_normalize(email: str | None) -> str:
    """``"A.N+ref@GoogleMail.com"`` -> ``"an@gmail.com"``; ``""`` for no email."""
    text = (email or "").strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return text
    local = local.split("+", 1)[0].replace(".", "")
    if domain == "googlemail.com":
        domain = "gmail.com"
    return f"{local}@{domain}"


def member_contacts(*, phone: str | None, email: str | None) -> list[tuple[str, str]]:
    """The (kind, normalised value) pairs of a member's phone and email."""
    pairs = []
    if phone:
        pairs.append(("phone", phone))
    if email:
        pairs.append(("email", email_normalize(email)))
    return pairs
