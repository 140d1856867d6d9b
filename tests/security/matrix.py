"""The authorisation matrix: for every URL pattern, the status each principal gets.

Written down once, here. ``test_authz_matrix`` walks the URL conf and fails on a pattern
without a row here, on a row without a pattern, and on every cell whose answer differs.

A row is keyed by the pattern's name (``namespace:name``; the admin's
``admin:<app>_<model>_<view>``), or by its full route when it has no name. The values:

- an int: the status;
- ``LOGIN`` / ``ADMIN_LOGIN`` / ``ADMIN_INDEX``: a 302 to that page (``Redirect(path)``: a
  302 whose Location, without its query string, is ``path``).

Principals (what ``tests/security/world.py`` builds):

- ``anonymous``: no session, no key.
- ``member``: member A logged in to the portal; URLs carry A's ids.
- ``member_other_ids``: member A logged in, URLs carry member B's ids (B's voucher, message).
- ``program_admin``, ``marketer``, ``store_manager``, ``support``: staff with that role
  (``members.roles``); the store manager works for store A. Program admins have a TOTP
  authenticator, as they must.
- ``store_manager_other_store``: a store manager of store B; URLs carry store A's objects.
- ``superuser``: with a TOTP authenticator.
- ``pos_key``: store A's API key; ``pos_key_other_store``: store B's key on A's objects;
  ``pos_key_revoked``: a revoked key of store A. Pages see a POS key as anonymous.

Besides GET, a row may give ``post`` (the state-changing request, body built by the test)
and ``missing``: the principal that may see the object and what it gets when the id in the
URL names no object (every URL that takes an id has one).
"""

from __future__ import annotations

from dataclasses import dataclass

ANON = "anonymous"
MEMBER = "member"
OTHER_IDS = "member_other_ids"
PA = "program_admin"
MK = "marketer"
SM = "store_manager"
SMO = "store_manager_other_store"
SP = "support"
SU = "superuser"
KEY = "pos_key"
KEY_OTHER = "pos_key_other_store"
KEY_REVOKED = "pos_key_revoked"

PRINCIPALS = [ANON, MEMBER, OTHER_IDS, PA, MK, SM, SMO, SP, SU, KEY, KEY_OTHER, KEY_REVOKED]
MEMBERS = (MEMBER, OTHER_IDS)
STAFF = (PA, MK, SM, SMO, SP, SU)
KEYS = (KEY, KEY_OTHER, KEY_REVOKED)
# Who a page (not the POS API) sees as not logged in: nobody, and a till's key.
NO_SESSION = (ANON, *KEYS)
SESSIONS = (*MEMBERS, *STAFF)


@dataclass(frozen=True)
class Redirect:
    path: str
    status: int = 302

    def __str__(self):
        return f"{self.status}->{self.path}"


LOGIN = Redirect("/accounts/login/")
ADMIN_LOGIN = Redirect("/staff/login/")
ADMIN_INDEX = Redirect("/staff/")


@dataclass(frozen=True)
class OneOf:
    """Any of these statuses, the same for every principal (a health check's 200 or 503)."""

    statuses: tuple

    def __str__(self):
        return "|".join(map(str, self.statuses))


@dataclass
class Row:
    get: dict
    post: dict | None = None  # principal -> expected, for the row's POST
    missing: tuple | None = None  # (principal, expected) with the id naming nothing
    optional: bool = False  # a pattern that exists only in some settings (DEBUG's media)


def cells(default, **overrides) -> dict:
    """Every principal ``default``; ``overrides`` by principal group or name:
    ``cells(403, members=200, staff=..., keys=..., no_session=..., sessions=...)`` then
    single principals by their constant's value (``program_admin=200``)."""
    groups = {
        "members": MEMBERS,
        "staff": STAFF,
        "keys": KEYS,
        "no_session": NO_SESSION,
        "sessions": SESSIONS,
    }
    table = dict.fromkeys(PRINCIPALS, default)
    for name in ("no_session", "sessions", "members", "staff", "keys"):
        if name in overrides:
            table.update(dict.fromkeys(groups[name], overrides.pop(name)))
    for principal, value in overrides.items():
        assert principal in table, principal
        table[principal] = value
    return table


# --- Kinds of rows --------------------------------------------------------------------------


def everyone(status) -> dict:
    return cells(status)


def portal(*, other_ids=200) -> dict:
    """A member's page: log in first; staff have no portal (403); with another member's
    ids, ``other_ids``."""
    return cells(403, no_session=LOGIN, member=200, member_other_ids=other_ids)


