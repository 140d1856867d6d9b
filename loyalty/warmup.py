"""Work a server process does at boot so that its first request is not its slowest."""

import logging

logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Import the URLconf (every view module with it) and the templates' engines.

    Failures are logged and ignored: the request that needs the module will raise the
    same error where it can be seen, and a broken optional page must not stop the boot.
    """
    from django.template import engines
    from django.urls import get_resolver

    try:
        resolver = get_resolver()
        resolver.url_patterns  # noqa: B018 (the import is the point)
        resolver.reverse_dict  # noqa: B018 (reverse() tables, built once per process)
        engines.all()  # each engine with its loaders and template libraries
    except Exception:  # pragma: no cover - logged, the request path re-raises it
        logger.exception("warm-up at boot failed")
