public import NIOCore

/// What the receive statistics made of a packet's sequence number (RFC 3550 A.1).
public enum RTPSequenceOutcome: Equatable, Hashable, Sendable {
    /// Counted: in order, a small forward jump, or a reordered or duplicate packet within the
    /// misorder window.
    case accepted
    /// The source is still on probation (fewer than the required sequential packets so far).
    case probation
    /// A large jump; the stream restarts if the next packet follows this one.
    case badSequence
    /// A large jump confirmed by the next packet: the statistics restarted at this packet.
    case restarted
}

/// Reception statistics of one RTP source (RFC 3550 A.1, A.3, A.8): sequence tracking with
/// wrap-around and probation, expected and received counts, cumulative and fractional loss, and
/// interarrival jitter. A plain value updated per packet; never allocates.
public struct RTPReceiveStatistics: Sendable {
    /// Packets after a jump beyond this are a restart candidate (RFC 3550 A.1 `MAX_DROPOUT`).
    public static let maximumDropout: UInt16 = 3000
    /// Packets this far behind are reordered or duplicates (RFC 3550 A.1 `MAX_MISORDER`).
    public static let maximumMisorder: UInt16 = 100

    /// The RTP clock rate of the stream, in Hz (clamped to 1 Hz...10 MHz).
    public let clockRate: Int
    /// Sequential packets required before the source is valid (RFC 3550 `MIN_SEQUENTIAL`).
    public let minimumSequential: Int

    private var started = false
    private var maximumSequence: UInt16 = 0
    private var cycles: UInt32 = 0
    private var baseSequence: UInt32 = 0
    private var badSequence: UInt32 = 0x1_0001
    private var probation = 0
    /// Packets counted as received (RFC 3550 `received`; duplicates count).
    public private(set) var receivedPackets: UInt64 = 0
    private var expectedPrior: Int64 = 0
    private var receivedPrior: UInt64 = 0
    private var lastTransit: UInt32 = 0
    private var hasTransit = false
    /// The interarrival jitter estimate, in timestamp units (RFC 3550 A.8).
    public private(set) var jitter: Double = 0
    private var lastSenderReport: UInt32 = 0
    private var lastSenderReportArrival: NIODeadline?
    /// Payload octets of counted packets.
    public private(set) var receivedOctets: UInt64 = 0

    /// Statistics for a stream with `clockRate` (8000 for G.711, 48000 for Opus).
    public init(clockRate: Int, minimumSequential: Int = 2) {
        self.clockRate = min(max(clockRate, 1), 10_000_000)
        self.minimumSequential = max(minimumSequential, 0)
    }

    /// The source has passed probation.
    public var isValid: Bool { started && probation == 0 }

    /// The highest sequence number received, extended with the count of wrap-arounds.
    public var extendedHighestSequenceNumber: UInt32 { cycles &+ UInt32(maximumSequence) }

    /// Packets expected from the first counted sequence number to the highest.
    public var expectedPackets: Int64 {
        guard isValid else { return 0 }
        return Int64(extendedHighestSequenceNumber) - Int64(baseSequence) + 1
    }

    /// Packets lost since the start (negative when duplicates arrived).
    public var cumulativeLost: Int64 { expectedPackets - Int64(receivedPackets) }

    /// The jitter estimate in seconds.
    public var jitterSeconds: Double { jitter / Double(clockRate) }

    private mutating func initialise(_ sequence: UInt16) {
        baseSequence = UInt32(sequence)
        maximumSequence = sequence
        badSequence = 0x1_0001
        cycles = 0
        receivedPackets = 0
        receivedPrior = 0
        expectedPrior = 0
        receivedOctets = 0
    }

    /// The arrival time in timestamp units (wrapping, like an RTP timestamp).
    private func timestampUnits(_ arrival: NIODeadline) -> UInt32 {
        let nanoseconds = arrival.uptimeNanoseconds
        let rate = UInt64(clockRate)
        let seconds = nanoseconds / 1_000_000_000
        let remainder = nanoseconds % 1_000_000_000
        return UInt32(truncatingIfNeeded: seconds &* rate &+ remainder * rate / 1_000_000_000)
    }

    /// Records a received packet (RFC 3550 A.1 `update_seq`, and A.8 jitter for counted packets).
    @discardableResult
    public mutating func record(
        sequenceNumber sequence: UInt16,
        timestamp: UInt32,
        payloadLength: Int = 0,
        arrival: NIODeadline
    ) -> RTPSequenceOutcome {
        if !started {
            started = true
            initialise(sequence)
            maximumSequence = sequence &- 1
            probation = minimumSequential
            if probation == 0 {
                maximumSequence = sequence
                count(timestamp: timestamp, payloadLength: payloadLength, arrival: arrival)
                return .accepted
            }
        }
        let delta = sequence &- maximumSequence
        var outcome = RTPSequenceOutcome.accepted
        if probation > 0 {
            guard sequence == maximumSequence &+ 1 else {
                probation = minimumSequential - 1
                maximumSequence = sequence
                return .probation
            }
            probation -= 1
            maximumSequence = sequence
            guard probation == 0 else { return .probation }
            initialise(sequence)
        } else if delta < RTPReceiveStatistics.maximumDropout {
            if sequence < maximumSequence { cycles &+= 0x1_0000 }
            maximumSequence = sequence
        } else if delta <= UInt16.max - RTPReceiveStatistics.maximumMisorder {
            guard UInt32(sequence) == badSequence else {
                badSequence = (UInt32(sequence) + 1) & 0xFFFF
                return .badSequence
            }
            initialise(sequence)
            hasTransit = false
            outcome = .restarted
        }
        count(timestamp: timestamp, payloadLength: payloadLength, arrival: arrival)
        return outcome
    }

