"""The programme's brand (colour, logo, name) as staff set it, in the portal and messages;
the web app's manifest, service worker, offline page and icons; logout clears the site."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse

from members.admin import ProgramAdminForm
from members.brand import (
    DEFAULT_COLOUR,
    LOGO_MAX_BYTES,
    MIN_CONTRAST,
    contrast_with_white,
    validate_brand_colour,
)
from members.models import Program
from members.selectors import program_get

pytestmark = pytest.mark.django_db

STATIC = Path(settings.BASE_DIR) / "static"


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xb3\x26\x1e")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _form(program, **data):
    values = {
        field.name: getattr(program, field.name)
        for field in Program._meta.fields
        if field.editable and field.name != "id"
    }
    values.update(data)
    files = {"logo_upload": values.pop("logo_upload")} if "logo_upload" in values else {}
    return ProgramAdminForm(data=values, files=files, instance=program)


# --- colour -------------------------------------------------------------------------------


def test_the_default_colour_is_readable_under_white_text():
    assert contrast_with_white(DEFAULT_COLOUR) >= MIN_CONTRAST
    validate_brand_colour(DEFAULT_COLOUR)


@pytest.mark.parametrize(
    ("colour", "code"),
    [("#ffcc00", "contrast"), ("#ffffff", "contrast"), ("red", "format"), ("#12345", "format")],
)
def test_a_malformed_or_low_contrast_colour_is_refused(colour, code):
    with pytest.raises(ValidationError) as error:
        validate_brand_colour(colour)
    assert error.value.code == code


def test_staff_set_the_colour_and_the_portal_header_uses_it(client, member_user):
    program = program_get()
    form = _form(program, brand_colour="#0B5D3B")
    assert form.is_valid(), form.errors
    form.save()
    assert program_get().brand_colour == "#0b5d3b"
    assert not _form(program, brand_colour="#ffee88").is_valid()

    client.force_login(member_user)
    html = client.get(reverse("portal:home")).content.decode()
    theme = html.split('<link rel="stylesheet" href="/brand/theme.css?v=')[1].split('"')[0]
    css = client.get(f"/brand/theme.css?v={theme}")
    assert css["Content-Type"].startswith("text/css")
    assert "--brand: #0b5d3b" in css.content.decode()
    assert '<meta name="theme-color" content="#0b5d3b">' in html
    assert 'data-testid="brand"' in html and program.name in html


# --- logo ---------------------------------------------------------------------------------


def test_a_png_logo_is_kept_in_the_database_and_served_with_cache_headers(client):
    program = program_get()
    form = _form(program, logo_upload=SimpleUploadedFile("logo.png", tiny_png()))
    assert form.is_valid(), form.errors
    form.save()
    assert program_get().logo_content_type == "image/png"

    response = client.get(reverse("brand_logo"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == tiny_png()
    assert response["Cache-Control"] == "public, max-age=86400"
    assert "sandbox" in response["Content-Security-Policy"]
    again = client.get(reverse("brand_logo"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304

    html = client.get("/accounts/login/").content.decode()
    assert 'class="brand-logo" src="/brand/logo?v=' in html
    assert "/brand/logo?v=" in client.get("/sw.js").content.decode()  # kept for offline

    form = _form(program_get(), logo_remove="on")
    assert form.is_valid(), form.errors
    form.save()
    assert client.get(reverse("brand_logo")).status_code == 404


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("logo.png", b"GIF89a not a png"),  # the name lies: the bytes decide
        ("big.png", tiny_png() + b"\0" * LOGO_MAX_BYTES),
    ],
)
def test_svg_unknown_or_too_large_logos_are_refused(name, content):
    form = _form(program_get(), logo_upload=SimpleUploadedFile(name, content))
    assert not form.is_valid()
    assert "logo_upload" in form.errors
    assert bytes(program_get().logo) == b""


def test_the_program_admin_page_has_the_brand_fields(client, program_admin):
    client.force_login(program_admin)
    response = client.get(reverse("admin:members_program_change", args=[1]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="brand_colour"' in html and 'name="logo_upload"' in html
    assert 'name="logo_remove"' in html


# --- messages -----------------------------------------------------------------------------


def test_campaign_emails_carry_the_brand_name_and_colour():
    program = program_get()
    program.brand_colour = "#0b5d3b"
    program.save()
    html = render_to_string(
        "campaigns/email/message.html",
        {"subject": "Chào Mai", "text": "Ưu đãi", "card_url": "https://x.example/me/"},
    )
    assert "background:#0b5d3b" in html and "#b0413e" not in html
    assert program.name in html
    text = render_to_string("campaigns/email/message.txt", {"text": "Ưu đãi"})
    assert program.name in text


# --- the web app --------------------------------------------------------------------------


def test_the_manifest_names_the_programme_and_starts_at_the_card(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    body = json.loads(response.content)
    assert body["name"] == program_get().name
    assert body["start_url"] == reverse("portal:card")
    assert body["display"] == "standalone"
    assert body["theme_color"] == program_get().brand_colour
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        path = STATIC / icon["src"].removeprefix(settings.STATIC_URL)
        assert path.read_bytes().startswith(b"\x89PNG"), icon


def test_the_service_worker_is_served_from_the_root_uncached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert response["Service-Worker-Allowed"] == "/"
    script = response.content.decode()
    config = json.loads(script.split("const CONFIG = ", 1)[1].split(";\n", 1)[0])
    assert config["cardUrl"] == reverse("portal:card")
    assert config["offlineUrl"] == reverse("offline")
    # What it keeps from install on is public: no portal page among the shell files.
    assert not [url for url in config["shell"] if url.startswith("/me/")]


def test_the_offline_page_is_public_and_points_to_the_card(client, member_user):
    client.force_login(member_user)
    response = client.get("/offline/")
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("portal:card") in html
    assert member_user.member.card_number_display not in html
    assert "csrfmiddlewaretoken" not in html  # kept for days: no token in it


def test_pages_link_the_favicon_apple_touch_icon_and_manifest(client):
    html = client.get("/").content.decode()
    for link in ('rel="icon"', 'rel="apple-touch-icon"', 'rel="manifest"'):
        assert link in html
    assert (STATIC / "icons" / "favicon.svg").exists()
    assert (STATIC / "icons" / "apple-touch-icon.png").read_bytes().startswith(b"\x89PNG")
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith(".png")


def test_logout_clears_the_sites_data(client, member_user):
    client.force_login(member_user)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert "Clear-Site-Data" not in client.get("/").headers


def test_the_header_names_the_programme_in_the_members_language(client):
    program = program_get()
    program.name, program.name_en = "Thẻ Sen Hồng", "Pink Lotus Card"
    program.save()
    assert "Thẻ Sen Hồng" in client.get("/accounts/login/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/accounts/login/").content.decode()
    assert '<span class="brand-name">Pink Lotus Card</span>' in html
    assert json.loads(client.get("/manifest.webmanifest").content)["name"] == "Pink Lotus Card"


def test_staff_upload_a_logo_through_the_admin_page(client, program_admin):
    client.force_login(program_admin)
    url = reverse("admin:members_program_change", args=[1])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if name not in ("logo_upload",)}
    data = {k: v for k, v in data.items() if v is not None and v is not False}
    data |= {"brand_colour": "#0b5d3b", "logo_upload": SimpleUploadedFile("l.png", tiny_png())}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    program = program_get()
    assert (program.brand_colour, bytes(program.logo)) == ("#0b5d3b", tiny_png())
    assert '<img src="/brand/logo?v=' in client.get(url).content.decode()  # the preview
