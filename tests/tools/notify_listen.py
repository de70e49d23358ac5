#!/usr/bin/env python3
"""notify_listen.py SOCKET LOG: a stand-in for systemd's NOTIFY_SOCKET.
Appends every datagram (sd_notify's KEY=VALUE lines) to LOG, one
message per line with newlines shown as '|'."""
import os
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode("ascii", "replace")
        f.write(msg.replace("\n", "|") + "\n")
