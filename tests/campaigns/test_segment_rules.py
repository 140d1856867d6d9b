"""Segment rules: each field, AND/OR nesting, strict validation, and one SQL query."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.functional import Promise

from campaigns.models import MemberScore
from campaigns.segment_rules import MAX_DEPTH, MAX_RULES, rules_clean, rules_validate
from campaigns.selectors import segment_members
from members.models import Member, PointAccount
from members.services import member_block
from tests.campaigns.helpers import TODAY, VN, buy, days_ago
from tests.factories import MemberFactory, StoreFactory
from tiers.models import MemberTier, Tier

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _on_today():
    """Every rule here is evaluated on TODAY, so the clock stands on TODAY too: a member the
    factory enrols (``joined_at`` = now), a score or a tier row is written on the same day
    the rules look from, whatever day the suite really runs."""
    with time_machine.travel(datetime.combine(TODAY, time(9), VN), tick=True):
        yield


@pytest.fixture(autouse=True)
def _english():
    """Messages are compared in English (the programme's language is Vietnamese)."""
    with translation.override("en"):
        yield


def rules(*conditions, op="and") -> dict:
    return {"op": op, "rules": list(conditions)}


def matched(tree: dict, *, today: date = TODAY) -> set[str]:
    return set(segment_members(tree, today=today).values_list("full_name", flat=True))


def person(name: str, **fields) -> Member:
    return MemberFactory(full_name=name, **fields)


def place(member, code: str) -> None:
    MemberTier.objects.create(
        member=member,
        tier=Tier.objects.get(code=code),
        since=date(2026, 1, 1),
        retained_until=date(2027, 1, 31),
    )


def scored(member, lifecycle="active", r=None, f=None, m=None) -> None:
    MemberScore.objects.create(
        member=member,
        lifecycle=lifecycle,
        lifecycle_since=TODAY,
        recency=r,
        frequency=f,
        monetary=m,
        computed_on=TODAY,
    )


# ---------------------------------------------------------------- each field


def test_tier_counts_members_not_yet_placed_in_the_entry_tier():
    place(person("gold"), "gold")
    place(person("diamond"), "diamond")
    place(person("bronze"), "bronze")
    person("unplaced")
    assert matched(rules({"field": "tier", "in": ["gold", "diamond"]})) == {"gold", "diamond"}
    assert matched(rules({"field": "tier", "in": ["bronze"]})) == {"bronze", "unplaced"}
    assert matched(rules({"field": "tier", "in": ["silver"]})) == set()


def test_lifecycle_stage():
    scored(person("vip"), "vip", 5, 5, 5)
    scored(person("at risk"), "at_risk", 1, 2, 3)
    scored(person("potential"), "potential")
    person("not computed yet")
    assert matched(rules({"field": "lifecycle", "in": ["vip", "at_risk"]})) == {"vip", "at risk"}
    assert matched(rules({"field": "lifecycle", "in": ["potential"]})) == {"potential"}


def test_rfm_scores_between_inclusive_and_open():
    scored(person("555"), "vip", 5, 5, 5)
    scored(person("321"), "active", 3, 2, 1)
    scored(person("143"), "at_risk", 1, 4, 3)
    scored(person("none"), "potential")
    assert matched(rules({"field": "recency", "between": [3, 5]})) == {"555", "321"}
    assert matched(rules({"field": "frequency", "between": [None, 2]})) == {"321"}
    assert matched(rules({"field": "monetary", "between": [3, None]})) == {"555", "143"}
    assert matched(rules({"field": "monetary", "between": [1, 5]})) == {"555", "321", "143"}


def test_age_is_counted_in_whole_years_on_today():
    person("turns 25 today", birth_date=date(2001, 11, 23))
    person("24 until tomorrow", birth_date=date(2001, 11, 24))
    person("turns 41 today", birth_date=date(1985, 11, 23))
    person("40 until tomorrow", birth_date=date(1985, 11, 24))
    person("no birth date")
    assert matched(rules({"field": "age", "between": [25, 40]})) == {
        "turns 25 today",
        "40 until tomorrow",
    }
    assert matched(rules({"field": "age", "between": [None, 24]})) == {"24 until tomorrow"}
    assert matched(rules({"field": "age", "between": [41, None]})) == {"turns 41 today"}


def test_age_of_someone_born_on_29_february():
    person("leapling", birth_date=date(2008, 2, 29))
    adult = rules({"field": "age", "between": [18, None]})
    assert matched(adult, today=date(2026, 2, 28)) == set()  # the birthday is 1 March
    assert matched(adult, today=date(2026, 3, 1)) == {"leapling"}
    assert matched(rules({"field": "age", "between": [None, 17]}), today=date(2026, 3, 1)) == set()


def test_age_defaults_to_today_in_the_programme_time_zone():
    person("25 in Vietnam", birth_date=date(2001, 11, 23))
    # 18:30 UTC on 22 November is 01:30 on 23 November in Vietnam; a request that activated
    # another time zone does not change the programme's today.
    at = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)
    with time_machine.travel(at, tick=False), timezone.override("UTC"):
        found = set(
            segment_members(rules({"field": "age", "between": [25, 25]})).values_list(
                "full_name", flat=True
            )
        )
    assert found == {"25 in Vietnam"}


