"""Members' models: people, the programme and stores, purchases, the point ledger."""

from members.models.claims import PhoneClaim
from members.models.people import AuditEntry, ConsentEvent, Member, User, UserManager
from members.models.points import PointAccount, PointEntry, PointLot
from members.models.privacy import DataRequest
from members.models.program import EarnCategoryRule, Program, Store
from members.models.purchases import Purchase, PurchaseReturn

__all__ = [
    "AuditEntry",
    "ConsentEvent",
    "DataRequest",
    "EarnCategoryRule",
    "Member",
    "PhoneClaim",
    "PointAccount",
    "PointEntry",
    "PointLot",
    "Program",
    "Purchase",
    "PurchaseReturn",
    "Store",
    "User",
    "UserManager",
]
