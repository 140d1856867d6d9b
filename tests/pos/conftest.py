from __future__ import annotations

import pytest

from pos.services import api_key_create
from tests.pos.helpers import PosClient


@pytest.fixture
def pos(client, store_key):
    """The POS API as the till of ``store`` calls it."""
    _row, raw = store_key
    return PosClient(client, raw)


@pytest.fixture
def other_pos(client, other_store):
    """The POS API as the till of ``other_store`` calls it."""
    _row, raw = api_key_create(store=other_store, label="till 1")
    return PosClient(client, raw)
