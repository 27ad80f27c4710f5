import Glibc
import NIOCore
import NIOEmbedded
import Testing
@testable import MediaPlane

/// The loop's receive path for media sockets: real UDP sockets on 127.0.0.1 watched by one
/// receiver on an embedded loop (its timer is the test's), the datagrams it hands over, and
/// sockets coming and going.
@Suite("Media receiver")
struct MediaReceiverTests {
    typealias PeerSocket = RelayPathTests.PeerSocket

    /// Records what it is handed, per leg.
    final class Recorder: MediaDatagramSink {
        typealias Socket = Int
        var received: [(leg: Int, bytes: [UInt8], from: SocketAddress)] = []
        var flushes: [Int] = []
        /// What the receiver said about the channels' own reads, in order.
        var channelReads: [Bool] = []
        /// Called after each datagram is recorded.
        var onReceive: ((Int) -> Void)?

        func receive(_ buffer: inout ByteBuffer, from address: SocketAddress, on leg: Int) {
            received.append((leg, Array(buffer.readableBytesView), address))
            onReceive?(leg)
        }

        func flush(_ leg: Int) { flushes.append(leg) }

        func readByChannel(_ enabled: Bool, on leg: Int) { channelReads.append(enabled) }

        func payloads(on leg: Int) -> [[UInt8]] { received.filter { $0.leg == leg }.map(\.bytes) }
    }

    static func address(of socket: PeerSocket) throws -> SocketAddress {
        try SocketAddress(ipAddress: "127.0.0.1", port: Int(socket.port))
    }

    /// Waits until the kernel has queued a datagram on `socket` (loopback delivers at once;
    /// this only makes the test independent of that).
    static func waitQueued(_ socket: PeerSocket) {
        for _ in 0..<200 {
            var queued: CInt = 0
            _ = ioctl(socket.descriptor, UInt(FIONREAD), &queued)
            if queued > 0 { return }
            usleep(1000)
        }
    }

    @Test func everyQueuedDatagramGoesToItsSocketsSinkInOneTurn() throws {
        let loop = EmbeddedEventLoop()
        let receiver = try MediaReceiver<Recorder>(loop: loop, pollAbove: nil)
        let sink = Recorder()
        let first = try PeerSocket()
        let second = try PeerSocket()
        let peer = try PeerSocket()
        let other = try PeerSocket()
        _ = try receiver.add(descriptor: first.descriptor, sink: sink, leg: 1)
        _ = try receiver.add(descriptor: second.descriptor, sink: sink, leg: 2)

        // More than one read takes from a socket, and from two sources.
        let count = MediaReceiver<Recorder>.batch * 2 + 1
        for index in 0..<count { peer.send([UInt8(index), 0xAA], to: first.port) }
        other.send([0x42], to: first.port)
        peer.send([7, 7, 7], to: second.port)
        Self.waitQueued(first)
        Self.waitQueued(second)
        receiver.poll()

        #expect(sink.payloads(on: 1) == (0..<count).map { [UInt8($0), 0xAA] } + [[0x42]])
        #expect(sink.payloads(on: 2) == [[7, 7, 7]])
        let sources = sink.received.filter { $0.leg == 1 }.map(\.from)
        #expect(sources.dropLast().allSatisfy { $0 == (try? Self.address(of: peer)) })
        #expect(sources.last == (try? Self.address(of: other)), "a new source is not taken for the last one")
        #expect(sink.received.filter { $0.leg == 1 }.last?.from.port == Int(other.port))
        // One flush per read: three reads of the first socket, one of the second.
        #expect(sink.flushes.filter { $0 == 1 }.count == 3 && sink.flushes.filter { $0 == 2 }.count == 1)

        // Nothing is queued: a turn hands over nothing.
        sink.received.removeAll()
        receiver.poll()
        #expect(sink.received.isEmpty)
    }

    @Test func theTimerPollsWhileASocketIsWatchedAndStopsWithTheLast() throws {
        let loop = EmbeddedEventLoop()
        let receiver = try MediaReceiver<Recorder>(loop: loop, interval: .milliseconds(2), pollAbove: nil)
        let sink = Recorder()
        let socket = try PeerSocket()
        let peer = try PeerSocket()
        #expect(receiver.turns == 0)
        let registration = try receiver.add(descriptor: socket.descriptor, sink: sink, leg: 1)

        peer.send([1], to: socket.port)
        Self.waitQueued(socket)
        loop.advanceTime(by: .milliseconds(1))
        #expect(sink.received.isEmpty, "read only at the interval")
        loop.advanceTime(by: .milliseconds(1))
        #expect(sink.payloads(on: 1) == [[1]])
        loop.advanceTime(by: .milliseconds(10))
        #expect(receiver.turns == 6)

        receiver.remove(registration, descriptorOpen: true)
        #expect(receiver.count == 0)
        peer.send([2], to: socket.port)
        Self.waitQueued(socket)
        loop.advanceTime(by: .milliseconds(20))
        #expect(receiver.turns == 6, "no socket, no poll")
        #expect(sink.payloads(on: 1) == [[1]])

        // Watched again, the socket's queued datagram is read at the next interval.
        _ = try receiver.add(descriptor: socket.descriptor, sink: sink, leg: 3)
        loop.advanceTime(by: .milliseconds(2))
        #expect(sink.payloads(on: 3) == [[2]])
    }

