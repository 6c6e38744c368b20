"""What executor.py (run by the agent, standard library only) and framework.py share of Mesos'
v1 HTTP APIs: the RecordIO framing of the SUBSCRIBE event streams, and the terminal task states."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# TaskState values after which a task never changes again (include/mesos/v1/mesos.proto).
TERMINAL_STATES = frozenset(
    {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE"}
)


def records(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The records in a RecordIO stream of byte chunks, as they complete; ends with the stream.
    Each record is its length in decimal, a newline, then that many bytes (of JSON here)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while True:
            header, newline, rest = buffer.partition(b"\n")
            if not newline:
                break
            length = int(header)
            if len(rest) < length:
                break
            yield rest[:length]
            buffer = rest[length:]
