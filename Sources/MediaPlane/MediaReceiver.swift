import CSwitchboardSocket
import Glibc
import NIOCore

/// What a ``MediaReceiver`` hands the datagrams of a socket to: the media session that owns it.
protocol MediaDatagramSink: AnyObject, SendableMetatype {
    /// Which of the sink's sockets a datagram came to.
    associatedtype Socket
    /// One datagram that came to `socket` from `address`.
    func receive(_ buffer: inout ByteBuffer, from address: SocketAddress, on socket: Socket)
    /// The socket's datagrams of this turn have all been handed over: what they made the sink
    /// write on its channels goes out now.
    func flush(_ socket: Socket)
    /// Whether the socket's channel reads its datagrams itself (NIO's `autoRead`): on while the
    /// receiver leaves the reads to the channels, off while it polls.
    func readByChannel(_ enabled: Bool, on socket: Socket)
}

/// Why a socket could not be watched.
enum MediaReceiverError: Error, Equatable {
    case epoll(errno: CInt)
}

/// The receive path of the media sockets of one event loop.
///
/// While the loop's media is light, each socket's NIO channel reads its datagrams as they come
/// (``Mode/channels``): a wake-up per datagram, nothing when nothing comes. Once the loop
/// receives more than ``pollAbove`` datagrams a second (counted every ``evaluationPeriod``),
/// it polls (``Mode/polling``) until the rate falls under half of that: every ``interval`` the
/// loop asks the kernel, with one `epoll_wait(2)` that does not block,
/// which of its media sockets have datagrams queued, reads each of those with one
/// `recvmmsg(2)` (up to ``batch`` datagrams) and hands them to the socket's sink, all in one
/// turn, before it asks again (at most ``rounds`` times a turn). A relayed call's 50 packets a
/// second a direction are then read many sockets to a wake-up, by code that touches one small
/// entry per socket, where NIO's channel read path wakes the loop for each datagram and walks
/// the channel's pipeline, its receive buffer and a fresh `SocketAddress` to hand it over
/// (see the relay section of Benchmarks/RESULTS.md). The cost is latency: a datagram waits up
/// to one ``interval`` (half of it on average) before it is read, and a poll costs a wake-up
/// whether or not anything came, which is why a light loop leaves the reads to the channels.
///
/// The sockets stay NIO channels: NIO sends what the sessions write on them (STUN, DTLS, RTCP)
/// and closes them; while the receiver polls, their `autoRead` is off and it reads them. The source address
/// of a socket's last datagram is kept with its `SocketAddress`, so a datagram from the same
/// source (nearly all of them) costs no allocation.
///
/// Confined to ``loop``: ``add(descriptor:sink:leg:)``, ``remove(_:descriptorOpen:)`` and the
/// polls run on it, and nothing here locks. The poll is scheduled only while a socket is
/// watched.
final class MediaReceiver<Sink: MediaDatagramSink>: @unchecked Sendable {
    /// A watched socket, until ``remove(_:descriptorOpen:)``.
    struct Registration: Hashable, Sendable {
        fileprivate let slot: Int
        fileprivate let generation: UInt32

        fileprivate var token: UInt64 { UInt64(generation) << 32 | UInt64(slot) }
    }

    private final class Entry {
        let descriptor: CInt
        let sink: Sink
        let leg: Sink.Socket
        /// The source of the socket's last datagram, and the `SocketAddress` made for it.
        var source = sockaddr_storage()
        var address: SocketAddress?

        init(descriptor: CInt, sink: Sink, leg: Sink.Socket) {
            self.descriptor = descriptor
            self.sink = sink
            self.leg = leg
        }
    }

    /// Who reads the loop's sockets.
    enum Mode: Equatable, Sendable {
        /// Each socket's channel, as datagrams come.
        case channels
        /// The receiver, every ``MediaReceiver/interval``.
        case polling
    }

    /// The default interval: a twentieth of a 20 ms packet interval.
    static var defaultInterval: TimeAmount { .milliseconds(1) }
    /// The default rate above which the loop polls: 120 relayed calls' audio (50 packets a second
    /// each way). Below about that a poll every millisecond costs more than the channels' reads
    /// it saves (see the relay section of Benchmarks/RESULTS.md).
    static var defaultPollAbove: Int { 12_000 }
    /// The most datagrams one read takes from a socket (a socket with more queued is read again
    /// in the next round).
    static var batch: Int { 4 }
    /// The most `epoll_wait` rounds of one turn: each reads what arrived during the last, and a
    /// turn ends sooner when a round finds nothing.
    static var rounds: Int { 8 }
    /// Ready sockets taken from one `epoll_wait`.
    private static var readyCapacity: Int { 256 }

