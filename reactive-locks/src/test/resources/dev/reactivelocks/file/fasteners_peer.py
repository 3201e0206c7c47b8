"""A Python peer that locks like oslo.concurrency's external locks, through fasteners.

usage: fasteners_peer.py <lock_dir> <prefix> <name> <EXCLUSIVE|SHARED> <try|hold>

The lock file path is oslo.concurrency's lockutils._get_lock_path(name, prefix, lock_dir): os.sep in the
name becomes '_', then prefix + '-' + name ('-' only when the prefix does not end with one).
EXCLUSIVE uses fasteners.InterProcessLock (what lockutils.external_lock returns); SHARED uses the read
lock of fasteners.InterProcessReaderWriterLock.
  try:  one non-blocking attempt; prints LOCKED or BUSY, exits 0.
  hold: waits for the lock; prints LOCKED, holds it until stdin reaches EOF, releases, prints RELEASED.
"""
import os
import sys

import fasteners


def get_lock_path(name, lock_file_prefix, lock_path):
    name = name.replace(os.sep, '_')
    if lock_file_prefix:
        sep = '' if lock_file_prefix.endswith('-') else '-'
        name = '%s%s%s' % (lock_file_prefix, sep, name)
    return os.path.join(lock_path, name)


lock_dir, prefix, name, mode, action = sys.argv[1:6]
path = get_lock_path(name, prefix, lock_dir)
if mode == "EXCLUSIVE":
    lock = fasteners.InterProcessLock(path)
    acquire, release = lock.acquire, lock.release
else:
    lock = fasteners.InterProcessReaderWriterLock(path)
    acquire, release = lock.acquire_read_lock, lock.release_read_lock

if action == "try":
    print("LOCKED" if acquire(blocking=False) else "BUSY", flush=True)
else:
    acquire(blocking=True, delay=0.005, max_delay=0.05)
    print("LOCKED", flush=True)
    sys.stdin.read()
    release()
    print("RELEASED", flush=True)
