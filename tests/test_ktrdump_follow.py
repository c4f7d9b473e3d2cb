"""Following a growing trace (ktrdump -l): new batches show up promptly; stop, pipes, truncation."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ktrdump_support import (
    END_ENTRY,
    encode_entries,
    file_header,
    output_lines,
    syscall_batch,
)

import formats
import ktrdump
from ktrdump._follow import FollowEnded, FollowOptions, follow
from ktrdump.errors import InputError

#: Generous bound for "shows up promptly" on a loaded machine; the goal is 100 ms.
DEADLINE = 5.0


def batch(count: int, pid: int = 4242, first_ns: int = 0) -> bytes:
    return formats.batch_framing().encode(encode_entries(syscall_batch(count, pid),
                                                         first_ns=first_ns or 10**18))


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as out:
        out.write(data)


class Consumer:
    """Iterates a follower in a thread; events land in a queue the test awaits."""

    def __init__(self, source: Path | str, poll: float = 0.01) -> None:
        self.follower = follow(source, FollowOptions(poll_interval=poll))
        self.events: queue.Queue[object] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.follower.events():
                self.events.put(event)
        except BaseException as error:  # handed to the test
            self.error = error
        finally:
            self.events.put(None)  # the end

    def next(self) -> object:
        return self.events.get(timeout=DEADLINE)

    def finish(self) -> None:
        self.follower.stop()
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive()
        self.follower.close()


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "live.ktr"
    path.write_bytes(file_header() + batch(6))
    return path


def test_appended_batches_show_up_promptly(trace: Path) -> None:
    consumer = Consumer(trace)
    try:
        first = consumer.next()
        assert isinstance(first, list) and len(first) == 6
        for count in (3, 5, 1):
            written = time.monotonic()
            append(trace, batch(count, pid=77))
            event = consumer.next()
            latency = time.monotonic() - written
            assert isinstance(event, list) and [r.pid for r in event] == [77] * count
            assert latency < DEADLINE
        assert consumer.follower.header is not None
        assert consumer.follower.header.hostname == "test-host"
        assert consumer.follower.reader is not None and consumer.follower.reader.live
    finally:
        consumer.finish()
    assert consumer.next() is None  # stop() ended the iteration without a notice
    assert consumer.error is None


def test_a_torn_tail_is_waited_for_not_reported(trace: Path) -> None:
    consumer = Consumer(trace)
    try:
        assert isinstance(consumer.next(), list)
        whole = batch(4, pid=9)
        append(trace, whole[:30])  # inside the batch header
        append(trace, whole[30:70])  # inside the records
        append(trace, whole[70:])
        event = consumer.next()
        assert isinstance(event, list) and len(event) == 4
    finally:
        consumer.finish()
    assert consumer.next() is None
    assert consumer.follower.reader is not None and consumer.follower.reader.notices == []


def test_an_empty_file_is_waited_on_until_its_header_arrives(tmp_path: Path) -> None:
    path = tmp_path / "new.ktr"
    path.write_bytes(b"")
    consumer = Consumer(path)
    try:
        append(path, file_header()[:10])
        append(path, file_header()[10:] + batch(2))
        event = consumer.next()
        assert isinstance(event, list) and len(event) == 2
    finally:
        consumer.finish()


def test_stop_while_waiting_for_the_header(tmp_path: Path) -> None:
    path = tmp_path / "never.ktr"
    path.write_bytes(b"")
    consumer = Consumer(path)
    consumer.finish()
    assert consumer.next() is None and consumer.error is None
    assert consumer.follower.header is None


def test_truncation_ends_following_with_one_notice(trace: Path) -> None:
    consumer = Consumer(trace)
    try:
        assert isinstance(consumer.next(), list)
        os.truncate(trace, 10)
        ended = consumer.next()
        assert ended == FollowEnded(str(trace), "file truncated")
        assert isinstance(ended, FollowEnded)
        assert ended.describe() == f"{trace}: file truncated; stopped following"
        assert consumer.next() is None
    finally:
        consumer.finish()


def test_replacement_ends_following(trace: Path, tmp_path: Path) -> None:
    consumer = Consumer(trace)
    try:
        assert isinstance(consumer.next(), list)
        other = tmp_path / "other.ktr"
        other.write_bytes(file_header() + batch(2))
        os.replace(other, trace)
        assert consumer.next() == FollowEnded(str(trace), "file replaced")
        assert consumer.next() is None
    finally:
        consumer.finish()


def test_an_unlinked_file_is_still_followed(trace: Path) -> None:
    consumer = Consumer(trace)
    try:
        assert isinstance(consumer.next(), list)
        with open(trace, "ab") as out:
            trace.unlink()
            out.write(batch(3, pid=5))
        event = consumer.next()
        assert isinstance(event, list) and event[0].pid == 5
    finally:
        consumer.finish()


def test_a_pipe_ends_at_end_of_input(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as out:
            out.write(file_header() + batch(2))
            out.flush()
            out.write(batch(3))

    thread = threading.Thread(target=writer)
    thread.start()
    consumer = Consumer(fifo)
    try:
        sizes = []
        while (event := consumer.next()) is not None:
            assert isinstance(event, list)
            sizes.append(len(event))
        assert sizes == [2, 3]
        assert consumer.error is None
    finally:
        thread.join(DEADLINE)
        consumer.finish()


def test_the_end_record_ends_following(tmp_path: Path) -> None:
    """Once the recording's END is read and nothing follows, the input ends, as a pipe's."""
    path = tmp_path / "recording.ktr"
    path.write_bytes(file_header(end_record=True) + batch(3))
    end = formats.batch_framing().encode(encode_entries([END_ENTRY], first_ns=2 * 10**18))
    consumer = Consumer(path)
    try:
        assert isinstance(consumer.next(), list)
        append(path, batch(2) + end)
        events = []
        while (event := consumer.next()) is not None:
            events.append(event)
        assert [len(e) for e in events if isinstance(e, list)] == [2, 1]  # at once or apart
        assert consumer.error is None
        assert consumer.follower.reader is not None
        assert consumer.follower.reader.notices == []
    finally:
        consumer.finish()


def test_a_pipe_that_ends_without_the_promised_end_record_says_so(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, file_header(end_record=True) + batch(2))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream, ktrdump.open(stream) as reader:
        events = list(reader.events())
    assert isinstance(events[0], list)
    notice = events[-1]
    assert isinstance(notice, ktrdump.CutShort) and isinstance(notice, ktrdump.Skipped)
    assert notice.batches == 0 and reader.skipped_batches == 0
    assert notice.describe().startswith("no END record at byte offset ")


def test_stop_works_on_an_idle_pipe(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    fifo = f"/proc/self/fd/{read_end}"
    os.write(write_end, file_header() + batch(1))
    consumer = Consumer(fifo)
    try:
        assert isinstance(consumer.next(), list)
    finally:
        consumer.finish()  # the writer never closed: only stop() ends it
        os.close(write_end)
        os.close(read_end)
    assert consumer.next() is None


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No such file"):
        follow(tmp_path / "missing.ktr")


def test_not_a_trace_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "text"
    path.write_bytes(b"hello, world, not a trace at all")
    consumer = Consumer(path)
    assert consumer.next() is None
    consumer.finish()
    assert isinstance(consumer.error, ktrdump.TraceFormatError)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        FollowOptions(poll_interval=0)


# ---------------------------------------------------------------------------
# A driver process, as ktrdump -l will run: lines appear as batches are appended,
# Ctrl-C ends it quietly with status 0.

DRIVER = textwrap.dedent("""
    import sys
    from ktrdump._follow import follow
    follower = follow(sys.argv[1])
    with follower, follower.stop_on_sigint():
        print("following", flush=True)
        for event in follower.events():
            if isinstance(event, list):
                for record in event:
                    print(record.pid, record.kind, flush=True)
            else:
                print("notice", event, flush=True)
    print("stopped", flush=True)
