from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loyalty.admin import MissingObjectIs404, ReadOnlyAdmin
from loyalty.errors import DomainError
from loyalty.formatting import money_display
from members import brand
from members.admin_privacy import MemberPrivacyActionsMixin
from members.identifiers import (
    card_number_clean,
    phone_looks_like,
    phone_normalize,
    referral_code_clean,
)
from members.models import (
    AuditEntry,
    ConsentEvent,
    EarnCategoryRule,
    Member,
    PointAccount,
    PointEntry,
    PointLot,
    Program,
    Purchase,
    PurchaseReturn,
    Store,
)
from members.selectors import program_get, staff_store_ids, store_scoped
from members.services import PROFILE_FIELDS, member_block, member_unblock, member_update_profile
from members.services.points import points_adjust


class AdjustPointsForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"), help_text=_("Positive to add, negative to deduct.")
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class MemberAdminForm(forms.ModelForm):
    class Meta:
        model = Member
        fields = PROFILE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A member imported from a phone or email alone has no name until someone gives it;
        # one who has a name keeps one (``member_update_profile`` refuses to blank it).
        if "full_name" in self.fields:  # not there for a role that may only view members
            self.fields["full_name"].required = bool(self.instance.full_name)

    def clean_phone(self):
        raw = self.cleaned_data.get("phone")
        return phone_normalize(raw) if raw else None

    def clean_email(self):
        return (self.cleaned_data.get("email") or "").strip().lower() or None


class PhoneAwareSearchMixin:
    """Search also finds members by phone typed in any common form (0912 345 678...)."""

    phone_lookup = "phone"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and phone_looks_like(term):
            try:
                phone = phone_normalize(term)
            except ValidationError:
                phone = None
            if phone:
                results |= queryset.filter(**{self.phone_lookup: phone})
            cleaned = card_number_clean(term)
            if cleaned.isdigit() and cleaned != term:
                results |= queryset.filter(
                    **{self.phone_lookup.replace("phone", "card_number"): cleaned}
                )
        return results, may_have_duplicates


class StoreScopedAdminMixin(MissingObjectIs404):
    """A ModelAdmin over store-bound rows: a store manager lists, opens, searches, filters,
    exports and acts on their stores' rows only (``members.selectors.staff_store_ids``).

    ``store_paths`` lead from the row to its store; with ``store_unbound`` the rows tied to
    no store stay visible. Everything the admin does goes through ``get_queryset`` (list,
    search, filters, actions, autocomplete, change, delete and history pages), and an id
    outside that queryset (another store's, or none at all) is a 404, not the admin's
    redirect: what cannot be seen does not exist.
    """

    store_paths: tuple[str, ...] = ("store",)
    store_unbound = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return store_scoped(queryset, request.user, *self.store_paths, unbound=self.store_unbound)