def portal_post_only(*, post_other_ids=302) -> tuple[dict, dict]:
    """A member's form target (POST only): GET is 405 once logged in."""
    get = cells(405, no_session=LOGIN)
    post = cells(403, no_session=LOGIN, member=302, member_other_ids=post_other_ids)
    return get, post


def account_page(*, logged_in=200, logged_out=LOGIN) -> dict:
    """allauth's pages: the same for members and staff."""
    return cells(logged_in, no_session=logged_out)


def admin(*allowed, ok=200, denied=403, smo=None) -> dict:
    """An admin page: non-staff go to the admin login; the ``allowed`` staff get ``ok``, the
    other staff ``denied``. A store manager of another store counts as a store manager,
    except on store-bound rows (``smo``: what that one gets instead)."""
    table = cells(denied, no_session=ADMIN_LOGIN, members=ADMIN_LOGIN)
    for principal in allowed:
        table[principal] = ok
    if SM in allowed:
        table[SMO] = ok if smo is None else smo
    return table


def pos_api(*, ok=200, other_store=None) -> dict:
    """The POS API: a key of the chain gets ``ok``; another store's key ``other_store``
    (default: the same, the endpoint is chain-wide); no key, a revoked key and every session
    (cookies are no POS credential): 401."""
    return cells(401, pos_key=ok, pos_key_other_store=ok if other_store is None else other_store)


ALL_STAFF = (PA, MK, SM, SP, SU)


def admin_model(
    app: str,
    model: str,
    *,
    view=(),
    add=(),
    change=(),
    delete=(),
    store_bound=False,
) -> dict[str, Row]:
    """The six URLs the admin makes for a registered model. ``view``/``add``/``change``/
    ``delete``: who holds that right (the superuser too, unless the model's admin refuses it
    to everyone). Seeing the list, a row or its history takes view or change. On
    ``store_bound`` rows a store manager of another store gets 404 on store A's object,
    whatever their rights (a row outside one's stores does not exist for one). A missing
    object is a 404 (not Django's redirect to the index), whoever asks."""
    seeing = tuple(dict.fromkeys((*view, *change)))
    base = f"admin:{app}_{model}"
    missing = (SU, 404)

    def one(allowed):
        table = admin(*allowed)
        if store_bound:
            table[SMO] = 404  # what cannot be seen does not exist
        return table

    return {
        f"{base}_changelist": Row(admin(*seeing)),
        f"{base}_add": Row(admin(*add)),
        f"{base}_change": Row(one(seeing), missing=missing),
        f"{base}_history": Row(one(seeing), missing=missing),
        f"{base}_delete": Row(one(delete), missing=missing),
        # The bare object URL only redirects to its change page (old admin links).
        f"staff/{app}/{model}/<path:object_id>/": Row(admin(*ALL_STAFF, ok=302), missing=(SU, 302)),
    }


# Who holds what, by role (the design of issue #12; members.roles is its implementation).
EVERY_ROLE = (PA, MK, SM, SP, SU)
PA_SU = (PA, SU)
CAMPAIGN_PEOPLE = (PA, MK, SU)

