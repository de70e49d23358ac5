"""mtls_server.py - the HTTPS server the fake CAs run: TLS 1.2 or later,
a client certificate from the given CA required (or, with
client_cert="optional", verified when offered), a thread per request."""
import socket
import ssl
from http.server import ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    """Headers and body leave in two writes: without TCP_NODELAY the body
    waits for the client's delayed ACK (40 ms on Linux) on every answer."""

    def get_request(self):
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


def serve(handler, port, cert, key, client_ca, client_cert="required",
          bind="127.0.0.1"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(client_ca)
    if client_cert == "required":
        ctx.verify_mode = ssl.CERT_REQUIRED
    elif client_cert == "optional":
        ctx.verify_mode = ssl.CERT_OPTIONAL
    else:
        raise ValueError("client_cert must be 'required' or 'optional'")
    # Many clients at once (100 orders): a deeper accept queue than 5.
    Server.request_queue_size = 128
    srv = Server((bind, port), handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    srv.serve_forever()