""")


def _lines(process: subprocess.Popen[bytes]) -> Iterator[str]:
    return output_lines(process, DEADLINE)


def test_driver_process_shows_appended_records_and_stops_on_sigint(trace: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", DRIVER, str(trace)], bufsize=0,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = _lines(process)
        assert next(lines) == "following"
        first_batch = [next(lines) for _ in range(6)]
        assert first_batch[0] == f"4242 {int(formats.RecordKind.SYSCALL)}"
        append(trace, batch(2, pid=31337))
        assert [next(lines).split()[0] for _ in range(2)] == ["31337", "31337"]
        process.send_signal(signal.SIGINT)
        assert next(lines) == "stopped"
        assert process.wait(DEADLINE) == 0
        assert process.stderr is not None and process.stderr.read() == b""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_followed_events_feed_the_summary_and_chrome_stages(tmp_path: Path) -> None:
    import io
    import json

    from ktrdump._chrome import write_chrome
    from ktrdump._reader import RawBatch
    from ktrdump._summary import summarize

    def cut_after_first_batch(path: Path, raw: bool) -> Iterator[object]:
        with follow(path, FollowOptions(poll_interval=0.01)) as follower:
            for event in (follower.raw_events() if raw else follower.events()):
                yield event
                if isinstance(event, RawBatch | list):
                    os.truncate(path, 10)  # ends following with a notice

    path = tmp_path / "cut.ktr"
    path.write_bytes(file_header() + batch(6))
    seen: list[object] = []
    summary = summarize(cut_after_first_batch(path, raw=True),  # type: ignore[arg-type]
                        on_notice=seen.append)
    assert summary.records == 6 and sum(row.calls for row in summary.rows()) == 2
    assert seen == [FollowEnded(str(path), "file truncated")]

    path.write_bytes(file_header() + batch(6))
    seen.clear()
    out = io.StringIO()
    write_chrome(cut_after_first_batch(path, raw=False), out,  # type: ignore[arg-type]
                 on_notice=seen.append)
    assert sum(1 for e in json.loads(out.getvalue())["traceEvents"] if e["ph"] == "X") == 2
    assert seen == [FollowEnded(str(path), "file truncated")]