class ScopedStoreListFilter(admin.RelatedFieldListFilter):
    """The "by store" filter, offering only the stores the staff user may see."""

    def field_choices(self, field, request, model_admin):
        ids = staff_store_ids(request.user)
        ordering = self.field_admin_ordering(field, request, model_admin)
        limit = {} if ids is None else {"pk__in": ids}
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=limit)


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    extra = 0
    can_delete = False
    fields = ["at", "channel", "granted", "source", "actor"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class AuditEntryInline(admin.TabularInline):
    model = AuditEntry
    extra = 0
    can_delete = False
    fields = ["at", "action", "actor", "actor_label", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class MemberSearchMixin:
    """The member list's search is the console's (``members.selectors.member_search``): names
    without accents in any word order, phones in any form, emails, card numbers; plus the
    referral code, which only the admin looks members up by."""

    search_limit = 200

    def get_search_results(self, request, queryset, search_term):
        from members.selectors import member_search

        term = (search_term or "").strip()
        if not term:
            return queryset, False
        ids = [found.pk for found in member_search(term, limit=self.search_limit)]
        code = referral_code_clean(term)
        return queryset.filter(Q(pk__in=ids) | Q(referral_code=code)), False


@admin.register(Member)
class MemberAdmin(MemberPrivacyActionsMixin, MemberSearchMixin, admin.ModelAdmin):
    list_display = [
        "card_number",
        "full_name",
        "phone",
        "email",
        "status",
        "joined_at",
        "member_page_link",
    ]
    list_filter = ["status", "gender", "province", "enrolled_via", "email_consent", "sms_consent"]
    search_fields = ["full_name", "phone", "email", "card_number", "referral_code"]
    date_hierarchy = "joined_at"
    list_select_related = ["user"]
    # Identity, consents and status change through services (history and audit), not here.
    readonly_fields = [
        "card_number",
        "referral_code",
        "user",
        "status",
        "blocked_reason",
        "email_consent",
        "email_consent_at",
        "sms_consent",
        "sms_consent_at",
        "joined_at",
        "enrolled_via",
        "enrolled_at_store",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["card_number", "referral_code", "user", "status", "blocked_reason"]}),
        (
            _("Profile"),
            {
                "fields": [
                    "full_name",
                    "phone",
                    "email",
                    "birth_date",
                    "gender",
                    "province",
                    "occupation",
                ]
            },
        ),
        (
            _("Marketing consent"),
            {"fields": ["email_consent", "email_consent_at", "sms_consent", "sms_consent_at"]},
        ),
        (
            _("Enrolment"),
            {"fields": ["joined_at", "enrolled_via", "enrolled_at_store", "updated_at"]},
        ),
    ]
    inlines = [ConsentEventInline, AuditEntryInline]
    actions = ["block_selected", "unblock_selected", *MemberPrivacyActionsMixin.privacy_actions]

    @admin.display(description=_("Member page"))
    def member_page_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("console:member", args=[obj.pk]), _("Open")
        )

    def has_add_permission(self, request):
        # Members enrol through the portal, the till or an import: each makes card numbers,
        # consents and history through the services.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    form = MemberAdminForm

    def save_model(self, request, obj, form, change):
        # The form validated (normalised phone, unique contacts); the service writes and audits.
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f in PROFILE_FIELDS}
        member = Member.objects.get(pk=obj.pk)
        member_update_profile(member=member, acting_user=request.user, **changes)

    @admin.action(description=_("Block selected members"), permissions=["block"])
    def block_selected(self, request, queryset):
        for member in queryset:
            member_block(
                member=member, reason=str(_("Blocked from the admin")), acting_user=request.user
            )
        self.message_user(request, _("Blocked %(n)d member(s).") % {"n": queryset.count()})

    @admin.action(description=_("Unblock selected members"), permissions=["block"])
    def unblock_selected(self, request, queryset):
        for member in queryset:
            member_unblock(
                member=member, reason=str(_("Unblocked from the admin")), acting_user=request.user
            )
        self.message_user(request, _("Unblocked %(n)d member(s).") % {"n": queryset.count()})

    def has_block_permission(self, request):
        return request.user.has_perm("members.block_member")

    def get_urls(self):
        custom = [
            path(
                "<int:member_id>/adjust-points/",
                self.admin_site.admin_view(self.adjust_points_view),
                name="members_member_adjust_points",
            )
        ]
        return custom + super().get_urls()

    def adjust_points_view(self, request, member_id):
        """Add or deduct points with a reason; the ledger service checks the permission,
        writes a new entry and the audit row."""
        if not request.user.has_perm("members.adjust_points"):
            raise PermissionDenied
        member = get_object_or_404(Member.objects.select_related("account"), pk=member_id)
        form = AdjustPointsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                points_adjust(
                    member=member,
                    points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    acting_user=request.user,
                    program=program_get(),
                )
            except DomainError as exc:
                form.add_error("points", exc.message)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.message_user(request, _("Points adjusted."), messages.SUCCESS)
                return redirect("admin:members_member_change", member.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust points of %(name)s") % {"name": member.display_name},
            "member": member,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/adjust_points.html", context)


@admin.register(ConsentEvent)
class ConsentEventAdmin(PhoneAwareSearchMixin, ReadOnlyAdmin):
    phone_lookup = "member__phone"
    list_display = ["at", "member", "channel", "granted", "source", "actor"]
    list_filter = ["channel", "granted", "source"]
    search_fields = ["member__full_name", "member__phone", "member__email", "member__card_number"]
    list_select_related = ["member", "actor"]
    date_hierarchy = "at"


@admin.register(AuditEntry)
class AuditEntryAdmin(PhoneAwareSearchMixin, ReadOnlyAdmin):
    phone_lookup = "member__phone"
    list_display = ["at", "action", "member", "actor", "actor_label", "reason"]
    list_filter = ["action"]
    search_fields = [
        "action",
        "member__full_name",
        "member__phone",
        "member__email",
        "member__card_number",
        "actor__email",
    ]
    list_select_related = ["member", "actor"]
    date_hierarchy = "at"


class ProgramAdminForm(forms.ModelForm):
    """The programme's rules and brand; the logo is uploaded here and kept in the database
    (members.brand: PNG, JPEG or WebP, at most 100 KB; never SVG)."""

    logo_upload = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG, JPEG or WebP, at most 100 KB; shown in the portal's header."),
    )
    logo_remove = forms.BooleanField(label=_("Remove the logo"), required=False)

    class Meta:
        model = Program
        fields = "__all__"  # noqa: DJ007  # the admin shows every editable field of the rules

    def clean_brand_colour(self):
        return (self.cleaned_data.get("brand_colour") or "").lower()

    def clean_logo_upload(self):
        upload = self.cleaned_data.get("logo_upload")
        if not upload:
            return None
        if upload.size > brand.LOGO_MAX_BYTES:
            brand.validate_logo(b"\0" * (brand.LOGO_MAX_BYTES + 1))  # raises "too large"
        data = upload.read()
        return data, brand.validate_logo(data)

    def save(self, commit=True):
        program = super().save(commit=False)
        if self.cleaned_data.get("logo_remove"):
            program.logo, program.logo_content_type = b"", ""
        elif self.cleaned_data.get("logo_upload"):
            program.logo, program.logo_content_type = self.cleaned_data["logo_upload"]
        if commit:
            program.save()
        return program


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    form = ProgramAdminForm
    readonly_fields = ["logo_preview"]
    list_display = [
        "name",
        "currency",
        "earn_per_amount",
        "earn_points",
        "pending_days",
        "expiry_months",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        """A viewer (no change permission) sees no upload controls: the admin would show them
        as read-only rows labelled by their English field names ("Logo upload")."""
        fields = super().get_fields(request, obj)
        if not self.has_change_permission(request, obj):
            fields = [f for f in fields if f not in ("logo_upload", "logo_remove")]
        return fields

    @admin.display(description=_("Current logo"))
    def logo_preview(self, obj):
        url = brand.brand_get()["logo_url"] if obj and obj.logo else ""
        return format_html('<img src="{}" alt="" height="48">', url) if url else "—"


@admin.register(Store)
class StoreAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    store_paths = ("pk",)
    list_display = ["code", "name", "province", "is_active"]
    list_filter = ["is_active", "province"]
    search_fields = ["code", "name", "address"]


@admin.register(Purchase)
class PurchaseAdmin(StoreScopedAdminMixin, PhoneAwareSearchMixin, admin.ModelAdmin):
    phone_lookup = "member__phone"
    list_display = ["occurred_at", "store", "external_id", "member", "total_shown", "due_shown"]

    @admin.display(description=_("total amount"), ordering="total_amount")
    def total_shown(self, obj):
        return money_display(obj.total_amount)

    @admin.display(description=_("amount due"), ordering="amount_due")
    def due_shown(self, obj):
        return money_display(obj.amount_due)

    list_filter = [("store", ScopedStoreListFilter)]
    search_fields = [
        "external_id",
        "member__full_name",
        "member__phone",
        "member__email",
        "member__card_number",
    ]
    list_select_related = ["store", "member"]
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in Purchase._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EarnCategoryRule)
class EarnCategoryRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "multiplier"]
    search_fields = ["category"]


