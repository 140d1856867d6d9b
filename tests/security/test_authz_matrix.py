"""Every URL of the URL conf, for every principal, answers what ``matrix.ROWS`` says.

The patterns come from ``django.urls.get_resolver()`` (the admin's, allauth's and the POS
API's included), so a new URL without a row fails ``test_every_pattern_has_a_row``. Each
principal's GETs are one test whose failure lists every cell that differs; the POSTs of
state-changing endpoints, the missing-object checks and a few CSRF-enforced POSTs follow.
The objects (``world.build``) are made once for the module and rolled back after it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from campaigns.rendering import unsubscribe_token
from members.models import Member
from rewards.models import Voucher
from tests.security import matrix as m
from tests.security.world import build


@dataclass(frozen=True)
class Pattern:
    key: str  # the row's key: namespace:name, or the route when unnamed
    parts: tuple  # the route/regex of each level, outermost first
    is_regex: tuple

    @property
    def route(self) -> str:
        return "".join(self.parts)

    @property
    def params(self) -> list[str]:
        names = []
        for part, is_regex in zip(self.parts, self.is_regex, strict=True):
            rx = r"\(\?P<(\w+)>" if is_regex else r"<(?:\w+:)?(\w+)>"
            names += re.findall(rx, part)
        return names


def _walk(resolver, parts=(), regex=(), namespace=None):
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        level_parts = (*parts, str(pattern))
        level_regex = (*regex, pattern.__class__.__name__ == "RegexPattern")
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, level_parts, level_regex, ns)
        elif isinstance(entry, URLPattern):
            if entry.name:
                key = f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                key = "".join(level_parts)
            yield Pattern(key, level_parts, level_regex)


def url_patterns() -> list[Pattern]:
    return list(_walk(get_resolver()))


# --- The structure of the table -----------------------------------------------------------


def test_every_pattern_has_a_row():
    missing = sorted({p.key for p in url_patterns()} - set(m.ROWS))
    assert not missing, (
        "URL patterns without a row in tests/security/matrix.py (add one: who may open it?):\n"
        + "\n".join(f"  {key}" for key in missing)
    )


def test_every_row_has_a_pattern():
    keys = {p.key for p in url_patterns()}
    stale = sorted(key for key, row in m.ROWS.items() if key not in keys and not row.optional)
    assert not stale, "Rows in tests/security/matrix.py for no URL pattern:\n" + "\n".join(
        f"  {key}" for key in stale
    )


def test_every_row_names_every_principal_and_every_id_url_a_missing_check():
    problems = []
    for key, row in m.ROWS.items():
        for label, table in (("get", row.get), ("post", row.post)):
            if table is not None and set(table) != set(m.PRINCIPALS):
                problems.append(f"{key} {label}: {sorted(set(m.PRINCIPALS) ^ set(table))}")
    for pattern in url_patterns():
        row = m.ROWS.get(pattern.key)
        if row and set(pattern.params) & ID_PARAMS and row.missing is None:
            problems.append(f"{pattern.key}: takes an id but has no `missing` check")
        if row and row.post is not None and pattern.key not in POST_BODIES:
            problems.append(f"{pattern.key}: a `post` row needs a body in POST_BODIES")
    assert not problems, "\n".join(problems)


# --- The objects and the clients -----------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction that is rolled back at its end; each
    test runs in a savepoint of it (the ``db`` fixture), so POSTs undo themselves."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def client_for(world, principal: str, *, enforce_csrf_checks: bool = False) -> Client:
    extra = {}
    if principal in m.KEYS:
        extra["HTTP_AUTHORIZATION"] = f"Api-Key {world.keys[principal]}"
    # From outside the operator's networks, as an attacker on the internet would be.
    client = Client(
        enforce_csrf_checks=enforce_csrf_checks,
        raise_request_exception=False,
        REMOTE_ADDR="203.0.113.7",
        **extra,
    )
    if principal in world.users:
        client.force_login(world.users[principal])
    return client


# Parameters that name an object (each URL taking one has a missing-object check).
ID_PARAMS = {
    "object_id",
    "member_id",
    "reward_id",
    "voucher_id",
    "id",
    "code",
    "pk",
    "token",
    "card_number",
    "external_id",
}
MISSING_VALUES = {
    "object_id": "999999",
    "member_id": "999999",
    "reward_id": "999999",
    "voucher_id": "999999",
    "id": "999999",
    "code": "NOPE999999",
    "pk": "999999",
    "token": "not-a-signed-token",
    "card_number": "999999999999",
    "external_id": "NOPE-999999",
}
QUERIES = {  # GET query strings some URLs need to mean anything
    "pos:member_lookup": {"q": "card"},
    "api/v1/pos/members/lookup/": {"q": "card"},
}


def _whose(principal: str) -> str:
    """Whose ids the URL carries: member B's for ``member_other_ids``; A's (store A's)
    for everyone else, another store's manager and key included."""
    return "B" if principal == m.OTHER_IDS else "A"


def param_values(world, pattern: Pattern, principal: str) -> dict:
    tag = _whose(principal)
    member = world.members[tag]
    found = re.match(r"staff/(\w+)/(\w+)/", pattern.route)
    label = f"{found.group(1)}.{found.group(2)}" if found else ""
    values = {
        "object_id": str(world.admin_pk.get(label, world.members["A"].pk)),
        "content_type_id": str(ContentType.objects.get_for_model(Member).pk),
        "member_id": str(member.pk),
        "reward_id": str(world.reward_id),
        "id": str(world.admin_pk["members.user"]),
        "app_label": "members",
        "url": "no-such-page/",
        "code": world.vouchers[tag],
        "pk": str(world.notifications[tag]),
        "token": unsubscribe_token(member.pk, "email"),
        "card_number": member.card_number,
        "external_id": world.purchases["A"],
        "key": "not-a-key",
        "uidb36": "zz",
        "path": "no-such-file.txt",
        "rest": "members/member/",  # loyalty.views.admin_moved: the admin's old address
    }
    if "voucher_id" in pattern.params:  # the member's own voucher (B's for other ids)
        values["voucher_id"] = str(Voucher.objects.get(code=world.vouchers[tag]).pk)
    return values


def build_url(world, pattern: Pattern, principal: str, *, missing: bool = False) -> str:
    values = param_values(world, pattern, principal)
    if missing:
        values.update({k: v for k, v in MISSING_VALUES.items() if k in pattern.params})
    url = ""
    for part, is_regex in zip(pattern.parts, pattern.is_regex, strict=True):
        if is_regex:
            part = part.lstrip("^").rstrip("$")
            part = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda g: values[g.group(1)], part)
        else:
            part = re.sub(r"<(?:\w+:)?(\w+)>", lambda g: values[g.group(1)], part)
        url += part
    query = QUERIES.get(pattern.key)
    if query:
        query = {"q": world.members[_whose(principal)].card_number}
        url += "?" + urlencode(query)
    return "/" + url


