"""The binding from several Python threads at once, as a Jupyter server uses it: handlers read
snapshots, the event loop tracks kernels, an executor thread changes carbon settings, and the
server's shutdown closes the engine while any of them may be inside a call.

close() must wait for calls in progress and later calls must raise ValueError("engine is closed"):
a freed engine is never used. The sampler thread logs through a Python callable that another
thread may replace meanwhile. .ci/run also runs this file under ThreadSanitizer (the binding built
with -fsanitize=thread), where any data race fails the run.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

jpu = pytest.importorskip("jpu", reason="pip install . first")
_jpu = pytest.importorskip("jpu._jpu")

# Sanitizer builds run several times slower: keep the loops bounded in time, not in count.
RUN_S = float(os.environ.get("JPU_THREADS_TEST_SECONDS", "0.6"))


def test_close_waits_for_a_call_in_progress():
    eng = jpu.Engine(interval=0.05)
    ended: list[float] = []
    results: list[object] = []

    def waiter() -> None:
        # no sample comes (not started): the call lasts its whole timeout
        results.append(eng.wait(10**9, timeout=0.5))
        ended.append(time.monotonic())

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.1)  # inside jpu_engine_wait by now
    eng.close()
    closed = time.monotonic()
    assert ended, "close() returned while wait() was still using the engine"
    assert ended[0] <= closed
    t.join()
    assert results == [None]
    with pytest.raises(ValueError, match="engine is closed"):
        eng.wait(0, timeout=0.1)
    eng.close()  # idempotent


def test_calls_from_many_threads_while_another_closes():
    eng = jpu.Engine(interval=0.01, history=64)
    eng.start()
    pid = os.getpid()
    errors: list[BaseException] = []
    ended_closed: list[int] = []
    counts = [0] * 6

    def worker(i: int) -> None:
        tag = f"kernel-{i}"
        seq = 0
        try:
            while True:
                snap = eng.snapshot()
                assert snap is None or snap["scope"] == "system"
                eng.track(pid, tag)
                assert any(t["tag"] == tag for t in eng.tracked())
                assert "samples" in eng.history()
                seq = eng.wait(seq, timeout=0.02) or seq
                eng.prometheus()
                eng.untrack(tag)
                counts[i] += 1
        except ValueError as exc:
            if "engine is closed" in str(exc):
                ended_closed.append(i)
            else:
                errors.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(counts))]
    for t in threads:
        t.start()
    time.sleep(RUN_S)
    # two closers at once: both return once the engine is freed
    closers = [threading.Thread(target=eng.close) for _ in range(2)]
    for t in closers:
        t.start()
    for t in closers + threads:
        t.join(timeout=30)
        assert not t.is_alive()
    assert errors == []
    assert sorted(ended_closed) == list(range(len(counts)))
    assert all(n > 0 for n in counts), counts
    for call in (eng.snapshot, eng.tracked, eng.history, eng.prometheus, eng.sample):
        with pytest.raises(ValueError, match="engine is closed"):
            call()
    with pytest.raises(ValueError, match="engine is closed"):
        eng.track(pid, "late")


def test_log_callable_replaced_while_the_sampler_logs(tmp_path):
    # a state file whose folder goes away once the engine holds it: the sampler logs a warning
    # at every tick, when its save fails
    folder = tmp_path / "state-dir"
    folder.mkdir()
    state = folder / "state"
    seen: list[str] = []
    lock = threading.Lock()

    def keep(level: int, message: str) -> None:
        with lock:
            seen.append(message)

    eng = jpu.Engine(interval=0.01, state_file=state)
    shutil.rmtree(folder)
    eng.start()
    try:
        end = time.monotonic() + RUN_S
        while time.monotonic() < end:
            # a fresh callable each time: the previous one may be freed at once
            _jpu.set_log(lambda level, message: keep(level, message))
            _jpu.set_log(None)
            _jpu.set_log(keep)
            time.sleep(0.001)
    finally:
        eng.close()
        _jpu.set_log(jpu._forward_log)
    assert any("state file" in m for m in seen)
