from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from loyalty.admin import ReadOnlyAdmin
from members.admin import ScopedStoreListFilter, StoreScopedAdminMixin
from pos.models import IdempotencyRecord, StoreApiKey
from pos.services import api_key_revoke


@admin.register(StoreApiKey)
class StoreApiKeyAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ["prefix", "store", "label", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("store", ScopedStoreListFilter), ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "label", "store__code", "store__name"]
    list_select_related = ["store"]
    readonly_fields = ["store", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    fields = ["store", "label", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        # Keys are shown once at creation: issue them with `manage.py create_api_key CODE`.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke_selected(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key, acting_user=request.user)
        self.message_user(
            request, _("Revoked %(n)d key(s).") % {"n": queryset.count()}, messages.SUCCESS
        )


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["created_at", "store", "kind", "external_id", "status_code"]
    list_filter = ["kind", ("store", ScopedStoreListFilter)]
    search_fields = ["external_id"]
    list_select_related = ["store"]