def test_gender_province_and_birthday_month():
    person("f hn may", gender="female", province="ha-noi", birth_date=date(1990, 5, 10))
    person("m hcm dec", gender="male", province="ho-chi-minh", birth_date=date(1992, 12, 1))
    person("blank")
    assert matched(rules({"field": "gender", "in": ["female", "other"]})) == {"f hn may"}
    assert matched(rules({"field": "province", "in": ["ho-chi-minh", "hue"]})) == {"m hcm dec"}
    assert matched(rules({"field": "birthday_month", "in": [5, 6]})) == {"f hn may"}


def test_joined_between_local_days_and_in_the_last_days():
    person("31 Jan late evening", joined_at=datetime(2026, 1, 31, 23, 30, tzinfo=VN))
    person("1 Feb just after midnight", joined_at=datetime(2026, 2, 1, 0, 10, tzinfo=VN))
    person("1 Jan", joined_at=datetime(2026, 1, 1, 0, 0, tzinfo=VN))
    person("recent", joined_at=datetime.combine(days_ago(6), time(9), VN))
    january = rules({"field": "joined", "between": ["2026-01-01", "2026-01-31"]})
    assert matched(january) == {"31 Jan late evening", "1 Jan"}
    since_feb = rules({"field": "joined", "between": ["2026-02-01", None]})
    assert matched(since_feb) == {"1 Feb just after midnight", "recent"}
    assert matched(rules({"field": "joined", "last_days": 7})) == {"recent"}
    assert matched(rules({"field": "joined", "last_days": 6})) == set()


def test_last_purchase_between_last_days_and_none(store):
    in_march = person("last bought in March")
    buy(in_march, store, on=date(2026, 1, 10))
    buy(in_march, store, on=date(2026, 3, 31), at=time(23, 50))
    again = person("bought in March and since")
    buy(again, store, on=date(2026, 3, 5))
    buy(again, store, on=days_ago(2))
    returned = person("later purchase returned")
    buy(returned, store, on=date(2026, 3, 5))
    buy(returned, store, "100000", on=days_ago(1), returned="100000")
    never = person("never")
    only_returned = person("only returned")
    buy(only_returned, store, "100000", on=days_ago(1), returned="100000")

    march = rules({"field": "last_purchase", "between": ["2026-03-01", "2026-03-31"]})
    assert matched(march) == {"last bought in March", "later purchase returned"}
    recent = rules({"field": "last_purchase", "last_days": 3})
    assert matched(recent) == {"bought in March and since"}
    none = rules({"field": "last_purchase", "none": True})
    assert matched(none) == {never.full_name, only_returned.full_name}
    before_april = rules({"field": "last_purchase", "between": [None, "2026-03-31"]})
    assert matched(before_april) == {"last bought in March", "later purchase returned"}


def test_spend_in_a_period_is_net_of_returns(store):
    big = person("big")
    buy(big, store, "3000000", on=days_ago(10))
    buy(big, store, "3000000", on=days_ago(89))
    partly_returned = person("partly returned")
    buy(partly_returned, store, "6000000", on=days_ago(5), returned="2000000")
    old = person("spent long ago")
    buy(old, store, "9000000", on=days_ago(90))
    person("never")
    last_90 = {"last_days": 90}
    assert matched(rules({"field": "spend", "between": [5000000, None], "period": last_90})) == {
        "big"
    }
    assert matched(rules({"field": "spend", "between": [4000000, 4000000], "period": last_90})) == {
        "partly returned"
    }
    assert matched(rules({"field": "spend", "between": [None, 0], "period": last_90})) == {
        "spent long ago",
        "never",
    }
    dated = {"between": [days_ago(90).isoformat(), days_ago(89).isoformat()]}
    assert matched(rules({"field": "spend", "between": ["9000000.00", None], "period": dated})) == {
        "spent long ago"
    }
    fractional = rules(
        {"field": "spend", "between": ["3999999.99", "4000000.01"], "period": last_90}
    )
    assert matched(fractional) == {"partly returned"}