def matches(response, expected) -> bool:
    if isinstance(expected, m.OneOf):
        return response.status_code in expected.statuses
    if isinstance(expected, m.Redirect):
        location = urlsplit(response.get("Location", "")).path
        return response.status_code == expected.status and location == expected.path
    return response.status_code == expected


def describe(response) -> str:
    if 300 <= response.status_code < 400:
        return f"{response.status_code}->{urlsplit(response.get('Location', '')).path}"
    return str(response.status_code)


def report(principal: str, method: str, mismatches: list) -> str:
    lines = [f"{principal} {method}: {len(mismatches)} cell(s) differ from the matrix"]
    lines += [
        f"  {key:52} {url:58} expected {expected!s:22} got {got}"
        for key, url, expected, got in mismatches
    ]
    return "\n".join(lines)


# --- GET: every URL for every principal ----------------------------------------------------


@pytest.mark.parametrize("principal", m.PRINCIPALS)
def test_get(world, db, principal):
    client = client_for(world, principal)
    mismatches = []
    for pattern in url_patterns():
        row = m.ROWS.get(pattern.key)
        if row is None:
            continue  # test_every_pattern_has_a_row names it
        url = build_url(world, pattern, principal)
        response = client.get(url)
        expected = row.get[principal]
        if not matches(response, expected):
            mismatches.append((pattern.key, url, expected, describe(response)))
    assert not mismatches, report(principal, "GET", mismatches)


# --- POST: the state-changing endpoints ----------------------------------------------------


def _phone(principal: str) -> str:
    return f"09770001{m.PRINCIPALS.index(principal):02d}"


def _all_permissions():
    from django.contrib.auth.models import Permission

    return Permission.objects.values_list("pk", flat=True)


def _tier_pk():
    from tiers.models import Tier

    return Tier.objects.order_by("-rank").first().pk


# key -> (world, principal) -> (data, content_type or None for a form)
POST_BODIES = {
    "set_language": lambda w, p: ({"language": "en", "next": "/"}, None),
    "campaigns_unsubscribe": lambda w, p: ({}, None),
    "rewards:voucher_cancel": lambda w, p: ({}, None),
    "campaigns:message_read": lambda w, p: ({}, None),
    "campaigns:messages_read_all": lambda w, p: ({}, None),
    "pos:member_enrol": lambda w, p: (
        {"external_id": f"SEC-ENROL-{p}", "full_name": "Khách mới", "phone": _phone(p)},
        "json",
    ),
    "pos:reward_redeem": lambda w, p: ({"external_id": f"SEC-REDEEM-{p}"}, "json"),
    "pos:quote": lambda w, p: (
        {"member": w.members["A"].card_number, "total_amount": "100000"},
        "json",
    ),
    "pos:transactions": lambda w, p: (
        {
            "external_id": f"SEC-TX-{p}",
            "member": w.members["A"].card_number,
            "total_amount": "100000",
        },
        "json",
    ),
    "pos:transaction_returns": lambda w, p: (
        {"external_id": f"SEC-RET-{p}", "amount": "1000"},
        "json",
    ),
    "admin:auth_user_password_change": lambda w, p: (
        {"password1": "N3w-Secret-Passw0rd", "password2": "N3w-Secret-Passw0rd"},
        None,
    ),
    "admin:auth_group_add": lambda w, p: (
        {"name": f"Everything {p}", "permissions": [str(pk) for pk in _all_permissions()]},
        None,
    ),
    "admin:members_user_add": lambda w, p: (
        {
            "email": f"sec-new-{p}@example.com",
            "name": "New staff",
            "usable_password": "true",
            "password1": "N3w-Secret-Passw0rd",
            "password2": "N3w-Secret-Passw0rd",
        },
        None,
    ),
    "admin:members_member_adjust_points": lambda w, p: (
        {"points": "5", "reason": "matrix"},
        None,
    ),
    "admin:tiers_membertier_set": lambda w, p: (
        {"tier": str(_tier_pk()), "reason": "matrix"},
        None,
    ),
}
POST_BODIES.update(m.load_area_rows())  # the area modules' own (tests/security/rows_*.py)


