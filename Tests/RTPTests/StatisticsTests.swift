import NIOCore
import Testing
@testable import RTP

@Suite("RTP statistics")
struct StatisticsTests {
    /// 20 ms of audio at 8 kHz.
    static let frame: UInt32 = 160
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func time(_ milliseconds: Int64) -> NIODeadline {
        start + .milliseconds(milliseconds)
    }

    @Test func countsLossAndFractionLostPerInterval() {
        var statistics = RTPReceiveStatistics(clockRate: 8000)
        let lost: Set<UInt16> = [7, 8, 15]
        for sequence in UInt16(1)...20 where !lost.contains(sequence) {
            statistics.record(sequenceNumber: sequence, timestamp: UInt32(sequence) * Self.frame, arrival: Self.time(Int64(sequence) * 20))
        }
        // Probation: the first packet is not counted, the base is the second (RFC 3550 A.1).
        #expect(statistics.isValid)
        #expect(statistics.extendedHighestSequenceNumber == 20)
        #expect(statistics.expectedPackets == 19)
        #expect(statistics.receivedPackets == 16)
        #expect(statistics.cumulativeLost == 3)
        let first = statistics.makeReportBlock(ssrc: 99, now: Self.time(500))
        #expect(first.ssrc == 99)
        #expect(first.fractionLost == 40)  // 3 × 256 / 19
        #expect(first.cumulativeLost == 3)
        #expect(first.extendedHighestSequenceNumber == 20)
        #expect(first.lastSenderReport == 0)
        #expect(first.delaySinceLastSenderReport == 0)

        for sequence in UInt16(21)...30 {
            statistics.record(sequenceNumber: sequence, timestamp: UInt32(sequence) * Self.frame, arrival: Self.time(Int64(sequence) * 20))
        }
        let second = statistics.makeReportBlock(ssrc: 99, now: Self.time(700))
        #expect(second.fractionLost == 0)
        #expect(second.cumulativeLost == 3)
        #expect(second.extendedHighestSequenceNumber == 30)
    }

    @Test func probationNeedsSequentialPackets() {
        var statistics = RTPReceiveStatistics(clockRate: 8000)
        #expect(statistics.record(sequenceNumber: 10, timestamp: 0, arrival: Self.start) == .probation)
        #expect(statistics.record(sequenceNumber: 50, timestamp: 0, arrival: Self.start) == .probation)
        #expect(!statistics.isValid)
        #expect(statistics.record(sequenceNumber: 51, timestamp: 0, arrival: Self.start) == .accepted)
        #expect(statistics.isValid)
        #expect(statistics.expectedPackets == 1)
        var immediate = RTPReceiveStatistics(clockRate: 8000, minimumSequential: 0)
        #expect(immediate.record(sequenceNumber: 10, timestamp: 0, arrival: Self.start) == .accepted)
        #expect(immediate.expectedPackets == 1)
        #expect(immediate.receivedPackets == 1)
    }

    @Test func extendsSequenceAcrossWrapAndCountsDuplicates() {
        var statistics = RTPReceiveStatistics(clockRate: 8000, minimumSequential: 0)
        var sequence: UInt16 = 65530
        for index in 0..<12 {
            statistics.record(sequenceNumber: sequence, timestamp: UInt32(index) * Self.frame, arrival: Self.time(Int64(index) * 20))
            sequence &+= 1
        }
        #expect(statistics.extendedHighestSequenceNumber == 65536 + 5)
        #expect(statistics.expectedPackets == 12)
        // A reordered packet from before the wrap does not count a second cycle.
        statistics.record(sequenceNumber: 65535, timestamp: 5 * Self.frame, arrival: Self.time(300))
        #expect(statistics.extendedHighestSequenceNumber == 65536 + 5)
        #expect(statistics.receivedPackets == 13)
        #expect(statistics.cumulativeLost == -1)
        #expect(statistics.makeReportBlock(ssrc: 1, now: Self.time(400)).cumulativeLost == -1)
    }

    @Test func restartsAfterAConfirmedJump() {
        var statistics = RTPReceiveStatistics(clockRate: 8000, minimumSequential: 0)
        for sequence in UInt16(100)...110 {
            statistics.record(sequenceNumber: sequence, timestamp: 0, arrival: Self.start)
        }
        #expect(statistics.record(sequenceNumber: 40000, timestamp: 0, arrival: Self.start) == .badSequence)
        #expect(statistics.expectedPackets == 11)
        #expect(statistics.record(sequenceNumber: 40001, timestamp: 0, arrival: Self.start) == .restarted)
        #expect(statistics.expectedPackets == 1)
        #expect(statistics.receivedPackets == 1)
        #expect(statistics.record(sequenceNumber: 40002, timestamp: 0, arrival: Self.start) == .accepted)
        #expect(statistics.extendedHighestSequenceNumber == 40002)
    }

