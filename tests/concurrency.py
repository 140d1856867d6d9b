"""Real concurrency for the PostgreSQL tests: threads, each with its own connection,
released together by a barrier."""

from __future__ import annotations

import threading
import traceback

from django.db import connection

from loyalty.errors import DomainError


def run_together(count: int, work) -> list[tuple[str, object]]:
    """Run ``work(i)`` in ``count`` threads started at the same moment. Each result is
    ("ok", value) or ("refused", the DomainError); a thread that crashed or hung fails the
    test here, with its traceback."""
    barrier = threading.Barrier(count, timeout=60)
    results: list[tuple[str, object] | None] = [None] * count

    def runner(i: int):
        try:
            barrier.wait()
            results[i] = ("ok", work(i))
        except DomainError as exc:
            results[i] = ("refused", exc)
        except BaseException as exc:  # reported by the assertion below, not lost in a thread
            results[i] = ("crashed", "".join(traceback.format_exception(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    crashed = [result for result in results if result is None or result[0] == "crashed"]
    assert crashed == []
    return results  # type: ignore[return-value]
