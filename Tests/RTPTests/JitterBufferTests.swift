import NIOCore
import Testing
@testable import RTP

/// Drives a jitter buffer with a fake clock: times are milliseconds from an arbitrary origin.
struct JitterBufferHarness {
    static let origin = NIODeadline.uptimeNanoseconds(5_000_000_000)
    var buffer: JitterBuffer
    var output = [UInt8](repeating: 0, count: 1500)

    init(_ configuration: JitterBuffer.Configuration = .init(clockRate: 8000)) {
        buffer = JitterBuffer(configuration: configuration)
    }

    static func at(_ milliseconds: Int64) -> NIODeadline { origin + .milliseconds(milliseconds) }

    /// Inserts packet `sequence` with timestamp `timestamp`; the payload is the sequence number's
    /// two bytes and a marker byte so playout can be checked.
    @discardableResult
    mutating func send(_ sequence: UInt16, timestamp: UInt32, marker: Bool = false, ssrc: UInt32 = 0xABCD, at milliseconds: Int64) -> JitterBuffer.InsertOutcome {
        let payload: [UInt8] = [UInt8(sequence >> 8), UInt8(sequence & 0xFF), marker ? 1 : 0]
        return payload.withUnsafeBytes {
            buffer.insert(sequenceNumber: sequence, timestamp: timestamp, marker: marker, ssrc: ssrc, payload: $0, arrival: Self.at(milliseconds))
        }
    }

    /// 20 ms frames at 8 kHz: packet n has timestamp base + 160 n.
    @discardableResult
    mutating func send(_ sequence: UInt16, marker: Bool = false, ssrc: UInt32 = 0xABCD, base: UInt32 = 1000, at milliseconds: Int64) -> JitterBuffer.InsertOutcome {
        send(sequence, timestamp: base &+ UInt32(sequence) &* 160, marker: marker, ssrc: ssrc, at: milliseconds)
    }

    mutating func poll(at milliseconds: Int64) -> JitterBufferPlayout {
        output.withUnsafeMutableBytes { buffer.playout(at: Self.at(milliseconds), into: $0) }
    }

    /// Polls and returns the played sequence number, checking the copied payload; "missing n",
    /// "wait", or "empty" otherwise.
    mutating func play(at milliseconds: Int64) -> String {
        switch poll(at: milliseconds) {
        case .frame(let frame):
            let carried = UInt16(output[0]) << 8 | UInt16(output[1])
            guard carried == frame.sequenceNumber, frame.payloadLength == 3 else { return "corrupt \(frame.sequenceNumber)" }
            return "\(frame.sequenceNumber)"
        case .missing(let gap): return "missing \(gap.sequenceNumber)\(gap.nextPacketAvailable ? "+" : "")"
        case .waiting: return "wait"
        case .empty: return "empty"
        }
    }
}

@Suite("Jitter buffer")
struct JitterBufferTests {
    @Test func playsInOrderAfterTheInitialDelay() {
        var harness = JitterBufferHarness()
        #expect(harness.play(at: 0) == "empty")
        #expect(harness.send(0, at: 0) == .accepted)
        #expect(harness.poll(at: 40) == .waiting(until: JitterBufferHarness.at(60)))
        var played: [String] = []
        for index in 1..<10 { harness.send(UInt16(index), at: Int64(index) * 20) }
        for tick in 0..<10 { played.append(harness.play(at: 60 + Int64(tick) * 20)) }
        #expect(played == (0..<10).map { "\($0)" })
        guard case .frame(let frame) = { harness.send(10, at: 200); return harness.poll(at: 260) }() else {
            Issue.record("no frame")
            return
        }
        #expect(frame.timestamp == 1000 + 1600)
        #expect(frame.playoutTime == JitterBufferHarness.at(260))
        #expect(harness.buffer.statistics.played == 11)
        #expect(harness.buffer.statistics.missing == 0)
        #expect(harness.play(at: 280) == "empty")  // underrun: not a loss
        #expect(harness.buffer.statistics.missing == 0)
    }

    @Test func reordersWithinTheWindow() {
        var harness = JitterBufferHarness()
        for (sequence, time) in [(0, 0), (1, 20), (3, 40), (2, 45), (5, 80), (4, 85)] as [(UInt16, Int64)] {
            #expect(harness.send(sequence, at: time) == .accepted)
        }
        let played = (0..<6).map { harness.play(at: 60 + Int64($0) * 20) }
        #expect(played == ["0", "1", "2", "3", "4", "5"])
        #expect(harness.buffer.statistics.missing == 0)
    }

