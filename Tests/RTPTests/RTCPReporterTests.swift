import Glibc
import NIOCore
import Testing
@testable import RTP

/// A generator that always yields the same value.
struct FixedRandom: RandomNumberGenerator {
    var value: UInt64
    mutating func next() -> UInt64 { value }

    /// Makes `Double.random(in:)` return its lower bound (a small value that the stdlib's
    /// bounded sampling accepts at once; 0 would be rejected for ever).
    static let lowest = FixedRandom(value: 1 << 10)
    /// Makes `Double.random(in:)` return its upper bound.
    static let highest = FixedRandom(value: .max)
}

@Suite("RTCP reporter")
struct RTCPReporterTests {
    static let ssrc: UInt32 = 0x1122_3344
    static let peer: UInt32 = 0xAABB_CCDD
    static let cname = "abcdefghijklmnop"
    static let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    static func time(_ milliseconds: Int64) -> NIODeadline {
        start + .milliseconds(milliseconds)
    }

    static func reporter(clockRate: Int = 8000) -> RTCPReporter {
        RTCPReporter(ssrc: ssrc, cname: cname, clockRate: clockRate)
    }

    /// The reporter writes into a buffer and the bytes come back as an array.
    static func write(
        _ reporter: inout RTCPReporter, at now: NIODeadline, wallclock: NTPTimestamp, goodbye: Bool = false, capacity: Int = 512
    ) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: capacity)
        var random = FixedRandom.lowest
        let length = try buffer.withUnsafeMutableBytes { bytes in
            try reporter.writeReport(into: bytes, at: now, wallclock: wallclock, goodbye: goodbye, using: &random)
        }
        return Array(buffer[0..<length])
    }

    static func receive(_ reporter: inout RTCPReporter, _ bytes: [UInt8], at arrival: NIODeadline, wallclock: NTPTimestamp) throws -> TimeAmount? {
        try bytes.withUnsafeBytes { raw in
            reporter.receive(try RTCPCompoundPacket(validating: raw), arrival: arrival, wallclock: wallclock)
        }
    }

    /// The SDES chunk of `ssrc` with the 16-character CNAME, 28 bytes.
    static let sourceDescription = hex("81 CA 00 06  11 22 33 44  01 10 61 62 63 64 65 66 67 68 69 6A 6B 6C 6D 6E 6F 70 00 00")

    // MARK: Serialisation

    @Test func senderReportCarriesSendCountsTimestampMappingAndABlockPerSource() throws {
        var reporter = Self.reporter()
        // Three PCMU packets sent, 160 bytes each, 20 ms apart; a telephone event does not move
        // the timestamp mapping but is counted.
        for index in 0..<3 {
            reporter.recordSent(timestamp: 1000 + 160 * UInt32(index), payloadLength: 160, at: Self.time(Int64(index) * 20))
        }
        reporter.recordSent(timestamp: 1000, payloadLength: 4, timing: false, at: Self.time(45))
        // Received: 100 (probation), 101, 103, 104 — 102 lost.
        for sequence: UInt16 in [100, 101, 103, 104] {
            let offset = Int64(sequence - 100) * 20
            reporter.recordReceived(ssrc: Self.peer, sequenceNumber: sequence, timestamp: 160 * UInt32(sequence), payloadLength: 160, arrival: Self.time(offset))
        }
        // The peer's SR: NTP 0x00001234.56780000 arrives at 30 ms.
        let peerSR = hex("80 C8 00 06  AA BB CC DD  00 00 12 34  56 78 00 00  00 00 00 00  00 00 00 10  00 00 0A 00")
        #expect(try Self.receive(&reporter, peerSR, at: Self.time(30), wallclock: NTPTimestamp(seconds: 0xE000_0000, fraction: 0)) == nil)

        let bytes = try Self.write(&reporter, at: Self.time(50), wallclock: NTPTimestamp(seconds: 0xE000_0000, fraction: 0x8000_0000))
        let expected = hex("""
            81 C8 00 0C  11 22 33 44
            E0 00 00 00  80 00 00 00  00 00 05 78  00 00 00 04  00 00 01 E4
            AA BB CC DD  40 00 00 01  00 00 00 68  00 00 00 00  12 34 56 78  00 00 05 1E
            """) + Self.sourceDescription
        // RTP timestamp: 1320 + 10 ms at 8 kHz = 1400 (0x578); 4 packets, 484 octets; fraction
        // lost 1/4 = 64/256; LSR the middle of the peer's NTP; DLSR 20 ms = 1310/65536 s.
        #expect(bytes == expected)
        #expect(reporter.reportsSent == 1)
    }

    @Test func receiverReportWhenNothingWasSentInTheLastTwoIntervals() throws {
        var reporter = Self.reporter()
        reporter.recordSent(timestamp: 0, payloadLength: 160, at: Self.time(0))
        let wallclock = NTPTimestamp(seconds: 0xE000_0000, fraction: 0)
        let first = try Self.write(&reporter, at: Self.time(100), wallclock: wallclock)
        #expect(first[1] == RTCPPacketType.senderReport)
        // RFC 3550 §6.4: an SR while the previous interval had RTP sent...
        let second = try Self.write(&reporter, at: Self.time(5100), wallclock: wallclock)
        #expect(second[1] == RTCPPacketType.senderReport)
        // ...then an RR: an empty one when no source was heard, followed by the SDES.
        let third = try Self.write(&reporter, at: Self.time(10100), wallclock: wallclock)
        #expect(third == hex("80 C9 00 01  11 22 33 44") + Self.sourceDescription)
    }

    @Test func goodbyeFollowsTheReportAndTheDescription() throws {
        var reporter = Self.reporter()
        let bytes = try Self.write(&reporter, at: Self.time(0), wallclock: NTPTimestamp(seconds: 1, fraction: 0), goodbye: true)
        #expect(bytes == hex("80 C9 00 01  11 22 33 44") + Self.sourceDescription + hex("81 CB 00 01  11 22 33 44"))
        try bytes.withUnsafeBytes { raw in
            let compound = try RTCPCompoundPacket(validating: raw)
            #expect(compound.packetCount == 3)
        }
    }

    @Test func aBufferTooSmallChangesNothing() throws {
        var reporter = Self.reporter()
        for sequence: UInt16 in [1, 2, 4] {
            reporter.recordReceived(ssrc: Self.peer, sequenceNumber: sequence, timestamp: 0, payloadLength: 160, arrival: Self.time(Int64(sequence) * 20))
        }
        #expect(throws: RTCPWriteError.bufferTooSmall) {
            _ = try Self.write(&reporter, at: Self.time(100), wallclock: NTPTimestamp(seconds: 1, fraction: 0), capacity: 40)
        }
        #expect(reporter.reportsSent == 0)
        // The interval's loss is still reported in full: 1 of 3 expected (2...4) → 85/256.
        let bytes = try Self.write(&reporter, at: Self.time(100), wallclock: NTPTimestamp(seconds: 1, fraction: 0))
        #expect(bytes[0] == 0x81 && bytes[1] == RTCPPacketType.receiverReport)
        #expect(bytes[12] == 85)
    }

    // MARK: Report blocks from a receive history

    @Test func reportBlocksFollowLossReorderingWrapAndJitter() throws {
        var reporter = Self.reporter()
        // Sequence numbers across the wrap, 65535 arriving late (after 0), 2 lost; one packet
        // (3) 10 ms late. Timestamps advance 160 per sequence number.
        let history: [(sequence: UInt16, index: Int64, late: Int64)] = [
            (65532, 0, 0), (65533, 1, 0), (65534, 2, 0), (0, 4, 0), (65535, 3, 25), (1, 5, 0), (3, 7, 10), (4, 8, 0),
        ]
        for (sequence, index, late) in history {
            reporter.recordReceived(
                ssrc: Self.peer, sequenceNumber: sequence, timestamp: 10_000 + 160 * UInt32(index), payloadLength: 160,
                arrival: Self.time(index * 20 + late)
            )
        }
        let bytes = try Self.write(&reporter, at: Self.time(200), wallclock: NTPTimestamp(seconds: 1, fraction: 0))
        let block = try bytes.withUnsafeBytes { raw -> RTCPReportBlock in
            let compound = try RTCPCompoundPacket(validating: raw)
            guard case .receiverReport(let report)? = try compound.first(where: { _ in true })?.message() else {
                throw RTCPParseError.malformed
            }
            #expect(report.reportBlocks.count == 1)
            return report.reportBlocks[0]
        }
        // Base 65533 (after probation), highest 4 in cycle 1: expected 65536 + 4 − 65533 + 1 = 8,
        // received 7 (65533, 65534, 0, 65535, 1, 3, 4): 1 lost, fraction 256/8 = 32.
        #expect(block.ssrc == Self.peer)
        #expect(block.extendedHighestSequenceNumber == 0x1_0004)
        #expect(block.cumulativeLost == 1)
        #expect(block.fractionLost == 32)
        // Jitter (A.8, 8 kHz): the transit time only changes with the lateness, so |D| is 0, 0,
        // 200 (25 ms late), 200 (back on time), 80 (10 ms late), 80; J += (|D| − J)/16 gives
        // 0, 0, 12.5, 24.22, 27.71, 30.97. Also checked against a plain A.8 reimplementation.
        var jitter = 0.0
        var previousTransit: Int64?
        for (_, index, late) in history.dropFirst() {
            let arrivalUnits = (5000 + index * 20 + late) * 8
            let transit = arrivalUnits - (10_000 + 160 * index)
            if let previousTransit { jitter += (Double(abs(transit - previousTransit)) - jitter) / 16 }
            previousTransit = transit
        }
        #expect(block.jitter == UInt32(jitter.rounded(.down)))
        #expect(block.jitter == 30)
        #expect(block.lastSenderReport == 0 && block.delaySinceLastSenderReport == 0)

        // The next interval: 5...9 arrive, nothing lost in it; cumulative stays 1.
        for sequence: UInt16 in 5...9 {
            reporter.recordReceived(ssrc: Self.peer, sequenceNumber: sequence, timestamp: 10_000 + 160 * UInt32(sequence + 4), payloadLength: 160, arrival: Self.time(Int64(sequence + 4) * 20))
        }
        let next = try Self.write(&reporter, at: Self.time(5200), wallclock: NTPTimestamp(seconds: 6, fraction: 0))
        #expect(Array(next[12..<16]) == [0, 0, 0, 1])  // fraction 0, cumulative 1
        #expect(Array(next[16..<20]) == [0, 1, 0, 9])
    }

    @Test func onlySourcesHeardSinceTheLastReportGetABlock() throws {
        var reporter = Self.reporter()
        for sequence: UInt16 in 1...3 {
            reporter.recordReceived(ssrc: 7, sequenceNumber: sequence, timestamp: 0, payloadLength: 1, arrival: Self.time(Int64(sequence)))
            reporter.recordReceived(ssrc: 8, sequenceNumber: sequence, timestamp: 0, payloadLength: 1, arrival: Self.time(Int64(sequence)))
        }
        let both = try Self.write(&reporter, at: Self.time(100), wallclock: NTPTimestamp(seconds: 1, fraction: 0))
        #expect(both[0] & 0x1F == 2)
        reporter.recordReceived(ssrc: 8, sequenceNumber: 4, timestamp: 0, payloadLength: 1, arrival: Self.time(200))
        let one = try Self.write(&reporter, at: Self.time(5100), wallclock: NTPTimestamp(seconds: 6, fraction: 0))
        #expect(one[0] & 0x1F == 1)
        #expect(Array(one[8..<12]) == [0, 0, 0, 8])
        // A BYE ends membership; the statistics stay for the call's report.
        let bye = hex("81 CB 00 01  00 00 00 08")
        _ = try Self.receive(&reporter, bye, at: Self.time(5200), wallclock: NTPTimestamp(seconds: 6, fraction: 0))
        reporter.recordReceived(ssrc: 7, sequenceNumber: 4, timestamp: 0, payloadLength: 1, arrival: Self.time(5300))
        #expect(reporter.sources.first { $0.ssrc == 8 }?.hasLeft == true)
        #expect(reporter.mainSource?.receivedPackets == 3)
    }

    // MARK: Round-trip time

    @Test func roundTripTimeFromTheBlockAboutOurSSRC() throws {
        var reporter = Self.reporter()
        reporter.recordSent(timestamp: 0, payloadLength: 160, at: Self.time(0))
        // Our SR goes out at NTP 0xE0000010.00000000: LSR 0x00100000.
        let sr = try Self.write(&reporter, at: Self.time(100), wallclock: NTPTimestamp(seconds: 0xE000_0010, fraction: 0))
        #expect(Array(sr[8..<16]) == hex("E0 00 00 10 00 00 00 00"))
        // The peer's RR: a block about another SSRC (ignored), then ours with LSR 0x00100000 and
        // DLSR 0.25 s, arriving 0.3125 s after our SR: RTT = 0x5000 − 0x4000 units = 62.5 ms.
        let rr = hex("""
            82 C9 00 0D  AA BB CC DD
            00 00 00 09  00 00 00 00  00 00 00 01  00 00 00 00  00 10 00 00  00 00 10 00
            11 22 33 44  00 00 00 00  00 00 00 01  00 00 00 00  00 10 00 00  00 00 40 00
            """)
        let arrival = NTPTimestamp(seconds: 0xE000_0010, fraction: 0x5000_0000)
        let rtt = try #require(try Self.receive(&reporter, rr, at: Self.time(412), wallclock: arrival))
        #expect(rtt == .microseconds(62_500))
        #expect(reporter.roundTripTime == .microseconds(62_500))
        // A block without LSR (the peer has no SR from us yet) measures nothing and keeps the last value.
        let noSR = hex("81 C9 00 07  AA BB CC DD  11 22 33 44  00 00 00 00  00 00 00 01  00 00 00 00  00 00 00 00  00 00 00 00")
        #expect(try Self.receive(&reporter, noSR, at: Self.time(500), wallclock: arrival) == nil)
        #expect(reporter.roundTripTime == .microseconds(62_500))
    }

    @Test func lastSenderReportAndDelayFollowThePeersLatestSR() throws {
        var reporter = Self.reporter()
        for sequence: UInt16 in 1...3 {
            reporter.recordReceived(ssrc: Self.peer, sequenceNumber: sequence, timestamp: 0, payloadLength: 1, arrival: Self.time(Int64(sequence)))
        }
        let wallclock = NTPTimestamp(seconds: 1, fraction: 0)
        _ = try Self.receive(&reporter, hex("80 C8 00 06  AA BB CC DD  00 00 00 01  00 01 00 00  00 00 00 00  00 00 00 01  00 00 00 01"), at: Self.time(100), wallclock: wallclock)
        _ = try Self.receive(&reporter, hex("80 C8 00 06  AA BB CC DD  00 00 00 02  00 02 00 00  00 00 00 00  00 00 00 02  00 00 00 02"), at: Self.time(1000), wallclock: wallclock)
        let bytes = try Self.write(&reporter, at: Self.time(1500), wallclock: wallclock)
        #expect(Array(bytes[24..<28]) == hex("00 02 00 02"))  // LSR of the second SR
        #expect(Array(bytes[28..<32]) == hex("00 00 80 00"))  // 0.5 s since it arrived
    }

    // MARK: Interval

    @Test func deterministicIntervalFollowsRFC3550A7() {
        let interval = RTCPReportInterval(sessionBandwidth: 64_000)
        #expect(interval.rtcpBandwidth == 400)
        // Two members: the 5 s minimum, halved before the first report.
        #expect(interval.deterministic(members: 2, senders: 2, weSent: true, averagePacketSize: 100, initial: false) == .seconds(5))
        #expect(interval.deterministic(members: 2, senders: 1, weSent: false, averagePacketSize: 100, initial: true) == .milliseconds(2500))
        // 100 members, 1 sender, this one a receiver: 99 share 75% of 400 octets/s → 99 × 100 / 300 = 33 s.
        #expect(interval.deterministic(members: 100, senders: 1, weSent: false, averagePacketSize: 100, initial: false) == .seconds(33))
        // The one sender has 25% to itself: 1 × 100 / 100 = 1 s → the minimum.
        #expect(interval.deterministic(members: 100, senders: 1, weSent: true, averagePacketSize: 100, initial: false) == .seconds(5))
        // Many senders share the whole bandwidth among all members: 40 × 200 / 400 = 20 s.
        #expect(interval.deterministic(members: 40, senders: 20, weSent: true, averagePacketSize: 200, initial: false) == .seconds(20))
    }

    @Test func randomisedIntervalStaysWithinHalfAndOneAndAHalfTimes() {
        var lowest = FixedRandom.lowest
        #expect(RTCPReportInterval.randomised(.seconds(5), using: &lowest) == .milliseconds(2500))
        var highest = FixedRandom.highest
        let top = RTCPReportInterval.randomised(.seconds(5), using: &highest)
        #expect(top <= .milliseconds(7500) && top > .milliseconds(7499))
        var generator = SystemRandomNumberGenerator()
        var total: Int64 = 0
        for _ in 0..<2000 {
            let value = RTCPReportInterval.randomised(.seconds(5), using: &generator)
            #expect(value >= .milliseconds(2500) && value <= .milliseconds(7500))
            total += value.nanoseconds
        }
        #expect(abs(Double(total) / 2000 / 1e9 - 5) < 0.2)
    }

    @Test func theFirstReportFollowsMediaSoonAndTheNextOnesTheInterval() throws {
        var reporter = Self.reporter()
        var random = FixedRandom.lowest
        #expect(!reporter.reportIsDue(at: Self.time(60_000), using: &random))
        #expect(reporter.nextReport == nil)
        reporter.recordReceived(ssrc: Self.peer, sequenceNumber: 1, timestamp: 0, payloadLength: 160, arrival: Self.time(1000))
        // Initial: 2.5 s × 0.5 after the first packet.
        #expect(!reporter.reportIsDue(at: Self.time(2249), using: &random))
        #expect(reporter.nextReport == Self.time(2250))
        #expect(reporter.reportIsDue(at: Self.time(2250), using: &random))
        _ = try Self.write(&reporter, at: Self.time(2300), wallclock: NTPTimestamp(seconds: 1, fraction: 0))
        // Then 5 s × 0.5 (the fixed generator's lowest factor).
        #expect(reporter.nextReport == Self.time(4800))
        var upper = FixedRandom.highest
        var other = Self.reporter()
        other.recordSent(timestamp: 0, payloadLength: 1, at: Self.time(0))
        #expect(!other.reportIsDue(at: Self.time(3749), using: &upper))
        let initial = try #require(other.nextReport)
        #expect(initial > Self.time(3749) && initial <= Self.time(3750))
    }
}