@admin.register(PointAccount)
class PointAccountAdmin(PhoneAwareSearchMixin, ReadOnlyAdmin):
    phone_lookup = "member__phone"
    list_display = [
        "member",
        "available",
        "pending",
        "lifetime_earned",
        "lifetime_spent",
        "lifetime_expired",
    ]
    search_fields = ["member__full_name", "member__phone", "member__email", "member__card_number"]
    list_select_related = ["member"]


@admin.register(PointEntry)
class PointEntryAdmin(StoreScopedAdminMixin, PhoneAwareSearchMixin, ReadOnlyAdmin):
    # Entries of a purchase or a return are the store's; adjustments, expiry and spending
    # are the member's (chain-wide).
    store_paths = ("purchase__store", "purchase_return__store")
    store_unbound = True
    phone_lookup = "member__phone"
    list_display = [
        "created_at",
        "member",
        "kind",
        "available_delta",
        "pending_delta",
        "purchase",
        "actor",
        "reason",
    ]
    list_filter = ["kind"]
    search_fields = [
        "member__full_name",
        "member__phone",
        "member__email",
        "member__card_number",
        "purchase__external_id",
    ]
    list_select_related = ["member", "purchase", "actor"]
    date_hierarchy = "created_at"


@admin.register(PointLot)
class PointLotAdmin(StoreScopedAdminMixin, PhoneAwareSearchMixin, ReadOnlyAdmin):
    store_paths = ("purchase__store",)
    store_unbound = True
    phone_lookup = "member__phone"
    list_display = [
        "id",
        "member",
        "status",
        "points",
        "remaining",
        "earned_on",
        "matures_on",
        "expires_on",
    ]
    list_filter = ["status"]
    search_fields = ["member__full_name", "member__phone", "member__email", "member__card_number"]
    list_select_related = ["member"]


@admin.register(PurchaseReturn)
class PurchaseReturnAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "store",
        "external_id",
        "purchase",
        "amount_shown",
        "points_reversed",
        "points_refunded",
    ]
    search_fields = ["external_id", "purchase__external_id", "purchase__member__card_number"]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_shown(self, obj):
        return money_display(obj.amount)

    list_select_related = ["store", "purchase"]


import members.admin_claims  # noqa: E402,F401  (pending phone claims, read only)
from members import admin_staff  # noqa: E402,F401  (registers the staff accounts' admin)
