"""What the kernel holds for the server's side of loopback TCP connections."""

from __future__ import annotations


def server_send_queue(server_port: int, client_ports: set[int]) -> dict[int, int]:
    """Per client port: bytes the kernel holds for the server's side of the connection
    (sent or not, not yet acknowledged: /proc/net/tcp `tx_queue`), i.e. what daphne
    handed over and the client has not taken. Neither in daphne's RSS nor in Twisted's
    write buffer. A port missing from the result has no connection any more."""
    queues: dict[int, int] = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, tx_rx, state = fields[1], fields[2], fields[4], fields[3]
            if int(local.split(":")[1], 16) != server_port or state != "01":  # ESTABLISHED
                continue
            port = int(remote.split(":")[1], 16)
            if port in client_ports:
                queues[port] = int(tx_rx.split(":")[0], 16)
    return queues
