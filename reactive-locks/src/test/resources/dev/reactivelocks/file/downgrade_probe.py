"""A fasteners peer that watches a lock file while a Java holder downgrades it.

usage: downgrade_probe.py <lock_file>

Commands, one per line on stdin:
  SPIN:      prints SPINNING, then tries fasteners.InterProcessLock (oslo's external lock: fcntl.lockf on the
             whole file) without blocking, again and again, until the next command line (STOP) arrives;
             prints "<attempts> <times it got the lock>".
  SHARED:    one non-blocking try of fasteners' read lock (the whole file); prints LOCKED (and releases) or BUSY.
  EXCLUSIVE: one non-blocking try of fasteners.InterProcessLock; prints LOCKED (and releases) or BUSY.
Exits at the end of stdin.
"""
import queue
import sys
import threading

import fasteners

path = sys.argv[1]
exclusive = fasteners.InterProcessLock(path)
shared = fasteners.InterProcessReaderWriterLock(path)
commands = queue.Queue()


def read_commands():
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put("EOF")


def try_once(acquire, release):
    if acquire(blocking=False):
        release()
        return "LOCKED"
    return "BUSY"


threading.Thread(target=read_commands, daemon=True).start()
while True:
    command = commands.get()
    if command == "EOF":
        break
    if command == "SPIN":
        print("SPINNING", flush=True)
        attempts = taken = 0
        while commands.empty():
            attempts += 1
            if exclusive.acquire(blocking=False):
                taken += 1
                exclusive.release()
        commands.get()
        print("%d %d" % (attempts, taken), flush=True)
    elif command == "SHARED":
        print(try_once(shared.acquire_read_lock, shared.release_read_lock), flush=True)
    elif command == "EXCLUSIVE":
        print(try_once(exclusive.acquire, exclusive.release), flush=True)
