"""Signals the members app sends, so the apps above it (promotions: referrals, activity
bonuses) can react to what happens to members without ``members`` importing them.

Both are sent inside the service's transaction, after its writes: a receiver's writes
commit or roll back with them. Receivers stay thin and call their own app's services.
"""

from django.dispatch import Signal

# A member was enrolled (``members.services.member_create``), by any channel. Not sent
# for the members a purchase import creates in bulk (``pos.services.imports``): those are
# written set-based, with what the receivers would record for them (their known contacts).
# Arguments: ``member`` (the new Member), ``referrer`` (the Member whose referral code was
# given, or None), ``channel`` (``Member.Channel``), ``ip`` (the client's address or None),
# ``device_id`` (an opaque id of the device or till, or "").
member_enrolled = Signal()

# A member's profile changed (``members.services.member_update_profile``).
# Arguments: ``member`` (the Member, as saved), ``changed`` (the field names that changed),
# ``before`` (field name -> the value before, JSON-friendly).
profile_updated = Signal()

# A member's personal data is being erased (``members.services.privacy.member_erase``),
# inside its transaction, before the member row is anonymised. Receivers erase what their
# app holds about the member (vouchers, sends, texts, contacts) and keep the figures.
# Arguments: ``member`` (the Member, still with its data, locked), ``now`` (the moment of
# the erasure), ``phone`` (the phone it had, or None: the SMS log is keyed by phone).
member_erasing = Signal()
