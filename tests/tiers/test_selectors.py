from datetime import date

from tiers.models import MemberTier, Tier
from tiers.selectors import tier_of_member, tiers_ordered


def test_a_member_without_a_tier_row_holds_the_entry_tier(member):
    assert tier_of_member(member.pk).code == "bronze"


def test_a_member_holds_their_member_tier_in_one_query(member, django_assert_num_queries):
    gold = Tier.objects.get(code="gold")
    MemberTier.objects.create(
        member=member, tier=gold, since=date(2026, 11, 23), retained_until=date(2027, 11, 30)
    )
    tiers_ordered()  # the tier table is in the process cache, as on the POS path
    with django_assert_num_queries(1):
        tier = tier_of_member(member.pk)
    assert tier.code == "gold"
    assert tier.multiplier == gold.multiplier


def test_a_tier_created_after_the_table_was_cached_is_found(member):
    tiers_ordered()
    # bulk_create sends no signal: this process still has the old table cached.
    (platinum,) = Tier.objects.bulk_create([Tier(code="platinum", name="Bạch kim", rank=5)])
    MemberTier.objects.create(
        member=member, tier=platinum, since=date(2026, 11, 23), retained_until=date(2027, 11, 30)
    )
    assert tier_of_member(member.pk).code == "platinum"
