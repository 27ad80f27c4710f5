import NIOCore
import NIOEmbedded
import RTP
import SIP
import Testing
@testable import Media
@testable import MediaPlane

/// The event loop's shared playout tick: the timer on an embedded loop (its clock is the
/// test's), the transcoding paths it drives, and sessions coming and going.
@Suite("Transcoding tick")
struct TranscodingTickTests {
    /// One direction of a transcoding path on the tick, recording what it sends and when.
    final class DirectionTarget: TranscodingTickTarget {
        let direction: TranscodingPath.Direction
        var sent: [(packet: ByteBuffer, at: NIODeadline)] = []
        var ticks: [NIODeadline] = []

        init(_ direction: TranscodingPath.Direction) { self.direction = direction }

        func transcodingTick(at now: NIODeadline) {
            ticks.append(now)
            _ = direction.drain(at: now) { buffer, length in
                sent.append((ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: buffer[..<length])), now))
            }
        }

        /// A packet arriving now: events go out at once, audio waits for the tick.
        func receive(_ packet: ByteBuffer, at now: NIODeadline) {
            direction.insert(packet, at: now) { buffer, length in
                sent.append((ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: buffer[..<length])), now))
            }
        }
    }

    /// Counts its ticks.
    final class Counter: TranscodingTickTarget {
        var ticks: [NIODeadline] = []
        var onTick: (() -> Void)?
        func transcodingTick(at now: NIODeadline) {
            ticks.append(now)
            onTick?()
        }
    }

    /// PCMU to PCMA: no codec delay, so each packet out is one frame in, payload for payload.
    static func g711Plan() -> MediaBridgePlan {
        var plan = TranscodingPathTests.plan()
        plan.browserAudio = SDPPayloadFormat(payloadType: 8, codec: .pcma)
        plan.browserTelephoneEvent = SDPPayloadFormat(payloadType: 101, codec: .telephoneEvent8000)
        return plan
    }

    static func milliseconds(_ value: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(value) * 1_000_000) }

    typealias Arrival = (packet: ByteBuffer, at: Int64)

    /// An RTP packet arriving `at` milliseconds on the loop's clock.
    static func arrival(
        payloadType: UInt8, sequence: Int, timestamp: Int, marker: Bool = false, payload: [UInt8], at milliseconds: Int64
    ) -> Arrival {
        let packet = TranscodingPathTests.packet(
            payloadType: payloadType, sequence: UInt16(truncatingIfNeeded: sequence), timestamp: UInt32(truncatingIfNeeded: timestamp),
            marker: marker, payload: payload
        )
        return (packet, milliseconds)
    }

    /// The time on the embedded loop, in whole milliseconds.
    static func milliseconds(of deadline: NIODeadline) -> Int64 { Int64(deadline.uptimeNanoseconds / 1_000_000) }

    /// Moves the embedded loop to each arrival time and delivers the packet there, then on for
    /// `after` milliseconds: the tick fires from the loop's timer on the way.
    static func run(_ loop: EmbeddedEventLoop, _ target: DirectionTarget, _ arrivals: [Arrival], after: Int64 = 300) {
        for (packet, at) in arrivals {
            loop.advanceTime(to: milliseconds(at))
            target.receive(packet, at: loop.now)
        }
        loop.advanceTime(by: .milliseconds(after))
    }

    @Test(arguments: [10, 20])
    func framesPlayAtTheFirstTickAtOrAfterTheirPlayoutTime(tick: Int) throws {
        let loop = EmbeddedEventLoop()
        let ticker = TranscodingTicker(loop: loop, interval: .milliseconds(Int64(tick)), clock: { loop.now })
        let path = try TranscodingPath(plan: Self.g711Plan(), opus: OpusEncoder.Configuration())
        let target = DirectionTarget(path.toBrowser)
        let registration = ticker.register(target)
        defer { registration.cancel() }
        // Ten packets 20 ms apart, arriving 3 ms past a multiple of 10 ms; each its own payload.
        var arrivals: [Arrival] = []
        for index in 0..<10 {
            let payload = [UInt8](repeating: UInt8(0x10 + 8 * index), count: 160)
            let at = Int64(1003 + 20 * index)
            arrivals.append(Self.arrival(payloadType: 0, sequence: 500 + index, timestamp: 160 * index, marker: index == 0, payload: payload, at: at))
        }
        Self.run(loop, target, arrivals)
        // The first packet plays at its arrival plus the initial delay (60 ms), each next one
        // 20 ms later: 1063, 1083, ... Each goes out at the first tick at or after that.
        #expect(target.sent.count == 10)
        for (index, sent) in target.sent.enumerated() {
            let playout = 1063 + 20 * Int64(index)
            let at = Self.milliseconds(of: sent.at)
            #expect(at >= playout && at < playout + Int64(tick), "frame \(index) due at \(playout) went out at \(at)")
            #expect(at % Int64(tick) == 0, "sent from the tick")
        }
        let payloads: [[UInt8]] = target.sent.map { sent in
            sent.packet.withUnsafeReadableBytes { bytes in (try? RTPHeader(parsing: bytes)).map { Array(bytes[$0.payload]) } ?? [] }
        }
        // In order, none lost nor repeated (each frame's µ-law value becomes an A-law value of its own).
        #expect(Set(payloads.map { $0.first }).count == 10)
        #expect(payloads.allSatisfy { $0.count == 160 && Set($0).count == 1 })
        // The tick ran at every multiple of the interval, and only there.
        let ticks = target.ticks.map(Self.milliseconds(of:))
        #expect(!ticks.isEmpty && ticks.allSatisfy { $0 % Int64(tick) == 0 })
        #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $1 - $0 == Int64(tick) })
    }

    @Test func aLostPacketIsStillConcealedFromTheTick() throws {
        let loop = EmbeddedEventLoop()
        let ticker = TranscodingTicker(loop: loop, interval: .milliseconds(10), clock: { loop.now })
        // PCMU to Opus: the missing frame is concealed by the decoder and encoded as a frame.
        let path = try TranscodingPath(plan: TranscodingPathTests.plan(), opus: OpusEncoder.Configuration())
        let target = DirectionTarget(path.toBrowser)
        let registration = ticker.register(target)
        defer { registration.cancel() }
        let frame = [UInt8](repeating: 0xFF, count: 160)
        // Packet 3 of 1...6 never arrives.
        var arrivals: [Arrival] = []
        for sequence in [1, 2, 4, 5, 6] {
            arrivals.append(Self.arrival(payloadType: 0, sequence: sequence, timestamp: 160 * sequence, payload: frame, at: Int64(1005 + 20 * sequence)))
        }
        Self.run(loop, target, arrivals)
        let headers = TranscodingPathTests.headers(target.sent.map(\.packet))
        #expect(headers.count == 6, "five frames and one concealed")
        #expect(zip(headers, headers.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 && $1.timestamp == $0.timestamp &+ 960 })
        #expect(path.toBrowser.jitter.statistics.missing == 1)
        // The concealed frame went out at its own tick, 20 ms after the frame before it.
        let times = target.sent.map { Self.milliseconds(of: $0.at) }
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 == 20 })
    }

    @Test func telephoneEventsGoOutOnArrivalBetweenTicks() throws {
        let loop = EmbeddedEventLoop()
        let ticker = TranscodingTicker(loop: loop, interval: .milliseconds(10), clock: { loop.now })
        let path = try TranscodingPath(plan: Self.g711Plan(), opus: OpusEncoder.Configuration())
        let target = DirectionTarget(path.toBrowser)
        let registration = ticker.register(target)
        defer { registration.cancel() }
        var audio: [Arrival] = []
        for index in 0..<3 {
            let silence = [UInt8](repeating: 0xFF, count: 160)
            audio.append(Self.arrival(payloadType: 0, sequence: 10 + index, timestamp: 8000 + 160 * index, payload: silence, at: Int64(1000 + 20 * index)))
        }
        // Digit 7 after the audio, at 8 kHz on both sides: start, then three ends.
        var events: [Arrival] = []
        for index in 0..<4 {
            let end = index > 0
            let payload: [UInt8] = [7, end ? 0x80 | 10 : 10, 0x01, end ? 0xE0 : 0x40]
            let at = Int64(1157 + 3 * index)
            events.append(Self.arrival(payloadType: 101, sequence: 13 + index, timestamp: 8480, marker: index == 0, payload: payload, at: at))
        }
        Self.run(loop, target, audio + events)
        let sent = target.sent.filter { TranscodingPathTests.headers([$0.packet]).first?.payloadType == 101 }
        #expect(sent.count == 4)
        // Each went out when it arrived, not at a tick.
        #expect(sent.map { Self.milliseconds(of: $0.at) } == [1157, 1160, 1163, 1166])
        let headers = TranscodingPathTests.headers(sent.map(\.packet))
        let parsed = zip(sent, headers).compactMap { sent, header in
            sent.packet.withUnsafeReadableBytes { try? TelephoneEvent(parsing: UnsafeRawBufferPointer(rebasing: $0[header.payload])) }
        }
        #expect(parsed.map(\.event) == [7, 7, 7, 7])
        #expect(parsed.map(\.isEnd) == [false, true, true, true])
        #expect(headers.first?.marker == true && Set(headers.map(\.timestamp)).count == 1)
        // The audio before them all played, from the tick.
        #expect(target.sent.count == 7)
    }

    @Test func aCancelledRegistrationIsNotTickedAgainAndTheTimerStops() throws {
        let loop = EmbeddedEventLoop()
        let ticker = TranscodingTicker(loop: loop, interval: .milliseconds(10), clock: { loop.now })
        #expect(ticker.nextTick == nil, "no timer without a session")
        let first = Counter(), second = Counter()
        let one = ticker.register(first)
        let two = ticker.register(second)
        #expect(ticker.nextTick == Self.milliseconds(10))
        loop.advanceTime(by: .milliseconds(35))
        #expect(first.ticks.map(Self.milliseconds(of:)) == [10, 20, 30])
        #expect(second.ticks.count == 3)
        // The first cancels in its own tick (as a session closing from what it sends would):
        // the second is still called in that tick, the first never again.
        first.onTick = { one.cancel() }
        loop.advanceTime(by: .milliseconds(10))
        #expect(first.ticks.count == 4 && second.ticks.count == 4 && ticker.count == 1)
        loop.advanceTime(by: .milliseconds(10))
        #expect(first.ticks.count == 4 && second.ticks.count == 5)
        two.cancel()
        #expect(ticker.count == 0 && ticker.nextTick == nil, "the timer stops with the last session")
        let ticks = ticker.ticks
        loop.advanceTime(by: .milliseconds(100))
        #expect(ticker.ticks == ticks && first.ticks.count == 4 && second.ticks.count == 5)
        // A new session starts it again, at the next multiple (now is 155 ms).
        let third = Counter()
        let three = ticker.register(third)
        loop.advanceTime(by: .milliseconds(24))
        #expect(third.ticks.map(Self.milliseconds(of:)) == [160, 170])
        three.cancel()
        three.cancel()
        #expect(ticker.count == 0 && ticker.nextTick == nil)
    }

    @Test func aRegistrationCancelledByAnotherDuringATickIsSkippedInThatTick() throws {
        let loop = EmbeddedEventLoop()
        let ticker = TranscodingTicker(loop: loop, interval: .milliseconds(10), clock: { loop.now })
        let first = Counter(), second = Counter()
        _ = ticker.register(first)
        let two = ticker.register(second)
        first.onTick = { two.cancel() }
        loop.advanceTime(by: .milliseconds(10))
        #expect(first.ticks.count == 1 && second.ticks.isEmpty)
        #expect(ticker.count == 1)
    }

    @Test func aReleasedSessionIsDroppedNotKept() throws {
        let loop = EmbeddedEventLoop()
        let ticker = TranscodingTicker(loop: loop, interval: .milliseconds(10), clock: { loop.now })
        weak var released: Counter?
        var registration: TranscodingTicker.Registration?
        do {
            let counter = Counter()
            released = counter
            registration = ticker.register(counter)
            loop.advanceTime(by: .milliseconds(10))
            #expect(counter.ticks.count == 1)
        }
        #expect(released == nil, "the tick does not keep a session alive")
        loop.advanceTime(by: .milliseconds(10))
        #expect(ticker.count == 0 && ticker.nextTick == nil)
        registration?.cancel()
    }

    @Test func ticksFallOnMultiplesOfTheInterval() throws {
        let loop = EmbeddedEventLoop()
        let ticker = TranscodingTicker(loop: loop, interval: .milliseconds(20), clock: { loop.now })
        #expect(ticker.deadline(after: Self.milliseconds(0)) == Self.milliseconds(20))
        #expect(ticker.deadline(after: Self.milliseconds(20)) == Self.milliseconds(40))
        #expect(ticker.deadline(after: .uptimeNanoseconds(39_999_999)) == Self.milliseconds(40))
        // A tick that ran late is not made up for: the next is the next multiple after it.
        #expect(ticker.deadline(after: Self.milliseconds(75)) == Self.milliseconds(80))
        // Less than a millisecond is a millisecond.
        #expect(TranscodingTicker(loop: loop, interval: .microseconds(10)).interval == .milliseconds(1))
    }
}