ROWS: dict[str, Row] = {
    # --- Public and project pages -------------------------------------------------------
    "landing": Row(cells(302, no_session=200)),  # logged in: off to the portal or staff side
    "health": Row(everyone(200)),
    # The load balancer's check: the same answer for everyone, 503 while something is down.
    "healthz": Row(everyone(OneOf((200, 503)))),
    # Prometheus: by network or bearer token, not by login; from outside, as if absent.
    "metrics": Row(everyone(404)),
    "set_language": Row(everyone(302), post=everyone(302)),
    "api_schema": Row(everyone(200)),  # the contract is public documentation
    "api_docs": Row(everyone(200)),
    "campaigns_unsubscribe": Row(
        # The signed token is the credential; it names its member, whoever clicks it.
        everyone(200),
        post=everyone(200),
        missing=(ANON, 404),
    ),
    # --- allauth ------------------------------------------------------------------------
    "account_login": Row(account_page(logged_in=302, logged_out=200)),
    "account_logout": Row(account_page(logged_in=200, logged_out=302)),
    "account_inactive": Row(everyone(200)),
    "account_signup": Row(account_page(logged_in=302, logged_out=200)),
    "account_reauthenticate": Row(account_page()),
    "account_email": Row(account_page()),
    "account_email_verification_sent": Row(everyone(200)),
    "account_change_password": Row(account_page()),
    "account_set_password": Row(account_page(logged_in=302)),  # has one: go change it
    "account_reset_password": Row(everyone(200)),
    "account_confirm_login_code": Row(everyone(302)),  # no login by code under way
    "account_confirm_email": Row(everyone(200)),  # the key is the credential (a bad one here)
    "account_reset_password_from_key_done": Row(everyone(200)),
    "account_reset_password_from_key": Row(everyone(200)),  # a bad key: the page says so
    "account_reset_password_done": Row(everyone(200)),
    # allauth.mfa: one's own second factor (staff who must have one, members who may).
    "mfa_index": Row(account_page()),
    "mfa_authenticate": Row(everyone(302)),  # only during a login that asks for a code
    "mfa_reauthenticate": Row(cells(302, program_admin=200, superuser=200)),
    # Changing one's factors asks to re-authenticate first (force_login is not fresh), or,
    # enrolled already, sends back to the index: a redirect for every session.
    "mfa_activate_totp": Row(cells(302, no_session=LOGIN)),
    # Nothing to deactivate or show without a TOTP / recovery codes: 404.
    "mfa_deactivate_totp": Row(cells(404, no_session=LOGIN, program_admin=302, superuser=302)),
    "mfa_view_recovery_codes": Row(cells(404, no_session=LOGIN)),
    "mfa_generate_recovery_codes": Row(cells(302, no_session=LOGIN)),
    "mfa_download_recovery_codes": Row(cells(404, no_session=LOGIN)),
    # --- The member portal --------------------------------------------------------------
    "portal:home": Row(portal()),
    "portal:points": Row(portal()),
    "portal:profile": Row(portal()),
    "portal:consents": Row(portal()),
    "portal:card_qr": Row(portal()),
    "tiers:my_tier": Row(portal()),
    "rewards:catalogue": Row(portal()),
    # The catalogue is the same for every member: another member's reward id is just a reward.
    "rewards:reward": Row(portal(), missing=(MEMBER, 404)),
    "rewards:vouchers": Row(portal()),
    "rewards:voucher": Row(portal(other_ids=404), missing=(MEMBER, 404)),
    "rewards:voucher_cancel": Row(*portal_post_only(post_other_ids=404), missing=(MEMBER, 404)),
    "campaigns:messages": Row(portal()),
    "campaigns:message_read": Row(*portal_post_only(post_other_ids=404), missing=(MEMBER, 404)),
    "campaigns:messages_read_all": Row(*portal_post_only()),
    "promotions:referrals": Row(portal()),
    "promotions:promotions": Row(portal()),
    "promotions:reviews": Row(portal()),
    # --- The POS API (contract: /work/shared/pos-api.md) ---------------------------------
    "pos:program": Row(pos_api()),
    "pos:member_lookup": Row(pos_api()),  # members are findable chain-wide, at any till
    "api/v1/pos/members/lookup/": Row(pos_api()),
    "pos:member_enrol": Row(pos_api(ok=405), post=pos_api(ok=201)),
    "pos:member_tier": Row(pos_api(), missing=(KEY, 404)),
    "pos:member_rewards": Row(pos_api(), missing=(KEY, 404)),
    "pos:reward_redeem": Row(pos_api(ok=405), post=pos_api(ok=201), missing=(KEY, 404)),
    "pos:voucher": Row(pos_api(), missing=(KEY, 404)),
    "pos:quote": Row(pos_api(ok=405), post=pos_api(ok=200)),
    "pos:transactions": Row(pos_api(ok=405), post=pos_api(ok=201)),
    # Store A's purchase: B's key may not even learn that it exists.
    "pos:transaction_returns": Row(
        pos_api(ok=405), post=pos_api(ok=201, other_store=404), missing=(KEY, 404)
    ),
    # --- The admin: the site's own pages ------------------------------------------------
    "admin:index": Row(admin(*EVERY_ROLE)),
    # Staff sign in through allauth's login (its rate limits, the second factor): the admin's
    # login page sends there; a member already logged in is no staff (403).
    "staff_login": Row(cells(302, no_session=LOGIN, members=403)),
    "admin:login": Row(cells(302, no_session=LOGIN, members=403)),  # shadowed by staff_login
    # POST only (Django 5); whoever is no staff is sent to the index (and its login).
    "admin:logout": Row(cells(405, no_session=ADMIN_INDEX, members=ADMIN_INDEX)),
    "admin:password_change": Row(admin(*EVERY_ROLE)),  # one's own password
    "admin:password_change_done": Row(admin(*EVERY_ROLE)),
    "admin:autocomplete": Row(admin(*EVERY_ROLE, ok=403)),  # no field named: refused
    "admin:jsi18n": Row(admin(*EVERY_ROLE)),
    # No model here has a public page: "view on site" finds nothing, for everyone.
    "admin:view_on_site": Row(admin(*EVERY_ROLE, ok=404), missing=(SU, 404)),
    "admin:app_list": Row(admin(*EVERY_ROLE)),  # the "members" app: every role has some
    "staff/(?P<url>.*)$": Row(admin(*EVERY_ROLE, ok=404)),
    # --- The admin: staff accounts and roles, the superuser's alone ---------------------
    **admin_model("members", "user", view=[SU], add=[SU], change=[SU], delete=[SU]),
    "admin:auth_user_password_change": Row(admin(SU), post=admin(SU, ok=302), missing=(SU, 404)),
    **admin_model("auth", "group", view=[SU], add=[SU], change=[SU], delete=[SU]),
    **admin_model("account", "emailaddress", view=[SU], add=[SU], change=[SU], delete=[SU]),
    **admin_model("mfa", "authenticator", view=[SU], add=[SU], change=[SU], delete=[SU]),
    # Periodic tasks: editing one runs any task with any arguments; Program admins read.
    **{
        url: row
        for name in (
            "periodictask",
            "clockedschedule",
            "crontabschedule",
            "solarschedule",
            "intervalschedule",
        )
        for url, row in admin_model(
            "django_celery_beat", name, view=PA_SU, add=[SU], change=[SU], delete=[SU]
        ).items()
    },
    # --- The admin: members and their money ---------------------------------------------
    # Members enrol through the portal, the till or an import, and are never deleted.
    **admin_model("members", "member", view=EVERY_ROLE, change=(PA, SM, SP, SU)),
    "admin:members_member_adjust_points": Row(
        admin(PA, SP, SU), post=admin(PA, SP, SU, ok=302), missing=(SP, 404)
    ),
    **admin_model("members", "consentevent", view=(PA, SM, SP, SU)),
    **admin_model("members", "auditentry", view=(PA, SP, SU)),
    **admin_model("members", "program", view=EVERY_ROLE, change=PA_SU),
    # A store manager sees its stores, their purchases, returns and records only.
    **admin_model(
        "members",
        "store",
        view=EVERY_ROLE,
        add=PA_SU,
        change=PA_SU,
        delete=PA_SU,
        store_bound=True,
    ),
    **admin_model("members", "purchase", view=EVERY_ROLE, store_bound=True),
    **admin_model("members", "purchasereturn", view=(PA, SM, SU), store_bound=True),
    **admin_model("members", "earncategoryrule", view=PA_SU, add=PA_SU, change=PA_SU, delete=PA_SU),
    **admin_model("members", "pointaccount", view=PA_SU),
    **admin_model("members", "pointentry", view=PA_SU, store_bound=True),
    **admin_model("members", "pointlot", view=PA_SU, store_bound=True),
    # --- The admin: tiers ---------------------------------------------------------------
    **admin_model("tiers", "tier", view=EVERY_ROLE, add=PA_SU, change=PA_SU, delete=PA_SU),
    **admin_model("tiers", "membertier", view=PA_SU),
    "admin:tiers_membertier_set": Row(admin(*PA_SU), post=admin(*PA_SU, ok=302), missing=(PA, 404)),
    **admin_model("tiers", "tierchange", view=PA_SU),
    **admin_model("tiers", "tierpolicy", view=PA_SU, change=PA_SU),
    # --- The admin: rewards -------------------------------------------------------------
    **admin_model(
        "rewards",
        "reward",
        view=EVERY_ROLE,
        add=CAMPAIGN_PEOPLE,
        change=CAMPAIGN_PEOPLE,
        delete=CAMPAIGN_PEOPLE,
    ),
    "admin:rewards_reward_partner_codes": Row(admin(*CAMPAIGN_PEOPLE), missing=(MK, 404)),
    **admin_model("rewards", "voucher", view=EVERY_ROLE, store_bound=True),  # issued at A
    # Goodwill vouchers (with a reason): support's tool; the rewards roles hold it too.
    "admin:rewards_voucher_goodwill": Row(admin(PA, MK, SP, SU)),
    **admin_model("rewards", "partnercode", view=CAMPAIGN_PEOPLE),
    # --- The admin: campaigns -----------------------------------------------------------
    **admin_model(
        "campaigns",
        "segment",
        view=CAMPAIGN_PEOPLE,
        add=CAMPAIGN_PEOPLE,
        change=CAMPAIGN_PEOPLE,
        delete=CAMPAIGN_PEOPLE,
    ),
    **admin_model("campaigns", "memberscore", view=CAMPAIGN_PEOPLE),
    **admin_model(
        "campaigns",
        "campaign",
        view=CAMPAIGN_PEOPLE,
        add=CAMPAIGN_PEOPLE,
        change=CAMPAIGN_PEOPLE,
        delete=CAMPAIGN_PEOPLE,
    ),
    **admin_model("campaigns", "campaignmessage", view=CAMPAIGN_PEOPLE),
    **admin_model("campaigns", "send", view=CAMPAIGN_PEOPLE),
    **admin_model("campaigns", "notification", view=CAMPAIGN_PEOPLE),
    **admin_model("campaigns", "smslog", view=CAMPAIGN_PEOPLE),
    **admin_model(
        "campaigns",
        "programdate",
        view=CAMPAIGN_PEOPLE,
        add=CAMPAIGN_PEOPLE,
        change=CAMPAIGN_PEOPLE,
        delete=CAMPAIGN_PEOPLE,
    ),
    # One policy row, made by the migration: no second one, never deleted.
    **admin_model("campaigns", "campaignpolicy", view=CAMPAIGN_PEOPLE, change=CAMPAIGN_PEOPLE),
    # --- The admin: promotions and referrals --------------------------------------------
    **admin_model(
        "promotions",
        "promotion",
        view=(*CAMPAIGN_PEOPLE, SP),
        add=CAMPAIGN_PEOPLE,
        change=CAMPAIGN_PEOPLE,
        delete=CAMPAIGN_PEOPLE,
    ),
    **admin_model("promotions", "promotionaward", view=CAMPAIGN_PEOPLE, store_bound=True),
    **admin_model("promotions", "activitybonus", view=CAMPAIGN_PEOPLE, change=PA_SU),
    **admin_model("promotions", "purchasereview", view=(*CAMPAIGN_PEOPLE, SP), store_bound=True),
    **admin_model("promotions", "referralprogram", view=(*CAMPAIGN_PEOPLE, SP), change=PA_SU),
    **admin_model("promotions", "referral", view=(PA, SP, SU)),
    "admin:promotions_referral_report": Row(admin(PA, SP, SU)),
    # --- The admin: the tills' keys and replay records ----------------------------------
    # Keys are issued by `manage.py create_api_key` (shown once), revoked, never deleted.
    **admin_model("pos", "storeapikey", view=PA_SU, change=PA_SU, store_bound=True),
    **admin_model("pos", "idempotencyrecord", view=PA_SU, store_bound=True),
    # --- Only with DEBUG on: uploaded files served by Django -----------------------------
    "^media/(?P<path>.*)$": Row(everyone(404), optional=True),
}