    let loop: any EventLoop
    let interval: TimeAmount
    /// Datagrams a second on the loop above which it polls, under half of which it goes back to
    /// the channels' reads; nil: it always polls.
    let pollAbove: Int?
    /// How often the rate is counted.
    let evaluationPeriod: TimeAmount
    /// Who reads the sockets now.
    private(set) var mode: Mode
    /// Datagrams the loop's channels read, and those polled, since the rate was last counted.
    private var readByChannels = 0
    private var readByPolls = 0
    /// The next count of the rate (and report to `/metrics`), while sockets are watched.
    private var evaluation: Scheduled<Void>?
    /// The largest datagram read whole; a longer one is dropped.
    let datagramSize: Int
    private let epoll: CInt
    private var slots: [Entry?] = []
    private var generations: [UInt32] = []
    private var freeSlots: [Int] = []
    /// Sockets watched.
    private(set) var count = 0
    /// Datagrams longer than ``datagramSize``, dropped.
    private(set) var truncated = 0
    /// Turns run so far.
    private(set) var turns = 0
    private let tokens: UnsafeMutablePointer<UInt64>
    private let data: UnsafeMutablePointer<UInt8>
    private let sources: UnsafeMutablePointer<sockaddr_storage>
    private let lengths: UnsafeMutablePointer<UInt32>
    /// What each datagram is handed over in; its storage is reused while no sink keeps it.
    private var buffer: ByteBuffer
    /// The next poll, while one is due (a scheduled callback: no closure or promise made per poll).
    private var scheduled: NIOScheduledCallback?

    init(
        loop: any EventLoop, interval: TimeAmount = MediaReceiver.defaultInterval, pollAbove: Int? = MediaReceiver.defaultPollAbove,
        evaluationPeriod: TimeAmount = .seconds(1), datagramSize: Int = MediaPlane.maximumDatagram
    ) throws(MediaReceiverError) {
        let epoll = cswitchboard_epoll_create()
        guard epoll >= 0 else { throw .epoll(errno: errno) }
        self.epoll = epoll
        self.loop = loop
        self.interval = .nanoseconds(max(interval.nanoseconds, 100_000))
        self.pollAbove = pollAbove.map { max($0, 1) }
        self.evaluationPeriod = .nanoseconds(max(evaluationPeriod.nanoseconds, 1_000_000))
        mode = pollAbove == nil ? .polling : .channels
        self.datagramSize = datagramSize
        tokens = .allocate(capacity: Self.readyCapacity)
        data = .allocate(capacity: Self.batch * datagramSize)
        sources = .allocate(capacity: Self.batch)
        sources.initialize(repeating: sockaddr_storage(), count: Self.batch)
        lengths = .allocate(capacity: Self.batch)
        lengths.initialize(repeating: 0, count: Self.batch)
        buffer = ByteBufferAllocator().buffer(capacity: datagramSize)
    }

    deinit {
        scheduled?.cancel()
        evaluation?.cancel()
        _ = Glibc.close(epoll)
        tokens.deallocate()
        data.deallocate()
        sources.deallocate()
        lengths.deallocate()
    }

