public import NIOCore

/// The interval between a participant's RTCP reports (RFC 3550 §6.2, §6.3.1 and A.7
/// `rtcp_interval`): the RTCP bandwidth (5% of the session bandwidth) shared between members,
/// a quarter of it for senders when they are few, and a minimum (5 s, halved before the first
/// report).
///
/// The randomised interval is the deterministic one times a uniform factor in 0.5...1.5. The
/// RFC's division by e − 3/2 is left out: it compensates for timer reconsideration (§6.3.6),
/// which a unicast leg of two members does not run, so the mean interval stays the
/// deterministic one.
public struct RTCPReportInterval: Equatable, Hashable, Sendable {
    /// RFC 3550 `RTCP_MIN_TIME`.
    public static let standardMinimum = TimeAmount.seconds(5)
    /// RFC 3550 `RTCP_SENDER_BW_FRACTION`.
    public static let senderBandwidthFraction = 0.25

    /// The session bandwidth RTCP takes 5% of, in bits per second.
    public var sessionBandwidth: Int
    /// The smallest deterministic interval.
    public var minimum: TimeAmount

    /// An interval for a session of `sessionBandwidth` bits per second (64 kbit/s: G.711 audio).
    public init(sessionBandwidth: Int = 64_000, minimum: TimeAmount = RTCPReportInterval.standardMinimum) {
        self.sessionBandwidth = max(sessionBandwidth, 1)
        self.minimum = minimum
    }

    /// The RTCP bandwidth in octets per second: 5% of the session bandwidth.
    public var rtcpBandwidth: Double { Double(sessionBandwidth) * 0.05 / 8 }

    /// The deterministic interval Td (RFC 3550 A.7 before randomisation).
    ///
    /// - Parameters:
    ///   - members: participants in the session, this one included.
    ///   - senders: participants that sent RTP in the last two intervals, this one included.
    ///   - weSent: this participant is one of them.
    ///   - averagePacketSize: the average compound RTCP size in octets, lower layers included.
    ///   - initial: no report has been sent yet (the minimum is halved).
    public func deterministic(members: Int, senders: Int, weSent: Bool, averagePacketSize: Double, initial: Bool) -> TimeAmount {
        let minimumSeconds = Double(minimum.nanoseconds) / 1e9 / (initial ? 2 : 1)
        var bandwidth = rtcpBandwidth
        var count = Double(max(members, 1))
        let members = max(members, 1)
        let senders = max(senders, 0)
        if Double(senders) <= Double(members) * Self.senderBandwidthFraction {
            if weSent {
                bandwidth *= Self.senderBandwidthFraction
                count = Double(max(senders, 1))
            } else {
                bandwidth *= 1 - Self.senderBandwidthFraction
                count = Double(max(members - senders, 1))
            }
        }
        let seconds = max(max(averagePacketSize, 0) * count / bandwidth, minimumSeconds)
        return .nanoseconds(Int64(min(seconds, 86_400) * 1e9))
    }

    /// `deterministic` times a uniform random factor in 0.5...1.5 (RFC 3550 §6.3.1).
    public static func randomised(_ deterministic: TimeAmount, using generator: inout some RandomNumberGenerator) -> TimeAmount {
        let factor = Double.random(in: 0.5...1.5, using: &generator)
        return .nanoseconds(Int64(Double(deterministic.nanoseconds) * factor))
    }
}
