# Helpers shared by the SIP benchmark scripts (sourced, not run).

# Prints a port free on 127.0.0.1 for both TCP and UDP.
free_port() {
    python3 - <<'EOF'
import socket
for _ in range(50):
    with socket.socket() as tcp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        print(port)
        break
EOF
}

# Waits until something has bound UDP port $1 on 127.0.0.1, read from the kernel's table (a
# probe bind would hold the port for a moment and could make that process's own bind fail).
wait_udp_bound() {
    python3 - "$1" <<'EOF'
import sys, time
wanted = {f"0100007F:{int(sys.argv[1]):04X}", f"00000000:{int(sys.argv[1]):04X}"}
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    with open("/proc/net/udp") as table:
        if any(row.split()[1] in wanted for row in list(table)[1:]):
            sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
EOF
}

# Stops process $1: TERM, up to 10 s, then KILL.
stop_pid() {
    local pid=$1
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
