"""Links from the member's admin page into the rewards admin."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_member_admin_page_links_to_a_goodwill_voucher_for_that_member(client, support, member):
    client.force_login(support)

    page = client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()

    assert f"{reverse('admin:rewards_voucher_goodwill')}?q={member.card_number}" in page