# Escalation by the admin's own forms: making a role with every permission, or an account
# (then a superuser), is the superuser's alone.
ROWS["admin:auth_group_add"].post = admin(SU, ok=302)
ROWS["admin:members_user_add"].post = admin(SU, ok=302)


# --- Rows kept beside this file, one module per area (``rows_<area>.py``, each with its own
# ``ROWS`` dict built from the helpers above; a module may also give ``POST_BODIES``, which
# ``test_authz_matrix`` merges into its own). A key in two places is an error, not an override.
# Loaded by ``test_authz_matrix`` (not when this module is imported: an area module imports
# this one, so importing an area module first would meet itself half-initialised).
_area_bodies: dict | None = None


def load_area_rows() -> dict:
    """Merge every area module's ``ROWS`` into ``ROWS`` (once) and return their POST bodies."""
    global _area_bodies
    if _area_bodies is None:
        _area_bodies = _merge_area_rows()
    return _area_bodies


def _merge_area_rows() -> dict:
    import importlib
    import pkgutil
    from pathlib import Path

    bodies: dict = {}
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if not info.name.startswith("rows_"):
            continue
        module = importlib.import_module(f"tests.security.{info.name}")
        twice = ROWS.keys() & module.ROWS.keys()
        assert not twice, f"{info.name} repeats rows: {sorted(twice)}"
        ROWS.update(module.ROWS)
        extra = getattr(module, "POST_BODIES", {})
        assert not (bodies.keys() & extra.keys()), f"{info.name} repeats POST bodies"
        bodies.update(extra)
    return bodies
