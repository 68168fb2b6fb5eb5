import concurrent.futures
import threading
import time

import pytest

from smalllsp.engine.worker import Cancelled, Worker


def token_loop(started: threading.Event, steps: int = 1000):
    def job(cancelled):
        started.set()
        for _ in range(steps):
            if cancelled():
                raise Cancelled("stopped between tokens")
            time.sleep(0.002)
        return "done"

    return job


def test_a_newer_job_for_the_same_key_stops_the_running_one():
    worker = Worker()
    started = threading.Event()
    first = worker.submit("doc", token_loop(started))
    assert started.wait(2)
    second = worker.submit("doc", lambda cancelled: "second")
    with pytest.raises(Cancelled):
        first.result(2)
    assert second.result(2) == "second"
    assert worker.stopped_while_running == 1
    worker.stop()


def test_waiting_jobs_are_replaced_not_queued():
    worker = Worker()
    started = threading.Event()
    blocker = worker.submit("other", token_loop(started, steps=50))
    assert started.wait(2)
    waiting = [worker.submit("doc", lambda cancelled, i=i: i) for i in range(100)]
    assert worker.pending == 1
    for future in waiting[:-1]:
        with pytest.raises(Cancelled):
            future.result(2)
    assert waiting[-1].result(5) == 99
    assert blocker.result(5) == "done"  # other keys are not touched
    assert worker.pending == 0
    worker.stop()


def test_cancel_stops_a_running_job():
    worker = Worker()
    started = threading.Event()
    future = worker.submit("doc", token_loop(started))
    assert started.wait(2)
    worker.cancel(future)
    with pytest.raises(Cancelled):
        future.result(2)
    worker.stop()


def test_a_future_cancelled_by_its_caller_leaves_nothing_behind():
    worker = Worker()
    started = threading.Event()
    worker.submit("busy", token_loop(started, steps=20))
    assert started.wait(2)
    future = worker.submit("doc", lambda cancelled: "never")
    assert future.cancel()
    assert worker.pending == 0
    worker.stop()


def test_an_exception_in_a_job_fails_that_job_only():
    worker = Worker()

    def boom(cancelled):
        raise RuntimeError("model thread failed")

    with pytest.raises(RuntimeError, match="model thread failed"):
        worker.submit("doc", boom).result(2)
    assert worker.submit("doc", lambda cancelled: 42).result(2) == 42
    worker.stop()


def test_stop_fails_waiting_jobs_and_ends_the_thread():
    worker = Worker()
    started = threading.Event()
    running = worker.submit("a", token_loop(started))
    assert started.wait(2)
    waiting = worker.submit("b", lambda cancelled: 1)
    worker.stop()
    for future in (running, waiting):
        with pytest.raises((Cancelled, concurrent.futures.CancelledError)):
            future.result(2)
    assert not worker._thread.is_alive()
    with pytest.raises(RuntimeError):
        worker.submit("c", lambda cancelled: 1)


def test_a_background_job_gives_way_to_any_request():
    worker = Worker()
    started = threading.Event()
    warm = worker.submit("a.py", token_loop(started), background=True)
    assert started.wait(2)
    request = worker.submit("b.py", lambda cancelled: "answer")  # another document
    with pytest.raises(Cancelled):
        warm.result(2)
    assert request.result(2) == "answer"
    worker.stop()


def test_a_background_job_never_replaces_a_waiting_request():
    worker = Worker()
    started = threading.Event()
    blocker = worker.submit("other", token_loop(started, steps=30))
    assert started.wait(2)
    request = worker.submit("a.py", lambda cancelled: "answer")
    warm = worker.submit("a.py", lambda cancelled: "warm", background=True)
    with pytest.raises(Cancelled):
        warm.result(2)
    assert request.result(5) == "answer" and blocker.result(5) == "done"
    worker.stop()


def test_waiting_background_jobs_are_dropped_for_a_request():
    worker = Worker()
    started = threading.Event()
    blocker = worker.submit("other", token_loop(started, steps=30))
    assert started.wait(2)
    warm = worker.submit("a.py", lambda cancelled: "warm", background=True)
    request = worker.submit("b.py", lambda cancelled: "answer")
    with pytest.raises(Cancelled):
        warm.result(2)
    assert request.result(5) == "answer" and blocker.result(5) == "done"
    worker.stop()


def test_a_newer_background_job_for_a_key_replaces_the_waiting_one():
    """The warm-up at the cursor after a cold hint must not be refused because the
    document's opening asked for one at its end (the next keystroke found it cold)."""
    worker = Worker()
    started = threading.Event()
    blocker = worker.submit("a.py", token_loop(started, steps=30))  # the cold hint, running
    assert started.wait(2)
    at_open = worker.submit("a.py", lambda cancelled: "end of file", background=True)
    at_cursor = worker.submit("a.py", lambda cancelled: "cursor", background=True)
    with pytest.raises(Cancelled, match="newer warm-up"):
        at_open.result(2)
    assert at_cursor.result(5) == "cursor" and blocker.result(5) == "done"
    worker.stop()


def test_a_newer_background_job_for_a_key_stops_the_running_one():
    worker = Worker()
    started = threading.Event()
    old = worker.submit("a.py", token_loop(started), background=True)
    assert started.wait(2)
    other = worker.submit("b.py", lambda cancelled: "b", background=True)  # another key: waits
    new = worker.submit("a.py", lambda cancelled: "new", background=True)
    with pytest.raises(Cancelled):
        old.result(2)
    assert other.result(5) == "b" and new.result(5) == "new"
    worker.stop()
