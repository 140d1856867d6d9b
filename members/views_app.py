"""The portal as an installable web app, and its brand: public files every visitor's browser
fetches (no personal data in any of them).

- ``/brand/logo``: the logo staff uploaded (members.brand), from the database;
- ``/brand/theme.css``: the brand colour as CSS variables (no inline style: CSP);
- ``/manifest.webmanifest``: name, colour, icons, start at the card;
- ``/sw.js``: the service worker (templates/pwa/sw.js), from the site root so its scope is
  the whole site; it keeps the card page (``portal:card``) for offline use and nothing else
  personal;
- ``/offline/``: what the service worker shows for any other page without a connection.

Logging out clears what the browser keeps of the site (members.pwa: ``Clear-Site-Data``).
"""

from __future__ import annotations

import hashlib
import json

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import quote_etag
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from members.brand import brand_get, logo_version
from members.selectors import program_cached

ICON_SIZES = (192, 512)


@require_GET
def brand_logo(request):
    program = program_cached()
    logo = bytes(program.logo or b"")
    if not logo or not program.logo_content_type:
        raise Http404
    etag = quote_etag(logo_version(logo))
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(logo, content_type=program.logo_content_type)
    response["ETag"] = etag
    # The URL carries the logo's hash (?v=), so a cached copy is never stale for long.
    response["Cache-Control"] = "public, max-age=86400"
    # Shown as an <img> only; opened on its own it may do nothing (PNG/JPEG/WebP anyway).
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = "inline"
    return response


@require_GET
def brand_theme(request):
    colour = brand_get()["colour"]
    css = f":root {{ --brand: {colour}; --accent: {colour}; --brand-fg: #fff; }}\n"
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"  # the URL changes with the colour
    return response


@require_GET
def manifest(request):
    info = brand_get()
    icons = [
        {"src": static(f"icons/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png"}
        for size in ICON_SIZES
    ]
    icons.append(
        {
            "src": static("icons/icon-maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        }
    )
    body = {
        "name": info["name"],
        "short_name": info["name"][:12],
        "lang": get_language() or "vi",
        "start_url": reverse("portal:card"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": info["colour"],
        "icons": icons,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type="application/manifest+json"
    )
    response["Cache-Control"] = "public, max-age=3600"
    response["Vary"] = "Accept-Language, Cookie"
    return response


# What the service worker keeps from install on: public files the card and offline pages use.
SHELL_FILES = ("css/app.css", "css/shell.css", "js/app.js", "icons/favicon.svg")


@require_GET
def service_worker(request):
    info = brand_get()
    shell = [static(path) for path in SHELL_FILES] + [info["theme_url"]]
    if info["logo_url"]:
        shell.append(info["logo_url"])  # the header of the card kept offline shows it
    shell.append(reverse("offline"))
    config = {
        "cardUrl": reverse("portal:card"),
        "homeUrl": reverse("portal:home"),
        "offlineUrl": reverse("offline"),
        "shell": shell,
    }
    config["version"] = hashlib.sha256(json.dumps(config).encode()).hexdigest()[:12]
    script = render_to_string("pwa/sw.js", {"config": json.dumps(config)})
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    # The browser must always see the newest worker: never from a cache.
    response["Cache-Control"] = "no-cache, no-store, max-age=0"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on pages without a link to an icon (the admin's)."""
    # Not permanent: the icon's hashed name changes when it does.
    response = HttpResponseRedirect(static("icons/favicon-32.png"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def offline(request):
    response = render(request, "pwa/offline.html")
    response["Cache-Control"] = "public, max-age=86400"
    return response
