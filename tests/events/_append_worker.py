"""Subprocess for the kill -9 test: append events one batch at a time, print an ACK line after each commit."""

from __future__ import annotations

import sys

from shelfwise.events import Event, EventStore, EventType


def main(path: str, batch: int) -> None:
    store = EventStore(path)
    i = 0
    while True:
        evs = [Event(f"u{i + j}", EventType.CLICK, float(i + j), "p1") for j in range(batch)]
        last = store.append(evs)
        print(f"ACK {last} {i} {i + batch - 1}", flush=True)
        i += batch


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