    @Test func jitterIsZeroForConstantTransitAndFollowsA8Otherwise() {
        var steady = RTPReceiveStatistics(clockRate: 8000, minimumSequential: 0)
        for index in 0..<50 {
            steady.record(sequenceNumber: UInt16(index), timestamp: 1000 + UInt32(index) * Self.frame, arrival: Self.time(Int64(index) * 20))
        }
        #expect(steady.jitter == 0)

        // Every other packet arrives 10 ms late: |D| = 80 timestamp units on every packet after
        // the first, so J(n) = 80 · (1 − (15/16)^n).
        var alternating = RTPReceiveStatistics(clockRate: 8000, minimumSequential: 0)
        for index in 0..<3 {
            let late: Int64 = index % 2 == 1 ? 10 : 0
            alternating.record(sequenceNumber: UInt16(index), timestamp: UInt32(index) * Self.frame, arrival: Self.time(Int64(index) * 20 + late))
        }
        #expect(alternating.jitter == 9.6875)  // 5, then 5 + 75/16
        for index in 3..<200 {
            let late: Int64 = index % 2 == 1 ? 10 : 0
            alternating.record(sequenceNumber: UInt16(index), timestamp: UInt32(index) * Self.frame, arrival: Self.time(Int64(index) * 20 + late))
        }
        #expect(abs(alternating.jitter - 80) < 0.01)
        #expect(abs(alternating.jitterSeconds - 0.010) < 0.000_01)
        #expect(alternating.makeReportBlock(ssrc: 1, now: Self.time(5000)).jitter == 79)

        // The arrival clock is converted at the stream's rate: the same 10 ms at 48 kHz is 480.
        var opus = RTPReceiveStatistics(clockRate: 48000, minimumSequential: 0)
        opus.record(sequenceNumber: 0, timestamp: 0, arrival: Self.time(0))
        opus.record(sequenceNumber: 1, timestamp: 960, arrival: Self.time(30))
        #expect(opus.jitter == 30)  // 480 / 16
    }

    @Test func reportBlockCarriesLastSenderReportAndDelay() {
        var statistics = RTPReceiveStatistics(clockRate: 8000, minimumSequential: 0)
        statistics.record(sequenceNumber: 1, timestamp: 0, arrival: Self.start)
        statistics.recordSenderReport(NTPTimestamp(seconds: 0xAABB_1234, fraction: 0x5678_0000), arrival: Self.time(1000))
        let block = statistics.makeReportBlock(ssrc: 7, now: Self.time(1500))
        #expect(block.lastSenderReport == 0x1234_5678)
        #expect(block.delaySinceLastSenderReport == 0x8000)  // 0.5 s
    }

    @Test func roundTripTimeFromRFC3550Example() throws {
        // RFC 3550 §6.4.1, Figure 2: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000.
        let block = RTCPReportBlock(
            ssrc: 1, fractionLost: 0, cumulativeLost: 0, extendedHighestSequenceNumber: 0, jitter: 0,
            lastSenderReport: 0xB705_2000, delaySinceLastSenderReport: 0x0005_4000
        )
        let arrival = NTPTimestamp(rawValue: UInt64(0xB710_8000) << 16)
        let rtt = try #require(RoundTripTime.from(block, arrival: arrival))
        #expect(rtt == .milliseconds(6125))
        var noReport = block
        noReport.lastSenderReport = 0
        #expect(RoundTripTime.from(noReport, arrival: arrival) == nil)
        #expect(RoundTripTime.from(block, arrival: NTPTimestamp(rawValue: UInt64(0xB705_2000) << 16)) == nil)
    }

    @Test func sendStatisticsExtrapolateTheRTPTimestamp() {
        var statistics = RTPSendStatistics(clockRate: 48000)
        for index in 0..<3 {
            statistics.record(payloadLength: 100, timestamp: 960 * UInt32(index), at: Self.time(Int64(index) * 20))
        }
        let wallclock = NTPTimestamp(seconds: 1, fraction: 2)
        let info = statistics.senderInfo(at: Self.time(50), wallclock: wallclock)
        #expect(info.packetCount == 3)
        #expect(info.octetCount == 300)
        #expect(info.ntpTimestamp == wallclock)
        #expect(info.rtpTimestamp == 1920 + 480)  // 10 ms after the last packet
    }

    @Test func voiceQualityFollowsTheEModel() {
        let perfect = VoiceQualityEstimate(packetLoss: 0, jitter: .zero, roundTripTime: .zero, codec: .g711)
        #expect(abs(perfect.rating - 92.96) < 0.001)  // only the 10 ms allowance: Id = 0.24
        #expect(abs(VoiceQualityEstimate.meanOpinionScore(rating: 93.2) - 4.41) < 0.005)
        #expect(VoiceQualityEstimate.meanOpinionScore(rating: -3) == 1)
        #expect(VoiceQualityEstimate.meanOpinionScore(rating: 120) == 4.5)
        // The G.107 cubic would dip below 1 for small positive ratings; every rating maps into 1...4.5.
        for rating in stride(from: 0.0, through: 100, by: 0.25) {
            #expect((1...4.5).contains(VoiceQualityEstimate.meanOpinionScore(rating: rating)), "R \(rating)")
        }

        // 1 % random loss, G.711 without concealment: Ie,eff = 95 · 1 / (1 + 4.3) ≈ 17.92.
        let lossy = VoiceQualityEstimate(packetLoss: 0.01, jitter: .zero, roundTripTime: .zero, codec: .g711)
        #expect(abs(lossy.rating - (92.96 - 17.925)) < 0.01)
        let concealed = VoiceQualityEstimate(packetLoss: 0.01, jitter: .zero, roundTripTime: .zero, codec: .g711WithConcealment)
        #expect(concealed.meanOpinionScore > lossy.meanOpinionScore)

        // 400 ms RTT, 20 ms jitter: d = 200 + 40 + 10 = 250 ms, Id = 6 + 0.11 · 72.7 = 13.997.
        let slow = VoiceQualityEstimate(packetLoss: 0, jitter: .milliseconds(20), roundTripTime: .milliseconds(400), codec: .opus)
        #expect(abs(slow.rating - (93.2 - 13.997)) < 0.001)
        #expect(slow.meanOpinionScore < perfect.meanOpinionScore)
        let nonsense = VoiceQualityEstimate(packetLoss: .nan, jitter: .zero, roundTripTime: .zero, codec: .opus)
        #expect(nonsense.rating == perfect.rating)
    }
}
