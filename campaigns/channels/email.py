"""Email through Django's mail backend (``EMAIL_URL``): text and HTML, an unsubscribe link
that works without logging in (and the ``List-Unsubscribe`` headers mail clients show as a
button), and a Message-ID made from the send, so a repeat after a crash is the same message
to the receiving servers."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from campaigns.channels import Channel, ChannelError, Outgoing, PermanentChannelError


def _domain() -> str:
    sender = settings.DEFAULT_FROM_EMAIL
    address = sender.rsplit("<", 1)[-1].rstrip(">")
    return address.rsplit("@", 1)[-1] or "localhost"


class EmailChannel(Channel):
    code = "email"

    def consented(self, member) -> bool:
        return bool(member.email_consent)

    def address(self, member) -> str:
        return member.email or ""

    def deliver(self, outgoing: Outgoing) -> None:
        message = outgoing.message
        headers = {
            # The same send is the same message: a repeat is recognised downstream.
            "Message-ID": f"<campaign-send-{outgoing.key}@{_domain()}>",
            "X-Idempotency-Key": outgoing.key,
        }
        if outgoing.unsubscribe_url:
            headers["List-Unsubscribe"] = f"<{outgoing.unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.email_text or message.body,
            to=[outgoing.address],
            headers=headers,
            connection=get_connection(fail_silently=False),
        )
        if message.email_html:
            email.attach_alternative(message.email_html, "text/html")
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            # Not ``exc`` itself: it holds the address, which would reach the log and last_error.
            codes = ", ".join(str(code) for code, _text in exc.recipients.values())
            raise PermanentChannelError(f"recipient refused ({codes})") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"mail server: {exc}") from exc
