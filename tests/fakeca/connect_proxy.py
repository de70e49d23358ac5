#!/usr/bin/env python3
"""connect_proxy.py PORT LOG - a minimal HTTP CONNECT proxy for tests:
it tunnels to 127.0.0.1 only and appends "CONNECT host:port" to LOG for
each tunnel it opens. Standard library only."""
import socket
import sys
import threading


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def handle(c, log):
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 8192:
        chunk = c.recv(4096)
        if not chunk:
            return c.close()
        head += chunk
    line = head.split(b"\r\n", 1)[0].decode("ascii", "replace")
    parts = line.split()
    if len(parts) != 3 or parts[0] != "CONNECT":
        c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
        return c.close()
    host, port = parts[1].rsplit(":", 1)
    with open(log, "a") as f:
        f.write("CONNECT %s:%s\n" % (host, port))
    u = socket.create_connection(("127.0.0.1", int(port)))
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    pipe(u, c)


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(128)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c, log), daemon=True).start()


if __name__ == "__main__":
    main()
