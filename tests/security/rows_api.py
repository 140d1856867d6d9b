"""Rows of the mobile app's URLs: allauth's headless "app" API under /_allauth/app/v1/ and
the member API under /api/v1/me/ (member_api).

Both take the ``X-Session-Token`` header alone: a cookie session (every principal of the
matrix that is logged in) and a POS key are no credential there, so every principal gets
what an anonymous caller gets. The member API answers the contract's 401; headless answers
its own bodies (401 with the login flows where one must be logged in, 405 for a GET of a
POST-only endpoint, 400/409 where a GET needs a pending flow or a key). What a member's or a
staff user's token gets is tested in tests/member_api/.
"""

from __future__ import annotations

from tests.security.matrix import MEMBER, Row, everyone

APP = "headless:app"

ROWS = {
    # --- allauth headless, client "app" -------------------------------------------------
    f"{APP}:config": Row(everyone(200)),  # the login methods the app should offer
    f"{APP}:account:current_session": Row(everyone(401)),
    f"{APP}:account:reauthenticate": Row(everyone(401)),
    f"{APP}:account:confirm_login_code": Row(everyone(409)),  # no login code pending
    f"{APP}:account:request_password_reset": Row(everyone(405)),
    f"{APP}:account:reset_password": Row(everyone(400)),  # GET checks a key: none given
    f"{APP}:account:login": Row(everyone(405)),
    f"{APP}:account:signup": Row(everyone(405)),
    f"{APP}:account:verify_email": Row(everyone(400)),  # GET checks a key: none given
    f"{APP}:account:resend_email_verification_code": Row(everyone(405)),
    f"{APP}:account:verify_phone": Row(everyone(409)),  # no phone verification pending
    f"{APP}:account:resend_phone_verification_code": Row(everyone(405)),
    f"{APP}:account:change_password": Row(everyone(401)),
    f"{APP}:account:manage_email": Row(everyone(401)),
    f"{APP}:account:manage_phone": Row(everyone(401)),
    # With login by code on (ACCOUNT_LOGIN_BY_CODE_ENABLED): POST only.
    f"{APP}:account:request_login_code": Row(everyone(405), optional=True),
    f"{APP}:account:resend_login_code": Row(everyone(405), optional=True),
    f"{APP}:mfa:authenticate": Row(everyone(401)),
    f"{APP}:mfa:reauthenticate": Row(everyone(401)),
    f"{APP}:mfa:authenticators": Row(everyone(401)),
    f"{APP}:mfa:manage_totp": Row(everyone(401)),
    f"{APP}:mfa:manage_recovery_codes": Row(everyone(401)),
    f"{APP}:tokens:refresh": Row(everyone(405)),
    # --- The member API: the session token alone (the contract's 401 without one) -------
    "member_api:me": Row(everyone(401)),
    "member_api:history": Row(everyone(401)),
    "member_api:tier": Row(everyone(401)),
    "member_api:rewards": Row(everyone(401)),
    "member_api:reward_redeem": Row(everyone(401), post=everyone(401), missing=(MEMBER, 401)),
    "member_api:vouchers": Row(everyone(401)),
    "member_api:referrals": Row(everyone(401)),
    "member_api:notifications": Row(everyone(401)),
    "member_api:notification_read": Row(everyone(401), post=everyone(401), missing=(MEMBER, 401)),
    "member_api:notifications_read": Row(everyone(401), post=everyone(401)),
    "member_api:profile": Row(everyone(401)),
    "member_api:consents": Row(everyone(401)),
    "member_api:export": Row(everyone(401)),
}

POST_BODIES = {
    "member_api:notification_read": lambda world, principal: ({}, "json"),
    "member_api:notifications_read": lambda world, principal: ({}, "json"),
    "member_api:reward_redeem": lambda world, principal: (
        {"external_id": f"SEC-APP-{principal}"},
        "json",
    ),
}