    private mutating func count(timestamp: UInt32, payloadLength: Int, arrival: NIODeadline) {
        receivedPackets &+= 1
        receivedOctets &+= UInt64(max(payloadLength, 0))
        let transit = timestampUnits(arrival) &- timestamp
        if hasTransit {
            let difference = Int32(bitPattern: transit &- lastTransit)
            let magnitude = Double(difference.magnitude)
            jitter += (magnitude - jitter) / 16
        }
        lastTransit = transit
        hasTransit = true
    }

    /// Records the arrival of a sender report from this source, for LSR and DLSR in the next
    /// report block.
    public mutating func recordSenderReport(_ ntpTimestamp: NTPTimestamp, arrival: NIODeadline) {
        lastSenderReport = ntpTimestamp.compact
        lastSenderReportArrival = arrival
    }

    /// The report block about this source at `now`, and the start of a new reporting interval
    /// for the fraction lost (RFC 3550 A.3).
    public mutating func makeReportBlock(ssrc: UInt32, now: NIODeadline) -> RTCPReportBlock {
        let expected = expectedPackets
        let expectedInterval = expected - expectedPrior
        expectedPrior = expected
        let receivedInterval = Int64(truncatingIfNeeded: receivedPackets &- receivedPrior)
        receivedPrior = receivedPackets
        let lostInterval = expectedInterval - receivedInterval
        var fraction: UInt8 = 0
        if expectedInterval > 0, lostInterval > 0 {
            fraction = UInt8(min((lostInterval << 8) / expectedInterval, 255))
        }
        var delay: UInt32 = 0
        if let arrival = lastSenderReportArrival {
            delay = CompactNTPDuration.units(nanoseconds: (now - arrival).nanoseconds)
        }
        return RTCPReportBlock(
            ssrc: ssrc,
            fractionLost: fraction,
            cumulativeLost: Int32(min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)),
            extendedHighestSequenceNumber: extendedHighestSequenceNumber,
            jitter: UInt32(min(jitter.rounded(.down), Double(UInt32.max))),
            lastSenderReport: lastSenderReportArrival == nil ? 0 : lastSenderReport,
            delaySinceLastSenderReport: delay
        )
    }
}

/// Send-side statistics of one RTP stream, for the sender information of an SR (RFC 3550 §6.4.1).
public struct RTPSendStatistics: Sendable {
    /// The RTP clock rate of the stream, in Hz (clamped to 1 Hz...10 MHz).
    public let clockRate: Int
    /// Packets sent.
    public private(set) var packetCount: UInt32 = 0
    /// Payload octets sent.
    public private(set) var octetCount: UInt32 = 0
    /// The RTP timestamp of the last packet sent.
    public private(set) var lastTimestamp: UInt32 = 0
    /// When the last packet was sent.
    public private(set) var lastSendTime: NIODeadline?

    /// Statistics for a stream with `clockRate`.
    public init(clockRate: Int) {
        self.clockRate = min(max(clockRate, 1), 10_000_000)
    }

    /// Records a sent packet.
    public mutating func record(payloadLength: Int, timestamp: UInt32, at time: NIODeadline) {
        packetCount &+= 1
        octetCount &+= UInt32(truncatingIfNeeded: max(payloadLength, 0))
        lastTimestamp = timestamp
        lastSendTime = time
    }

    /// Counts a sent packet without moving the RTP timestamp mapping (for packets whose
    /// timestamp does not follow the media clock, such as telephone events).
    public mutating func count(payloadLength: Int) {
        packetCount &+= 1
        octetCount &+= UInt32(truncatingIfNeeded: max(payloadLength, 0))
    }

    /// The sender information for an SR sent at `now`, whose wallclock is `wallclock`: the RTP
    /// timestamp is the last one sent advanced by the time since, at the clock rate.
    public func senderInfo(at now: NIODeadline, wallclock: NTPTimestamp) -> RTCPSenderInfo {
        var timestamp = lastTimestamp
        if let lastSendTime, now > lastSendTime {
            let elapsed = UInt64((now - lastSendTime).nanoseconds)
            let units = elapsed / 1_000_000_000 &* UInt64(clockRate) &+ (elapsed % 1_000_000_000) * UInt64(clockRate) / 1_000_000_000
            timestamp &+= UInt32(truncatingIfNeeded: units)
        }
        return RTCPSenderInfo(ntpTimestamp: wallclock, rtpTimestamp: timestamp, packetCount: packetCount, octetCount: octetCount)
    }
}

/// Round-trip time from a report block about one of our streams (RFC 3550 §6.4.1).
public enum RoundTripTime {
    /// RTT = A − LSR − DLSR, in the compact NTP form, where A is when the report arrived. Nil when
    /// the block has no LSR (no SR received yet) or the result would be negative.
    @inlinable
    public static func from(_ block: RTCPReportBlock, arrival: NTPTimestamp) -> TimeAmount? {
        guard block.lastSenderReport != 0 else { return nil }
        let units = arrival.compact &- block.lastSenderReport &- block.delaySinceLastSenderReport
        guard Int32(bitPattern: units) >= 0 else { return nil }
        return .nanoseconds(CompactNTPDuration.nanoseconds(units: units))
    }
}