def test_points_balance_is_the_available_balance():
    rich, poor, in_debt = person("rich"), person("poor"), person("in debt")
    PointAccount.objects.filter(member=rich).update(available=5000, pending=100)
    PointAccount.objects.filter(member=poor).update(available=0, pending=9000)
    PointAccount.objects.filter(member=in_debt).update(available=-20)
    assert matched(rules({"field": "points_balance", "between": [1000, None]})) == {"rich"}
    assert matched(rules({"field": "points_balance", "between": [None, 0]})) == {"poor", "in debt"}
    assert matched(rules({"field": "points_balance", "between": [-100, -1]})) == {"in debt"}


def test_store_visited_any_time_or_in_a_period(store, other_store):
    hcm_old = person("HCM01 long ago")
    buy(hcm_old, store, on=days_ago(200))
    hn_recent = person("HN01 recently")
    buy(hn_recent, other_store, "100000", on=days_ago(3), returned="100000")  # still a visit
    person("nowhere")
    both = {"field": "store_visited", "in": ["HCM01", "HN01"]}
    assert matched(rules(both)) == {"HCM01 long ago", "HN01 recently"}
    assert matched(rules({**both, "period": {"last_days": 30}})) == {"HN01 recently"}
    since = {"between": [days_ago(200).isoformat(), None]}
    assert matched(rules({"field": "store_visited", "in": ["HCM01"], "period": since})) == {
        "HCM01 long ago"
    }


def test_consent_per_channel():
    person("email only", email_consent=True)
    person("both", email_consent=True, sms_consent=True)
    person("none")
    assert matched(rules({"field": "consent", "channel": "email", "granted": True})) == {
        "email only",
        "both",
    }
    assert matched(rules({"field": "consent", "channel": "sms", "granted": False})) == {
        "email only",
        "none",
    }


def test_status(support):
    person("active")
    member_block(member=person("blocked"), reason="fraud", acting_user=support)
    assert matched(rules({"field": "status", "in": ["blocked"]})) == {"blocked"}
    assert matched(rules({"field": "status", "in": ["active"]})) == {"active"}


# ---------------------------------------------------------------- combining


def test_and_or_nesting():
    person("hn female", gender="female", province="ha-noi")
    person("hn male", gender="male", province="ha-noi")
    person("hue female", gender="female", province="hue")
    person("hue male email", gender="male", province="hue", email_consent=True)
    female = {"field": "gender", "in": ["female"]}
    hanoi = {"field": "province", "in": ["ha-noi"]}
    email = {"field": "consent", "channel": "email", "granted": True}
    assert matched(rules(female, hanoi)) == {"hn female"}
    assert matched(rules(female, hanoi, op="or")) == {"hn female", "hn male", "hue female"}
    # (female AND hanoi) OR (email AND (hanoi)): the one with email consent is in Hue.
    tree = rules(rules(female, hanoi), rules(email, rules(hanoi, op="or")), op="or")
    assert matched(tree) == {"hn female"}
    tree = rules(rules(female, hanoi), email, op="or")
    assert matched(tree) == {"hn female", "hue male email"}
    tree = rules(rules(female, email, op="or"), {"field": "province", "in": ["hue"]})
    assert matched(tree) == {"hue female", "hue male email"}


def test_an_empty_top_level_group_is_everyone():
    person("a")
    person("b")
    assert matched(rules()) == {"a", "b"}