    @Test func reportsLossWithNextPacketPresenceAndDropsTheLateArrival() {
        var harness = JitterBufferHarness()
        for sequence in [0, 1, 3, 5, 6] as [UInt16] { harness.send(sequence, at: Int64(sequence) * 20) }
        let played = (0..<7).map { harness.play(at: 60 + Int64($0) * 20) }
        // 2 is missing and 3 is here (FEC possible); 4 is missing and 5 is here.
        #expect(played == ["0", "1", "missing 2+", "3", "missing 4+", "5", "6"])
        #expect(harness.buffer.statistics.missing == 2)
        #expect(harness.send(2, at: 200) == .late)
        #expect(harness.buffer.statistics.late == 1)

        var twoLost = JitterBufferHarness()
        for sequence in [0, 3] as [UInt16] { twoLost.send(sequence, at: Int64(sequence) * 20) }
        #expect((0..<4).map { twoLost.play(at: 60 + Int64($0) * 20) } == ["0", "missing 1", "missing 2+", "3"])
    }

    @Test func peeksAtTheNextPacketForFEC() {
        var harness = JitterBufferHarness()
        harness.send(0, at: 0)
        harness.send(2, at: 40)
        #expect(harness.play(at: 60) == "0")
        guard case .missing(let gap) = harness.poll(at: 80) else { Issue.record("no gap"); return }
        #expect(gap == JitterBufferGap(sequenceNumber: 1, timestamp: 1160, nextPacketAvailable: true))
        var peeked = [UInt8](repeating: 0, count: 8)
        let length = peeked.withUnsafeMutableBytes { harness.buffer.copyPayload(sequenceNumber: 2, into: $0) }
        #expect(length == 3)
        #expect(Array(peeked[0..<3]) == [0, 2, 0])
        #expect(peeked.withUnsafeMutableBytes { harness.buffer.copyPayload(sequenceNumber: 1, into: $0) } == nil)
        #expect(harness.play(at: 100) == "2")  // peeking did not consume it
    }

    @Test func dropsDuplicatesBeforeAndAfterPlayout() {
        var harness = JitterBufferHarness()
        harness.send(0, at: 0)
        harness.send(1, at: 20)
        #expect(harness.send(1, at: 25) == .duplicate)
        #expect(harness.play(at: 60) == "0")
        #expect(harness.send(0, at: 70) == .duplicate)
        #expect(harness.play(at: 80) == "1")
        #expect(harness.buffer.statistics.duplicates == 2)
        #expect(harness.buffer.statistics.played == 2)
    }

    @Test func dropsPacketsFarBehindAndResynchronisesOnAConfirmedRestart() {
        var harness = JitterBufferHarness()
        for sequence in UInt16(1000)..<1004 { harness.send(sequence, at: Int64(sequence - 1000) * 20) }
        #expect(harness.send(10, at: 70) == .late)
        #expect(harness.send(11, timestamp: 1000 + 4 * 160, at: 80) == .resynchronised)
        #expect(harness.buffer.statistics.resynchronisations == 1)
        #expect(harness.buffer.statistics.discarded == 4)
        #expect(harness.buffer.nextSequenceNumber == 11)
    }

    @Test func wrapsSequenceNumbersAt65535() {
        var harness = JitterBufferHarness()
        var sequence: UInt16 = 65532
        for index in 0..<8 {
            harness.send(sequence, timestamp: UInt32.max - 500 &+ UInt32(index) * 160, at: Int64(index) * 20)
            sequence &+= 1
        }
        let played = (0..<8).map { harness.play(at: 60 + Int64($0) * 20) }
        #expect(played == ["65532", "65533", "65534", "65535", "0", "1", "2", "3"])
        #expect(harness.buffer.statistics.missing == 0)
        #expect(harness.buffer.statistics.resynchronisations == 0)
    }

    @Test func wrapsWithACapacityThatDoesNotDivide65536() {
        // 40 slots are rounded up to 64: with 40, 65535 and 15 would share a slot.
        var harness = JitterBufferHarness(.init(clockRate: 8000, capacity: 40))
        #expect(harness.buffer.configuration.capacity == 64)
        var sequence: UInt16 = 65530
        for index in 0..<30 {
            #expect(harness.send(sequence, timestamp: UInt32(index) * 160, at: 0) == .accepted)
            sequence &+= 1
        }
        #expect(harness.buffer.bufferedFrames == 30)
        let played = (0..<30).map { harness.play(at: 60 + Int64($0) * 20) }
        #expect(played == (0..<30).map { "\(UInt16(65530) &+ UInt16($0))" })
    }

    @Test func resynchronisesOnSSRCChange() {
        var harness = JitterBufferHarness()
        for sequence in UInt16(0)..<4 { harness.send(sequence, at: Int64(sequence) * 20) }
        #expect(harness.play(at: 60) == "0")
        #expect(harness.send(30000, marker: true, ssrc: 0x1234, base: 77, at: 90) == .resynchronised)
        #expect(harness.buffer.statistics.discarded == 3)
        #expect(harness.buffer.bufferedFrames == 1)
        // Scheduled at arrival + target delay, and not before the frame already played ended.
        guard case .waiting(let until) = harness.poll(at: 100) else { Issue.record("not waiting"); return }
        #expect(until >= JitterBufferHarness.at(80))
        #expect(until == JitterBufferHarness.at(90) + harness.buffer.targetDelay)
        #expect(harness.play(at: 200) == "30000")
        #expect(harness.send(3, at: 210) == .late)  // the old stream's packets are behind
    }