/// The allocation counter of `Benchmarks/Transcoding/AllocationCounter`, when it is preloaded
/// (`LD_PRELOAD=…/libAllocationCounter.so swift test --skip-build --no-parallel --filter
/// RTCPReporterAllocationTests`).
let allocationCount: (@convention(c) () -> Int)? = {
    guard let symbol = dlsym(nil, "switchboard_allocation_count") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) () -> Int).self)
}()

@Suite("RTCP reporter allocations")
struct RTCPReporterAllocationTests {
    /// The per-packet events and the peer's reports allocate nothing once the source is known.
    /// (Writing a report, every few seconds, is not counted: in an unoptimised build the
    /// writer's generic report-block parameter still allocates there.)
    @Test(.enabled(if: allocationCount != nil, "needs the allocation counter preloaded"))
    func packetsAndIncomingReportsAllocateNothing() throws {
        let count = try #require(allocationCount)
        var reporter = RTCPReporter(ssrc: 1, cname: "a CNAME longer than fifteen bytes", clockRate: 8000)
        let peerReport = hex("""
            81 C8 00 0C  00 00 00 02  00 00 12 34  56 78 00 00  00 00 00 00  00 00 00 10  00 00 0A 00
            00 00 00 01  00 00 00 00  00 00 00 01  00 00 00 00  00 10 00 00  00 00 10 00
            """)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var random = SystemRandomNumberGenerator()
        // Counted per run of 1000 packets; the counter is process-wide, so another thread of
        // the test runner may allocate now and then: the quietest run must show none. A real
        // allocation shows in every run (at least 20: one per incoming report).
        var runs: [Int] = []
        runs.reserveCapacity(5)
        var index = 0
        for run in 0..<6 {
            var allocations = 0
            for _ in 0..<1000 {
                let now = start + .milliseconds(Int64(index) * 20)
                let before = count()
                reporter.recordSent(timestamp: UInt32(index) * 160, payloadLength: 160, at: now)
                reporter.recordReceived(
                    ssrc: 2, sequenceNumber: UInt16(truncatingIfNeeded: index), timestamp: UInt32(index) * 160, payloadLength: 160, arrival: now
                )
                if index % 50 == 0 {
                    try peerReport.withUnsafeBytes { raw in
                        _ = reporter.receive(
                            try RTCPCompoundPacket(validating: raw), arrival: now, wallclock: NTPTimestamp(seconds: 0x10, fraction: 0x5000_0000)
                        )
                    }
                    _ = reporter.reportIsDue(at: now, using: &random)
                }
                allocations += count() - before
                index += 1
            }
            // The first run makes the source's room.
            if run > 0 { runs.append(allocations) }
        }
        #expect(runs.min() == 0, "allocations per 1000 packets: \(runs)")
        #expect(reporter.roundTripTime == .milliseconds(250))
        #expect(reporter.mainSource?.receivedPackets == 5999)
    }
}
