"""moto's routes are built one thread at a time (CPython 3.11 fails on concurrent AST building)."""

from __future__ import annotations

import threading

from werkzeug.routing import Map, Rule

from noticedesk.demo.moto_routes import ROUTE_LOCK, build_routes_one_at_a_time


def build_in_thread(done: threading.Event) -> threading.Thread:
    def build() -> None:
        Map([Rule("/<path:name>")])
        done.set()

    thread = threading.Thread(target=build)
    thread.start()
    return thread


def test_a_route_waits_while_another_thread_builds_one() -> None:
    build_routes_one_at_a_time()
    build_routes_one_at_a_time()  # a second call wraps nothing twice
    done = threading.Event()
    with ROUTE_LOCK:
        thread = build_in_thread(done)
        assert not done.wait(0.3), "a rule was compiled while another thread held the route lock"
    assert done.wait(10)
    thread.join()


def test_routes_built_in_many_threads_at_once_all_work() -> None:
    build_routes_one_at_a_time()
    events = [threading.Event() for _ in range(16)]
    threads = [build_in_thread(event) for event in events]
    for thread in threads:
        thread.join()
    assert all(event.is_set() for event in events)
