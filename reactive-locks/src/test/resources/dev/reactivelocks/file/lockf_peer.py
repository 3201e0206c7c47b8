"""A Python peer for the file lock interop test: locks like oslo.concurrency / fasteners do.

usage: lockf_peer.py <lock_dir> <prefix> <name> <EXCLUSIVE|SHARED> <try|hold>

The lock file path is computed as oslo.concurrency does for lock(name, lock_file_prefix=prefix,
external=True, lock_path=lock_dir): lock_dir/prefix-name with os.sep replaced by '_' in name.
  try:  one non-blocking fcntl.lockf attempt; prints LOCKED or BUSY, exits 0.
  hold: blocking fcntl.lockf; prints LOCKED, holds until stdin reaches EOF, unlocks, prints RELEASED.
"""
import fcntl
import os
import sys

lock_dir, prefix, name, mode, action = sys.argv[1:6]
path = os.path.join(lock_dir, "%s-%s" % (prefix, name.replace(os.sep, "_")))
op = fcntl.LOCK_EX if mode == "EXCLUSIVE" else fcntl.LOCK_SH
with open(path, "a+") as f:
    if action == "try":
        try:
            fcntl.lockf(f, op | fcntl.LOCK_NB)
            print("LOCKED", flush=True)
        except OSError:
            print("BUSY", flush=True)
    else:
        fcntl.lockf(f, op)
        print("LOCKED", flush=True)
        sys.stdin.read()
        fcntl.lockf(f, fcntl.LOCK_UN)
        print("RELEASED", flush=True)
