import CMediaRelaySystem
import Glibc
import Synchronization

/// The bare UDP echo of the bound: one thread, level-triggered epoll over the same number of
/// sockets as the relay uses for traffic, and per ready socket one `recvmmsg` of up to 16
/// datagrams and one `sendmmsg` sending each back to where it came from. Nothing is parsed,
/// copied or allocated: the least a process can do to move the relay's packets through its
/// sockets.
final class UDPEcho: @unchecked Sendable {
    static let batch = 16
    private let epoll: CInt
    private let tid = Atomic<Int32>(0)
    private let echoedCount = Atomic<Int>(0)

    /// Datagrams sent back so far.
    var echoed: Int { echoedCount.load(ordering: .relaxed) }

    init() {
        epoll = cmr_epoll_create()
        guard epoll >= 0 else { fail("epoll_create1: errno \(errno)") }
    }

    /// Starts the echo thread; returns its thread id.
    func start() -> Int32 {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self)
        let status = pthread_create(&thread, nil, { argument in
            let echo = Unmanaged<UDPEcho>.fromOpaque(argument!).takeRetainedValue()
            echo.run()
            return nil
        }, box.toOpaque())
        guard status == 0 else { fail("pthread_create: \(status)") }
        while tid.load(ordering: .acquiring) == 0 { usleep(1000) }
        return tid.load(ordering: .acquiring)
    }

    /// A new echo socket on a free loopback port; returns the port.
    func add() -> UInt16 {
        // The relay's media sockets use a 1 MiB receive buffer; so do these.
        let (descriptor, port) = bindLoopbackUDP(buffer: 1 << 20)
        guard cmr_epoll_add(epoll, descriptor) == 0 else { fail("epoll_ctl: errno \(errno)") }
        return port
    }

    private func run() {
        tid.store(currentThreadID(), ordering: .releasing)
        let ready = UnsafeMutablePointer<CInt>.allocate(capacity: 256)
        let batch = DatagramBatch(capacity: Self.batch, slotSize: 2048)
        while true {
            let count = cmr_epoll_wait(epoll, ready, 256, -1)
            guard count >= 0 else { fail("epoll_wait: errno \(errno)") }
            for index in 0..<Int(count) {
                let descriptor = ready[index]
                let received = batch.receive(from: descriptor)
                // Each datagram goes back to its source with the length it came with.
                if received > 0 {
                    batch.echo(on: descriptor, count: received)
                    echoedCount.add(received, ordering: .relaxed)
                }
            }
        }
    }
}
