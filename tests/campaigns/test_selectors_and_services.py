"""Who is in a segment: the live count and sample (one query), membership checks, and the
services that save segments."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Segment
from campaigns.selectors import (
    SegmentPreview,
    member_score,
    segment_contains,
    segment_members,
    segment_preview,
)
from campaigns.services import segment_create, segment_update
from loyalty.errors import DomainError
from tests.campaigns.helpers import TODAY, VN, compute
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

HANOI = {"op": "and", "rules": [{"field": "province", "in": ["ha-noi"]}]}


def hanoians(n: int) -> list:
    start = datetime(2026, 1, 1, 9, 0, tzinfo=VN)
    return [
        MemberFactory(
            full_name=f"Hà Nội {i}", province="ha-noi", joined_at=start + timedelta(days=i)
        )
        for i in range(n)
    ]


# ---------------------------------------------------------------- preview


def test_preview_counts_everyone_and_samples_the_latest_joined(django_assert_num_queries):
    people = hanoians(12)
    MemberFactory(province="hue")
    with django_assert_num_queries(1):
        preview = segment_preview(HANOI, today=TODAY)
    assert isinstance(preview, SegmentPreview)
    assert preview.count == 12
    assert preview.sample == people[::-1][:10]


def test_preview_of_rules_with_every_kind_of_subquery_is_still_one_query(
    django_assert_num_queries, store
):
    hanoians(3)
    tree = {
        "op": "or",
        "rules": [
            {"field": "tier", "in": ["gold"]},
            {"field": "lifecycle", "in": ["vip"]},
            {"field": "spend", "between": [1, None], "period": {"last_days": 30}},
            {"op": "and", "rules": [HANOI, {"field": "store_visited", "in": ["HCM01"]}]},
            {"field": "last_purchase", "none": True},
        ],
    }
    with django_assert_num_queries(1):
        preview = segment_preview(tree, today=TODAY, sample=2)
    assert (preview.count, len(preview.sample)) == (3, 2)


def test_preview_of_nobody(django_assert_num_queries):
    hanoians(2)
    with django_assert_num_queries(1):
        preview = segment_preview({"op": "and", "rules": [{"field": "province", "in": ["hue"]}]})
    assert preview == SegmentPreview(count=0, sample=[])


def test_preview_without_a_sample_only_counts(django_assert_num_queries):
    hanoians(4)
    with django_assert_num_queries(1):
        assert segment_preview(HANOI, sample=0) == SegmentPreview(count=4, sample=[])


def test_preview_refuses_malformed_rules():
    with pytest.raises(ValidationError):
        segment_preview({"op": "and", "rules": [{"field": "province", "in": ["atlantis"]}]})


def test_segment_members_takes_a_segment_or_rules(marketer):
    people = hanoians(2)
    segment, _preview = segment_create(
        code="hanoi", name="Hà Nội", rules=HANOI, acting_user=marketer
    )
    assert set(segment_members(segment)) == set(people)
    assert set(segment_members(HANOI)) == set(people)


# ---------------------------------------------------------------- contains


def test_segment_contains_is_one_query_once_the_rules_are_cached(
    marketer, django_assert_num_queries
):
    inside, outside = hanoians(1)[0], MemberFactory(province="hue")
    segment_create(code="hanoi", name="Hà Nội", rules=HANOI, acting_user=marketer)
    with django_assert_num_queries(2):  # the segment's rules, then the check
        assert segment_contains(inside, "hanoi") is True
    with django_assert_num_queries(1):
        assert segment_contains(outside, "hanoi") is False
    with django_assert_num_queries(1):
        assert segment_contains(inside.pk, "hanoi") is True


def test_segment_contains_sees_a_change_of_rules_at_once_in_this_process(marketer):
    member = MemberFactory(province="hue")
    segment, _ = segment_create(code="hanoi", name="Hà Nội", rules=HANOI, acting_user=marketer)
    assert segment_contains(member, "hanoi") is False
    segment_update(
        segment=segment,
        acting_user=marketer,
        rules={"op": "and", "rules": [{"field": "province", "in": ["ha-noi", "hue"]}]},
    )
    assert segment_contains(member, "hanoi") is True


def test_segment_contains_an_unknown_code_is_false(member):
    assert segment_contains(member, "no-such-segment") is False


def test_member_score_after_the_nightly_run(member):
    assert member_score(member) is None
    compute()
    assert member_score(member.pk).lifecycle == "potential"


# ---------------------------------------------------------------- services


def test_create_saves_the_clean_rules_and_answers_with_the_preview(marketer):
    people = hanoians(3)
    rules = {"op": "and", "rules": [{"field": "province", "in": ["ha-noi", "ha-noi"]}]}
    segment, preview = segment_create(
        code=" hanoi ",
        name=" Hà Nội ",
        description="Members in the capital",
        rules=rules,
        acting_user=marketer,
        today=TODAY,
    )
    segment.refresh_from_db()
    assert (segment.code, segment.name, segment.rules) == ("hanoi", "Hà Nội", HANOI)
    assert (segment.created_by, segment.updated_by) == (marketer, marketer)
    assert preview.count == 3 and preview.sample == people[::-1]


def test_create_reports_every_field_problem_at_once(marketer):
    segment_create(code="hanoi", name="Hà Nội", rules=HANOI, acting_user=marketer)
    with pytest.raises(ValidationError) as caught:
        segment_create(
            code="hanoi",
            name="",
            rules={"op": "and", "rules": [{"field": "tier", "in": ["platinum"]}]},
            acting_user=marketer,
        )
    assert set(caught.value.message_dict) == {"code", "name", "rules"}
    assert "platinum" in caught.value.message_dict["rules"][0]
    with pytest.raises(ValidationError) as caught:
        segment_create(code="not a slug!", name="x", rules=HANOI, acting_user=marketer)
    assert set(caught.value.message_dict) == {"code"}
    assert Segment.objects.count() == 1


def test_only_staff_allowed_to_manage_segments_may(support, store_manager):
    for user in (support, store_manager):
        with pytest.raises(DomainError) as caught:
            segment_create(code="x", name="x", rules=HANOI, acting_user=user)
        assert caught.value.code == "permission_denied"
    assert not Segment.objects.exists()


def test_program_admins_and_marketers_manage_segments(program_admin, marketer):
    segment, _ = segment_create(code="a", name="A", rules=HANOI, acting_user=program_admin)
    segment, _ = segment_update(segment=segment, name="B", acting_user=marketer)
    assert (segment.name, segment.created_by, segment.updated_by) == ("B", program_admin, marketer)


def test_update_changes_what_is_given_and_never_the_code(marketer, support):
    hanoians(2)
    MemberFactory(province="hue")
    segment, _ = segment_create(
        code="north", name="North", description="d", rules=HANOI, acting_user=marketer
    )
    everyone = {"op": "and", "rules": []}
    segment, preview = segment_update(segment=segment, rules=everyone, acting_user=marketer)
    segment.refresh_from_db()
    assert (segment.code, segment.name, segment.description) == ("north", "North", "d")
    assert segment.rules == everyone and preview.count == 3
    with pytest.raises(ValidationError) as caught:
        segment_update(
            segment=segment,
            rules={"op": "and", "rules": [{"field": "age", "between": [9, 1]}]},
            acting_user=marketer,
        )
    assert set(caught.value.message_dict) == {"rules"}
    with pytest.raises(DomainError):
        segment_update(segment=segment, name="Mine", acting_user=support)
    segment.refresh_from_db()
    assert (segment.name, segment.rules) == ("North", everyone)