def test_every_field_at_once_is_one_sql_query(store):
    member = person("everything", gender="female", province="hue", birth_date=date(1990, 5, 1))
    place(member, "gold")
    scored(member, "vip", 5, 4, 5)
    buy(member, store, "2000000", on=days_ago(3))
    PointAccount.objects.filter(member=member).update(available=300)
    person("nothing")
    every = rules(
        {"field": "tier", "in": ["gold"]},
        {"field": "lifecycle", "in": ["vip"]},
        {"field": "recency", "between": [5, 5]},
        {"field": "frequency", "between": [4, None]},
        {"field": "monetary", "between": [None, 5]},
        {"field": "age", "between": [30, 40]},
        rules(
            {"field": "gender", "in": ["female"]},
            {"field": "province", "in": ["hue"]},
            {"field": "birthday_month", "in": [5]},
            op="or",
        ),
        {"field": "joined", "last_days": 30},
        {"field": "last_purchase", "last_days": 7},
        {"field": "spend", "between": [1000000, None], "period": {"last_days": 30}},
        {"field": "points_balance", "between": [100, 1000]},
        {"field": "store_visited", "in": ["HCM01"], "period": {"last_days": 30}},
        {"field": "consent", "channel": "email", "granted": False},
        {"field": "status", "in": ["active"]},
    )
    queryset = segment_members(every, today=TODAY)
    with CaptureQueriesContext(connection) as queries:
        found = list(queryset.values_list("full_name", flat=True))
    assert found == ["everything"]
    assert len(queries) == 1
    assert "member" in queries[0]["sql"].lower()


# ---------------------------------------------------------------- validation


def codes_of(exc: ValidationError) -> list[str]:
    return [error.code for error in exc.error_list]


@pytest.mark.parametrize(
    ("tree", "code"),
    [
        ([], "not_group"),
        ({"rules": []}, "not_group"),
        ({"op": "xor", "rules": []}, "unknown_op"),
        ({"op": "and", "rules": [], "name": "x"}, "unknown_key"),
        ({"op": "and", "rules": "tier"}, "no_rules"),
        (rules({"op": "or", "rules": []}), "no_rules"),
        (rules("tier"), "not_condition"),
        (rules({"field": "tierr", "in": ["gold"]}), "unknown_field"),
        (rules({"field": "age", "in": [30]}), "unknown_key"),
        (rules({"field": "tier"}), "missing_key"),
        (
            rules({"field": "joined", "last_days": 3, "between": ["2026-01-01", None]}),
            "missing_key",
        ),
        (rules({"field": "tier", "in": []}), "bad_list"),
        (rules({"field": "tier", "in": "gold"}), "bad_list"),
        (rules({"field": "tier", "in": [""]}), "invalid_value"),
        (rules({"field": "lifecycle", "in": ["sleeping"]}), "invalid_value"),
        (rules({"field": "gender", "in": ["x"]}), "invalid_value"),
        (rules({"field": "province", "in": ["saigon"]}), "invalid_value"),
        (rules({"field": "birthday_month", "in": [13]}), "invalid_value"),
        (rules({"field": "birthday_month", "in": ["5"]}), "invalid_value"),
        (rules({"field": "status", "in": ["deleted"]}), "invalid_value"),
        (rules({"field": "recency", "between": [0, 5]}), "bad_number"),
        (rules({"field": "recency", "between": [1, 6]}), "bad_number"),
        (rules({"field": "age", "between": [True, 30]}), "bad_number"),
        (rules({"field": "age", "between": [2.5, 30]}), "bad_number"),
        (rules({"field": "age", "between": [30]}), "bad_between"),
        (rules({"field": "age", "between": [None, None]}), "bad_between"),
        (rules({"field": "age", "between": "25-40"}), "bad_between"),
        (rules({"field": "age", "between": [40, 25]}), "bad_order"),
        (rules({"field": "joined", "between": ["2026-13-01", None]}), "bad_date"),
        (rules({"field": "joined", "between": ["20260101", None]}), "bad_date"),
        (rules({"field": "joined", "between": ["2026-03-01", "2026-02-01"]}), "bad_order"),
        (rules({"field": "joined", "last_days": 0}), "bad_days"),
        (rules({"field": "joined", "last_days": "7"}), "bad_days"),
        (rules({"field": "last_purchase", "none": False}), "bad_bool"),
        (rules({"field": "spend", "between": [1000, None]}), "missing_key"),
        (
            rules({"field": "spend", "between": [-1, None], "period": {"last_days": 3}}),
            "bad_amount",
        ),
        (
            rules({"field": "spend", "between": ["lots", None], "period": {"last_days": 3}}),
            "bad_amount",
        ),
        (rules({"field": "spend", "between": [1, None], "period": {"days": 3}}), "bad_period"),
        (
            rules(
                {
                    "field": "spend",
                    "between": [1, None],
                    "period": {"last_days": 3, "between": [None, "2026-01-01"]},
                }
            ),
            "bad_period",
        ),
        (rules({"field": "consent", "channel": "push", "granted": True}), "invalid_value"),
        (rules({"field": "consent", "channel": "email", "granted": "yes"}), "bad_bool"),
        (rules({"field": "consent", "channel": "email"}), "missing_key"),
    ],
)
def test_invalid_rules_are_refused_with_a_clear_code(tree, code):
    with pytest.raises(ValidationError) as caught:
        rules_clean(tree)
    assert codes_of(caught.value) == [code]


