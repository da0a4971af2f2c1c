"""A client of jpud's socket for the tests, run as another account with
Debian's /usr/bin/python3 (stdlib only): one request, prints the status and
the body as one JSON line; with COUNT, that many requests back to back and
their statuses ({"statuses": [...]}).

    python3 jpud_client.py SOCKET METHOD URL [COUNT]
"""

import http.client
import json
import socket
import sys


class Conn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path_ = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.path_)
        self.sock = s


def main():
    sock, method, url = sys.argv[1:4]
    if len(sys.argv) > 4:
        statuses = []
        for _ in range(int(sys.argv[4])):
            c = Conn(sock)
            c.request(method, url)
            r = c.getresponse()
            r.read()
            statuses.append(r.status)
            c.close()
        print(json.dumps({"statuses": statuses}))
        return
    c = Conn(sock)
    c.request(method, url)
    r = c.getresponse()
    body = r.read().decode()
    try:
        body = json.loads(body)
    except ValueError:
        pass
    print(json.dumps({"status": r.status, "body": body}))


if __name__ == "__main__":
    main()