    /// Watches the socket `descriptor` for `sink`'s `leg`, read as the loop's other sockets are
    /// (the sink is told which way at once).
    func add(descriptor: CInt, sink: Sink, leg: Sink.Socket) throws(MediaReceiverError) -> Registration {
        loop.assertInEventLoop()
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = slots.count
            slots.append(nil)
            generations.append(0)
        }
        let registration = Registration(slot: slot, generation: generations[slot])
        guard cswitchboard_epoll_add(epoll, descriptor, registration.token) == 0 else {
            let error = errno
            freeSlots.append(slot)
            throw .epoll(errno: error)
        }
        slots[slot] = Entry(descriptor: descriptor, sink: sink, leg: leg)
        count += 1
        sink.readByChannel(mode == .channels, on: leg)
        if mode == .polling, scheduled == nil { schedule() }
        if evaluation == nil { scheduleEvaluation() }
        return registration
    }

    /// Stops watching a socket. While its descriptor is open it is taken off the epoll set;
    /// once closed, the kernel has done that (and the number may be a new socket's already).
    func remove(_ registration: Registration, descriptorOpen: Bool) {
        loop.assertInEventLoop()
        guard registration.slot < slots.count, generations[registration.slot] == registration.generation,
            let entry = slots[registration.slot]
        else { return }
        if descriptorOpen { _ = cswitchboard_epoll_remove(epoll, entry.descriptor) }
        slots[registration.slot] = nil
        // Events already taken for the old registration no longer match it.
        generations[registration.slot] &+= 1
        freeSlots.append(registration.slot)
        count -= 1
        if count == 0 {
            scheduled?.cancel()
            scheduled = nil
            evaluation?.cancel()
            evaluation = nil
            report()
        }
    }

    /// A datagram one of the loop's channels read (while they read).
    func countChannelRead() {
        readByChannels &+= 1
    }

    /// Adds the counts since the last report to `/metrics`.
    private func report() {
        if readByChannels > 0 { MediaMetrics.shared.readByChannels.increment(by: readByChannels) }
        if readByPolls > 0 { MediaMetrics.shared.readByPolls.increment(by: readByPolls) }
        readByChannels = 0
        readByPolls = 0
    }

    private func scheduleEvaluation() {
        evaluation = loop.scheduleTask(in: evaluationPeriod) { [self] in
            evaluation = nil
            evaluate()
            if count > 0, evaluation == nil { scheduleEvaluation() }
        }
    }

    /// Counts the last period's rate, reports it to `/metrics` and changes who reads the sockets
    /// when it calls for it. The timer calls it; tests call it directly.
    func evaluate() {
        let received = Int64(readByChannels) + Int64(readByPolls)
        report()
        guard let pollAbove else { return }
        let rate = Int(received * 1_000_000_000 / max(evaluationPeriod.nanoseconds, 1))
        switch mode {
        case .channels where rate > pollAbove:
            mode = .polling
            forEachEntry { $0.sink.readByChannel(false, on: $0.leg) }
            if scheduled == nil { schedule() }
        case .polling where rate < pollAbove / 2:
            mode = .channels
            scheduled?.cancel()
            scheduled = nil
            // What is queued now is read by the channels, as soon as they read again.
            forEachEntry { $0.sink.readByChannel(true, on: $0.leg) }
        default:
            break
        }
    }

    private func forEachEntry(_ body: (Entry) -> Void) {
        for entry in slots {
            if let entry { body(entry) }
        }
    }

    private func schedule() {
        // Fails only on a loop that is shutting down, whose sockets are closing anyway.
        scheduled = try? loop.scheduleCallback(in: interval, handler: self)
    }

    /// One turn: reads every watched socket that has datagrams queued and hands them over.
    /// The timer calls it; tests call it directly.
    func poll() {
        turns += 1
        for _ in 0..<Self.rounds {
            let ready = cswitchboard_epoll_poll(epoll, tokens, CInt(Self.readyCapacity))
            guard ready > 0 else { return }
            for index in 0..<Int(ready) {
                let token = tokens[index]
                let slot = Int(truncatingIfNeeded: token & 0xFFFF_FFFF)
                let generation = UInt32(truncatingIfNeeded: token >> 32)
                guard slot < slots.count, generations[slot] == generation, let entry = slots[slot] else { continue }
                read(entry, slot: slot, generation: generation)
            }
        }
    }

    private func read(_ entry: Entry, slot: Int, generation: UInt32) {
        let size = datagramSize
        let read = cswitchboard_recv_batch(entry.descriptor, data, size, sources, lengths, UInt32(Self.batch))
        guard read > 0 else { return }
        readByPolls &+= Int(read)
        for index in 0..<Int(read) {
            // A sink that ended its call on an earlier datagram has removed the socket.
            guard generations[slot] == generation else { return }
            let length = Int(lengths[index])
            guard length <= size else {
                truncated += 1
                continue
            }
            guard let address = address(of: sources + index, for: entry) else { continue }
            buffer.clear()
            buffer.writeBytes(UnsafeRawBufferPointer(start: data + index * size, count: length))
            entry.sink.receive(&buffer, from: address, on: entry.leg)
        }
        entry.sink.flush(entry.leg)
    }

    /// The `SocketAddress` of a datagram's source: the entry's last one when the source is the
    /// same, a new one (kept for the next datagram) when not.
    private func address(of source: UnsafeMutablePointer<sockaddr_storage>, for entry: Entry) -> SocketAddress? {
        if let known = entry.address, Self.sameSource(source, &entry.source) { return known }
        let address: SocketAddress
        switch CInt(source.pointee.ss_family) {
        case AF_INET:
            address = source.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee) }
        case AF_INET6:
            address = source.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee) }
        default:
            return nil
        }
        entry.source = source.pointee
        entry.address = address
        return address
    }

    private static func sameSource(_ lhs: UnsafeMutablePointer<sockaddr_storage>, _ rhs: UnsafeMutablePointer<sockaddr_storage>) -> Bool {
        guard lhs.pointee.ss_family == rhs.pointee.ss_family else { return false }
        switch CInt(lhs.pointee.ss_family) {
        case AF_INET:
            return lhs.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { left in
                rhs.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { right in
                    left.pointee.sin_port == right.pointee.sin_port && left.pointee.sin_addr.s_addr == right.pointee.sin_addr.s_addr
                }
            }
        case AF_INET6:
            return lhs.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { left in
                rhs.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { right in
                    left.pointee.sin6_port == right.pointee.sin6_port && left.pointee.sin6_scope_id == right.pointee.sin6_scope_id
                        && left.pointee.sin6_flowinfo == right.pointee.sin6_flowinfo
                        && memcmp(&left.pointee.sin6_addr, &right.pointee.sin6_addr, MemoryLayout<in6_addr>.size) == 0
                }
            }
        default:
            return false
        }
    }
}

extension MediaReceiver: NIOScheduledCallbackHandler {
    func handleScheduledCallback(eventLoop: some EventLoop) {
        scheduled = nil
        poll()
        if count > 0, mode == .polling, scheduled == nil { schedule() }
    }
}
