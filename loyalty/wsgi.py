import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

application = get_wsgi_application()

# Boot the rest before the first request: Django imports the URLconf (and with it every
# view, serializer and form module) lazily on the first request, which made that request
# pay ~0.5 s of imports. A server worker imports this module before accepting connections.
from loyalty.warmup import warm_up  # noqa: E402

warm_up()