def send_post(client, world, pattern, principal, *, missing=False):
    data, kind = POST_BODIES[pattern.key](world, principal)
    url = build_url(world, pattern, principal, missing=missing)
    if kind == "json":
        return url, client.post(url, data, content_type="application/json")
    return url, client.post(url, data)


@pytest.mark.parametrize("principal", m.PRINCIPALS)
def test_post(world, db, principal):
    client = client_for(world, principal)
    mismatches = []
    for pattern in url_patterns():
        row = m.ROWS.get(pattern.key)
        if row is None or row.post is None:
            continue
        url, response = send_post(client, world, pattern, principal)
        if principal in world.users and not response.wsgi_request.user.is_authenticated:
            client.force_login(world.users[principal])  # a POST that ended the session
        expected = row.post[principal]
        if not matches(response, expected):
            mismatches.append((pattern.key, url, expected, describe(response)))
    assert not mismatches, report(principal, "POST", mismatches)


# --- A missing object -----------------------------------------------------------------------


def test_missing_object_is_not_found(world, db):
    """An id that names nothing, asked by someone who may see such objects: 404 (the
    admin's own pages: its "does not exist" redirect), never a 500. Form targets are
    asked with their POST."""
    mismatches = []
    clients = {}
    for pattern in url_patterns():
        row = m.ROWS.get(pattern.key)
        if row is None or row.missing is None:
            continue
        principal, expected = row.missing
        if principal not in clients:
            clients[principal] = client_for(world, principal)
        client = clients[principal]
        if row.post is not None:
            url, response = send_post(client, world, pattern, principal, missing=True)
        else:
            url = build_url(world, pattern, principal, missing=True)
            response = client.get(url)
        if not matches(response, expected):
            mismatches.append((pattern.key, url, expected, describe(response)))
    assert not mismatches, report("missing ids", "GET/POST", mismatches)


# --- CSRF, as the real clients send -----------------------------------------------------------


def _csrf_token(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return client.cookies["csrftoken"].value


def test_portal_form_post_needs_the_csrf_token(world, db):
    client = client_for(world, m.MEMBER, enforce_csrf_checks=True)
    cancel = f"/me/rewards/vouchers/{world.vouchers['A']}/cancel/"
    assert client.post(cancel).status_code == 403
    token = _csrf_token(client, f"/me/rewards/vouchers/{world.vouchers['A']}/")
    response = client.post(cancel, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/me/rewards/vouchers/"


def test_admin_form_post_needs_the_csrf_token(world, db):
    client = client_for(world, m.SP, enforce_csrf_checks=True)
    url = f"/staff/members/member/{world.members['A'].pk}/adjust-points/"
    body = {"points": "5", "reason": "matrix"}
    assert client.post(url, body).status_code == 403
    token = _csrf_token(client, url)
    response = client.post(url, {**body, "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_other_member_cannot_cancel_a_voucher_even_with_a_valid_token(world, db):
    client = client_for(world, m.MEMBER, enforce_csrf_checks=True)
    token = _csrf_token(client, "/me/rewards/vouchers/")
    response = client.post(
        f"/me/rewards/vouchers/{world.vouchers['B']}/cancel/", {"csrfmiddlewaretoken": token}
    )
    assert response.status_code == 404


def test_pos_api_takes_its_key_not_cookies_or_csrf(world, db):
    """The till's key needs no CSRF token; a logged-in member's session with a valid CSRF
    token is still no POS credential."""
    body = {"member": world.members["A"].card_number, "total_amount": "100000"}
    till = client_for(world, m.KEY, enforce_csrf_checks=True)
    assert till.post("/api/v1/pos/quote/", body, content_type="application/json").status_code == 200
    member = client_for(world, m.MEMBER, enforce_csrf_checks=True)
    token = _csrf_token(member, "/me/")
    response = member.post(
        "/api/v1/pos/quote/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
