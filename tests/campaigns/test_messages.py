"""What members read: placeholders in Vietnamese and English, the email's parts and its
unsubscribe link (which works without logging in), and the portal's notifications page."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaigns.models import Campaign, Notification, Send
from campaigns.rendering import (
    MessageContext,
    placeholders_check,
    render,
    unsubscribe_read,
    unsubscribe_token,
    unsubscribe_url,
)
from members.models import ConsentEvent, Member
from tests.campaigns.campaign_helpers import at, make_campaign, pause_defaults
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)
CONTEXT = MessageContext(
    name="Mai",
    tier_name="Kim cương",
    tier_name_en="Diamond",
    points=12500,
    voucher_code="ABCD-EFGH-JKL",
    expiry_date=date(2026, 12, 31),
)
ALL = "{name}|{tier}|{points}|{voucher_code}|{expiry_date}"


@pytest.fixture(autouse=True)
def _only_our_campaigns(db):
    pause_defaults()


def campaign_with_all_placeholders() -> Campaign:
    return make_campaign(
        "placeholders",
        by_email=True,
        messages={"vi": ("Chào {name}", ALL, "SMS {points}"), "en": ("Hi {name}", ALL, "")},
    )


def test_placeholders_are_filled_in_each_language():
    campaign = campaign_with_all_placeholders()
    vi = render(campaign, language="vi", context=CONTEXT)
    en = render(campaign, language="en", context=CONTEXT)
    assert (vi.subject, vi.body, vi.sms) == (
        "Chào Mai",
        "Mai|Kim cương|12.500|ABCD-EFGH-JKL|31/12/2026",
        "SMS 12.500",
    )
    assert (en.subject, en.body) == ("Hi Mai", "Mai|Diamond|12,500|ABCD-EFGH-JKL|31 Dec 2026")
    assert en.sms == en.body  # no SMS text of its own: the body


def test_a_language_without_a_message_falls_back_to_vietnamese():
    campaign = make_campaign("vi-only", messages={"vi": ("Chào {name}", "Nội dung", "")})
    assert render(campaign, language="en", context=CONTEXT).subject == "Chào Mai"


def test_unknown_placeholders_are_refused():
    placeholders_check("Hello {name}, {points} points")
    with pytest.raises(ValidationError) as caught:
        placeholders_check("Hello {nmae}", "{voucher}")
    assert "{nmae}, {voucher}" in caught.value.messages[0]


def test_the_email_has_text_and_html_with_an_unsubscribe_link(run_day):
    member = MemberFactory(email_consent=True, full_name="Lê <b>Lan</b>")
    campaign = campaign_with_all_placeholders()
    run_day(DAY, hour=10)
    (email,) = mail.outbox
    send = Send.objects.get(campaign=campaign)
    link = unsubscribe_url(member.pk, "email")
    assert link.startswith(settings.LOYALTY_SITE_URL + "/unsubscribe/")
    assert email.subject == "Chào Lê <b>Lan</b>"
    assert email.to == [member.email]
    assert link in email.body
    html = email.alternatives[0][0]
    assert "Lê &lt;b&gt;Lan&lt;/b&gt;" in html  # what members typed is escaped
    assert f'href="{link}"' in html
    assert email.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.extra_headers["Message-ID"].startswith(f"<campaign-send-{send.pk}@")


def test_the_unsubscribe_link_works_without_logging_in(client):
    member = MemberFactory(email_consent=True)
    url = reverse("campaigns_unsubscribe", args=[unsubscribe_token(member.pk, "email")])
    page = client.get(url)  # a link scanner opening it changes nothing
    assert page.status_code == 200
    assert Member.objects.get(pk=member.pk).email_consent is True
    done = client.post(url)
    assert done.status_code == 200
    assert "unsubscribed" in done.content.decode()
    member.refresh_from_db()
    assert member.email_consent is False
    event = ConsentEvent.objects.get(member=member, granted=False)
    assert (event.channel, event.source) == ("email", ConsentEvent.Source.UNSUBSCRIBE)
    # Again: nothing more to record.
    client.post(url)
    assert ConsentEvent.objects.filter(member=member, granted=False).count() == 1


def test_a_forged_unsubscribe_link_changes_nothing(client):
    member = MemberFactory(email_consent=True)
    token = unsubscribe_token(member.pk, "email")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert unsubscribe_read(forged) is None
    response = client.post(reverse("campaigns_unsubscribe", args=[forged]))
    assert response.status_code == 404
    assert Member.objects.get(pk=member.pk).email_consent is True


# ---------------------------------------------------------------------------------------------
# The portal's notifications


def test_the_portal_lists_the_members_notifications_and_marks_them_read(
    client, member_user, run_day, django_assert_max_num_queries
):
    member = member_user.member
    stranger = MemberFactory()
    make_campaign("hello", send_at=at(DAY, 9))
    run_day(DAY, hour=10)
    mine = Notification.objects.get(member=member)
    theirs = Notification.objects.get(member=stranger)
    client.force_login(member_user)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("campaigns:messages"))
    assert page.status_code == 200
    assert [n.pk for n in page.context["notifications"]] == [mine.pk]
    assert "Xin chào Lê Thị Lan" in page.content.decode()
    assert client.post(reverse("campaigns:message_read", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("campaigns:message_read", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None


def test_the_notifications_page_needs_a_login_and_links_from_the_menu(client, member_user):
    url = reverse("campaigns:messages")
    assert client.get(url).status_code == 302
    client.force_login(member_user)
    home = client.get(reverse("portal:home")).content.decode()
    assert f'href="{url}"' in home


def test_mark_all_read(client, member_user, run_day):
    make_campaign("one", send_at=at(DAY, 9))
    make_campaign("two", send_at=at(DAY, 9))
    run_day(DAY, hour=10)
    client.force_login(member_user)
    client.post(reverse("campaigns:messages_read_all"))
    assert not Notification.objects.filter(member=member_user.member, read_at__isnull=True)
