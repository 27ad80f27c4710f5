import Glibc
import Synchronization

/// A UDP socket bound to a port of the media range, not yet handed to an event loop. Binding
/// synchronously lets the signalling plane write the port into SDP at once; the socket is then
/// registered with SwiftNIO (`DatagramBootstrap.withBoundSocket`), and packets that arrive in
/// between wait in the kernel's buffer.
public struct BoundMediaSocket: Sendable {
    public var descriptor: CInt
    public var port: Int
}

/// Why no media socket could be had.
public enum MediaPortError: Error, Hashable, Sendable {
    /// Every port of the range is in use.
    case exhausted
    case invalidAddress(String)
    case socket(errno: CInt)
}

/// The media port range (`--rtp-ports`): hands out ports round-robin, binding each one before
/// it is handed out, so ports held by other programs are skipped. Used once per call set-up and
/// tear-down (a control path), so a mutex guards it.
public final class MediaPortPool: Sendable {
    public let range: ClosedRange<Int>
    public let host: String
    private struct State {
        var next: Int
        var inUse: Set<Int> = []
    }
    private let state: Mutex<State>

    public init(range: ClosedRange<Int>, host: String) {
        self.range = range
        self.host = host
        self.state = Mutex(State(next: range.lowerBound))
    }

    public var available: Int { range.count - state.withLock { $0.inUse.count } }

    public func bind(pair: Bool = false) throws(MediaPortError) -> (socket: BoundMediaSocket, companion: BoundMediaSocket?) {
        try state.withLock { state throws(MediaPortError) in try Self.bind(pair: pair, state: &state, range: range, host: host) }
    }

    /// A bound socket on a free port. With `pair`, an even port whose successor is bound too
    /// (RTP and RTCP without multiplexing); the second socket is returned as `companion`.
    private static func bind(
        pair: Bool, state: inout State, range: ClosedRange<Int>, host: String
    ) throws(MediaPortError) -> (socket: BoundMediaSocket, companion: BoundMediaSocket?) {
        var next = state.next
        defer { state.next = next }
        var attempts = 0
        while attempts < range.count {
            var port = next
            if pair, port % 2 == 1 { port += 1 }
            if port > range.upperBound || (pair && port + 1 > range.upperBound) {
                next = range.lowerBound
                attempts += 1
                continue
            }
            next = port + (pair ? 2 : 1)
            if next > range.upperBound { next = range.lowerBound }
            attempts += pair ? 2 : 1
            guard !state.inUse.contains(port), !(pair && state.inUse.contains(port + 1)) else { continue }
            guard let first = try Self.bindUDP(host: host, port: port) else { continue }
            var companion: BoundMediaSocket?
            if pair {
                guard let second = try Self.bindUDP(host: host, port: port + 1) else {
                    close(first)
                    continue
                }
                companion = BoundMediaSocket(descriptor: second, port: port + 1)
                state.inUse.insert(port + 1)
            }
            state.inUse.insert(port)
            return (BoundMediaSocket(descriptor: first, port: port), companion)
        }
        throw .exhausted
    }

    /// Gives a port back once its channel has closed.
    public func release(_ port: Int) {
        _ = state.withLock { $0.inUse.remove(port) }
    }

    /// A UDP socket bound to `host:port`, or nil when the port is taken.
    static func bindUDP(host: String, port: Int) throws(MediaPortError) -> CInt? {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: CInt
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
        } else {
            throw .invalidAddress(host)
        }
        let descriptor = socket(family, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .socket(errno: errno) }
        let result: CInt =
            if family == AF_INET {
                withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            } else {
                withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            }
        guard result == 0 else {
            let error = errno
            close(descriptor)
            if error == EADDRINUSE || error == EACCES { return nil }
            throw .socket(errno: error)
        }
        return descriptor
    }
}

/// `close(2)`, under a name that does not clash with the methods called `close`.
func systemClose(_ descriptor: CInt) -> CInt {
    Glibc.close(descriptor)
}
