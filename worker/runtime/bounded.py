"""A blocking client call with a deadline of our own, for the calls that do not keep theirs.

librdkafka's `send_offsets_to_transaction` can block far past the timeout it is given once the
group coordinator went away (a broker restart mid-transaction: confluentinc/librdkafka#5456,
#5511; measured here: still blocked after 10 minutes against a 60 s timeout, librdkafka 2.16.0). A worker stuck
there holds its partition forever, alive, with nothing in its log. The call runs on a daemon
thread instead; past the deadline the attempt fails retriable and the next attempt's new producer
(same transactional.id) fences the stuck one, so whatever it does later is refused by the broker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..contract.exit_codes import RetriableFailure


def call_within(
    call: Callable[[], None],
    seconds: float,
    what: str,
    meanwhile: Callable[[Callable[[], bool]], None] | None = None,
) -> None:
    """`call()`, re-raising what it raises; RetriableFailure if it has not returned after `seconds`.

    `meanwhile(returned)` runs on this thread while `call` runs (`returned()` says whether it has);
    what it raises is raised once `call` has returned (its own failure first).
    """
    done = threading.Event()
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread as it is
            raised.append(err)
        finally:
            done.set()

    deadline = time.monotonic() + seconds
    threading.Thread(target=run, name=what[:40], daemon=True).start()
    failed: list[BaseException] = []
    if meanwhile is not None:
        try:
            meanwhile(done.is_set)
        except BaseException as err:  # noqa: BLE001 - raised below, after the call is over
            failed.append(err)
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise RetriableFailure(
            f"{what}: no answer within {seconds:.0f}s (librdkafka blocks past its own timeout once the "
            "coordinator went away); a new producer will fence this one"
        )
    if raised:
        raise raised[0]
    if failed:
        raise failed[0]
