"""A UDP sender for the namespace labs, run in a namespace by LldpLab.traffic():

    python lab_traffic.py ADDRESS RATE SECONDS OCTETS

sends 60000-octet datagrams to ADDRESS (port 9, discard: nobody need listen; the peer's
port-unreachable answers are rate limited by its kernel and ignored here) at RATE bit/s
of payload (0: as fast as it goes), for SECONDS at most and OCTETS of payload at most
(0: no limit), and prints the octets sent. A datagram that cannot go (its port deleted
meanwhile) is skipped, the pace kept, so traffic resumes as soon as the port is back.
"""

import socket
import sys
import time

DATAGRAM = 60_000


def send(address: str, rate: float, seconds: float, octets: int) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = bytes(DATAGRAM)
    start = time.monotonic()
    end = start + seconds
    sent = 0  # what went out
    paced = 0  # what the pace has passed, sent or not
    while (not octets or sent < octets) and time.monotonic() < end:
        if rate:
            ahead = start + paced * 8 / rate - time.monotonic()
            if ahead > 0:
                time.sleep(max(0.0, min(ahead, end - time.monotonic())))
                continue
        paced += DATAGRAM
        try:
            sock.sendto(payload, (address, 9))
            sent += DATAGRAM
        except OSError:
            pass
    return sent


if __name__ == "__main__":
    print(send(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