    @Test func aBusyLoopPollsAndALightOneLeavesTheReadsToTheChannels() throws {
        let loop = EmbeddedEventLoop()
        let receiver = try MediaReceiver<Recorder>(
            loop: loop, interval: .milliseconds(1), pollAbove: 100, evaluationPeriod: .milliseconds(100)
        )
        let sink = Recorder()
        let socket = try PeerSocket()
        let peer = try PeerSocket()
        _ = try receiver.add(descriptor: socket.descriptor, sink: sink, leg: 1)
        #expect(receiver.mode == .channels && sink.channelReads == [true], "a new loop's channels read")

        // 5 datagrams in 100 ms, 50 a second: the channels go on reading.
        for _ in 0..<5 { receiver.countChannelRead() }
        loop.advanceTime(by: .milliseconds(100))
        #expect(receiver.mode == .channels && receiver.turns == 0)

        // 20 in the next 100 ms, 200 a second: the receiver polls.
        for _ in 0..<20 { receiver.countChannelRead() }
        loop.advanceTime(by: .milliseconds(100))
        #expect(receiver.mode == .polling && sink.channelReads == [true, false])

        // It reads the socket; 100 a second is over half the threshold, so it keeps polling.
        for round in 0..<10 {
            peer.send([UInt8(round)], to: socket.port)
            Self.waitQueued(socket)
            loop.advanceTime(by: .milliseconds(10))
        }
        #expect(sink.payloads(on: 1) == (0..<10).map { [UInt8($0)] })
        #expect(receiver.mode == .polling && receiver.turns >= 90)

        // A quiet period: the channels read again, and nothing polls.
        loop.advanceTime(by: .milliseconds(100))
        #expect(receiver.mode == .channels && sink.channelReads == [true, false, true])
        let turns = receiver.turns
        loop.advanceTime(by: .milliseconds(50))
        #expect(receiver.turns == turns, "no polls while the channels read")

        // A socket added now is read by its channel too.
        let second = try PeerSocket()
        _ = try receiver.add(descriptor: second.descriptor, sink: sink, leg: 2)
        #expect(sink.channelReads == [true, false, true, true])
    }

    @Test func aSinkThatRemovesItsSocketGetsNothingMoreOfIt() throws {
        let loop = EmbeddedEventLoop()
        let receiver = try MediaReceiver<Recorder>(loop: loop, pollAbove: nil)
        let sink = Recorder()
        let socket = try PeerSocket()
        let peer = try PeerSocket()
        let registration = try receiver.add(descriptor: socket.descriptor, sink: sink, leg: 1)
        sink.onReceive = { _ in receiver.remove(registration, descriptorOpen: true) }
        for index in 0..<3 { peer.send([UInt8(index)], to: socket.port) }
        Self.waitQueued(socket)
        receiver.poll()
        receiver.poll()
        #expect(sink.payloads(on: 1) == [[0]], "the call ended on its first datagram")
        // Removing twice (the close, then the channel going inactive) does nothing more.
        receiver.remove(registration, descriptorOpen: false)
        #expect(receiver.count == 0)
    }

    @Test func aClosedSocketsNumberTakenByANewSocketBelongsToTheNewOne() throws {
        let loop = EmbeddedEventLoop()
        let receiver = try MediaReceiver<Recorder>(loop: loop, pollAbove: nil)
        let sink = Recorder()
        let peer = try PeerSocket()
        var old: PeerSocket? = try PeerSocket()
        let oldRegistration = try receiver.add(descriptor: old!.descriptor, sink: sink, leg: 1)
        let number = old!.descriptor
        old = nil  // closes it: the kernel takes it off the epoll set
        let new = try PeerSocket()
        try #require(new.descriptor == number, "the test needs the number reused")
        let newRegistration = try receiver.add(descriptor: new.descriptor, sink: sink, leg: 2)
        // The old channel goes inactive after the new socket is watched: it must not take the
        // new socket off the set.
        receiver.remove(oldRegistration, descriptorOpen: false)
        #expect(oldRegistration != newRegistration)
        peer.send([9], to: new.port)
        Self.waitQueued(new)
        receiver.poll()
        #expect(sink.payloads(on: 2) == [[9]] && sink.payloads(on: 1).isEmpty)
        #expect(receiver.count == 1)
    }

    @Test func aDatagramLongerThanTheBufferIsDroppedAndCounted() throws {
        let loop = EmbeddedEventLoop()
        let receiver = try MediaReceiver<Recorder>(loop: loop, pollAbove: nil, datagramSize: 64)
        let sink = Recorder()
        let socket = try PeerSocket()
        let peer = try PeerSocket()
        _ = try receiver.add(descriptor: socket.descriptor, sink: sink, leg: 1)
        peer.send([UInt8](repeating: 1, count: 65), to: socket.port)
        peer.send([UInt8](repeating: 2, count: 64), to: socket.port)
        Self.waitQueued(socket)
        receiver.poll()
        #expect(receiver.truncated == 1)
        #expect(sink.payloads(on: 1) == [[UInt8](repeating: 2, count: 64)])
    }

    @Test func aSocketThatCannotBeWatchedIsAnError() throws {
        let loop = EmbeddedEventLoop()
        let receiver = try MediaReceiver<Recorder>(loop: loop, pollAbove: nil)
        #expect(throws: MediaReceiverError.epoll(errno: EBADF)) { _ = try receiver.add(descriptor: -1, sink: Recorder(), leg: 1) }
        #expect(receiver.count == 0)
    }
}