    @Test func resynchronisesOnTimestampJumpAndDropsOversizedPackets() {
        var harness = JitterBufferHarness()
        harness.send(0, at: 0)
        harness.send(1, at: 20)
        #expect(harness.send(2, timestamp: 1000 + 320 + 8000 * 30, at: 40) == .resynchronised)
        var oversized = JitterBufferHarness(.init(clockRate: 8000, maximumPayloadSize: 2))
        #expect(oversized.send(0, at: 0) == .oversized)
        #expect(oversized.buffer.statistics.oversized == 1)
        #expect(oversized.play(at: 100) == "empty")
    }

    @Test func silenceWithoutPacketsIsNotLoss() {
        var harness = JitterBufferHarness()
        for sequence in UInt16(0)..<3 { harness.send(sequence, marker: sequence == 0, at: Int64(sequence) * 20) }
        #expect((0..<3).map { harness.play(at: 60 + Int64($0) * 20) } == ["0", "1", "2"])
        // DTX: 2 s of silence; the next talkspurt continues the sequence numbers.
        for tick in 0..<100 {
            let result = harness.play(at: 120 + Int64(tick) * 20)
            #expect(result == "empty")
        }
        let talkspurt: UInt32 = 1000 + 3 * 160 + 16000
        harness.send(3, timestamp: talkspurt, marker: true, at: 2060)
        harness.send(4, timestamp: talkspurt + 160, at: 2080)
        #expect(harness.play(at: 2070) == "wait")
        let delay = harness.buffer.targetDelay
        guard case .frame(let frame) = harness.poll(at: 2060 + delay.nanoseconds / 1_000_000 + 1) else {
            Issue.record("talkspurt did not start")
            return
        }
        #expect(frame.sequenceNumber == 3)
        #expect(frame.playoutTime == JitterBufferHarness.at(2060) + delay)
        #expect(harness.buffer.statistics.missing == 0)
    }

    /// Plays a talkspurt of `count` packets from `first` whose arrival is offset by
    /// `extraDelay(index)`; returns the delay its first frame was scheduled with.
    static func talkspurt(_ harness: inout JitterBufferHarness, first: UInt16, count: Int, start: Int64, extraDelay: (Int) -> Int64) -> Int64 {
        var scheduledDelay: Int64 = -1
        var played = 0
        var tick = start
        var sent = 0
        while played < count, tick < start + 10_000 {
            while sent < count, start + Int64(sent) * 20 + extraDelay(sent) <= tick {
                let sequence = first &+ UInt16(sent)
                // Timestamps follow the sender's clock, so the silence between talkspurts is in them.
                let timestamp = 1000 + UInt32(start / 20 + Int64(sent)) * 160
                harness.send(sequence, timestamp: timestamp, marker: sent == 0, at: start + Int64(sent) * 20 + extraDelay(sent))
                sent += 1
            }
            if case .frame(let frame) = harness.poll(at: tick) {
                if frame.sequenceNumber == first {
                    scheduledDelay = (frame.playoutTime - JitterBufferHarness.at(start + extraDelay(0))).nanoseconds / 1_000_000
                }
                played += 1
            }
            tick += 5
        }
        return scheduledDelay
    }

    @Test func targetDelayGrowsWithBurstJitterAndShrinksAfterward() {
        var harness = JitterBufferHarness(.init(clockRate: 8000, initialDelay: .milliseconds(40), minimumDelay: .milliseconds(20), maximumDelay: .milliseconds(300)))
        // A calm talkspurt: the initial delay.
        let calm = Self.talkspurt(&harness, first: 0, count: 50, start: 0, extraDelay: { _ in 0 })
        #expect(calm == 40)
        // A bursty talkspurt: every fourth packet 60 ms late.
        _ = Self.talkspurt(&harness, first: 50, count: 50, start: 2000, extraDelay: { $0 % 4 == 2 ? 60 : 0 })
        let jitterAfterBurst = harness.buffer.jitter
        #expect(jitterAfterBurst > .milliseconds(15))
        // The next talkspurt starts with a larger delay: 3 · jitter + 20 ms.
        let grown = Self.talkspurt(&harness, first: 100, count: 200, start: 4000, extraDelay: { _ in 0 })
        #expect(grown > 60)
        #expect(abs(grown - (3 * jitterAfterBurst.nanoseconds / 1_000_000 + 20)) <= 2)
        #expect(harness.buffer.statistics.missing == 0)
        // After a long calm talkspurt the estimate has decayed: the delay shrinks to the minimum.
        let shrunk = Self.talkspurt(&harness, first: 300, count: 20, start: 10000, extraDelay: { _ in 0 })
        #expect(shrunk == 20)
        #expect(harness.buffer.statistics.missing == 0)
        #expect(harness.buffer.statistics.late == 0)
    }
}