def test_every_problem_is_reported_naming_its_rule():
    tree = rules(
        {"field": "gender", "in": ["female"]},
        {"field": "colour", "in": ["red"]},
        rules({"field": "age", "between": [40, 25]}, {"field": "tier", "in": ["gold"]}),
    )
    with pytest.raises(ValidationError) as caught:
        rules_clean(tree)
    messages = caught.value.messages
    assert codes_of(caught.value) == ["unknown_field", "bad_order"]
    assert messages[0].startswith("Rule 2:") and "“colour”" in messages[0]
    assert messages[1].startswith("Rule 3.1:")


def test_messages_are_translatable():
    with pytest.raises(ValidationError) as caught:
        rules_clean(rules({"field": "age", "between": [40, 25]}, {"field": "x"}))
    for error in caught.value.error_list:
        assert isinstance(error.message, Promise)  # rendered in the language active then
        assert isinstance(error.params["where"], Promise)


def test_nesting_and_size_are_limited():
    tree = {"field": "gender", "in": ["male"]}
    for _ in range(MAX_DEPTH):
        tree = rules(tree)
    rules_clean(tree)
    with pytest.raises(ValidationError) as caught:
        rules_clean(rules(tree))
    assert codes_of(caught.value) == ["too_deep"]
    many = rules(*[{"field": "gender", "in": ["male"]}] * (MAX_RULES + 1))
    with pytest.raises(ValidationError) as caught:
        rules_clean(many)
    assert codes_of(caught.value) == ["too_many"]


def test_compiling_checks_the_rules_first():
    with pytest.raises(ValidationError):
        segment_members(rules({"field": "tierr", "in": ["gold"]}))


def test_clean_rules_are_normalised():
    cleaned = rules_clean(
        rules(
            {"field": "tier", "in": ["gold", " diamond ", "gold"]},
            {"field": "spend", "between": ["1000000", 2500000.5], "period": {"last_days": 30}},
        )
    )
    assert cleaned == rules(
        {"field": "tier", "in": ["diamond", "gold"]},
        {"field": "spend", "between": [1000000, "2500000.50"], "period": {"last_days": 30}},
    )
    assert rules_clean(cleaned) == cleaned


def test_tier_and_store_codes_must_exist_to_save(store):
    rules_validate(
        rules({"field": "tier", "in": ["gold"]}, {"field": "store_visited", "in": ["HCM01"]})
    )
    with pytest.raises(ValidationError) as caught:
        rules_validate(
            rules(
                {"field": "tier", "in": ["platinum", "gold"]},
                {"field": "store_visited", "in": ["HCM01", "DN09"]},
            )
        )
    assert codes_of(caught.value) == ["unknown_tier", "unknown_store"]
    assert "“platinum”" in caught.value.messages[0] and "“DN09”" in caught.value.messages[1]


def test_unknown_codes_in_saved_rules_match_nobody(store):
    """A tier or store deleted after a segment was saved: the segment still compiles."""
    person("someone")
    assert matched(rules({"field": "tier", "in": ["platinum"]})) == set()
    assert matched(rules({"field": "store_visited", "in": ["GONE"]})) == set()


def test_spend_amounts_compare_as_numbers():
    """SQLite stores money as numbers; the bound must not be compared as text."""
    store = StoreFactory(code="Z1")
    m = person("nine")
    buy(m, store, "9", on=days_ago(1))
    assert (
        matched(rules({"field": "spend", "between": [10, None], "period": {"last_days": 3}}))
        == set()
    )
    assert matched(
        rules({"field": "spend", "between": [Decimal("8.5"), None], "period": {"last_days": 3}})
    ) == {"nine"}
