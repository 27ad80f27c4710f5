/// What a datagram on the media port carries, judged from its first bytes (RFC 7983 §7, with
/// RFC 5761 §4 to tell RTCP from RTP on a multiplexed port).
public enum DatagramKind: Sendable, Hashable {
    /// First byte 0–3: STUN.
    case stun
    /// First byte 16–19: ZRTP.
    case zrtp
    /// First byte 20–63: DTLS.
    case dtls
    /// First byte 64–79: TURN ChannelData.
    case turnChannel
    /// First byte 128–191, second byte outside 192–223: RTP.
    case rtp
    /// First byte 128–191, second byte 192–223 (packet types SR 200 to APP 204 and the
    /// feedback types, RFC 5761 §4): RTCP.
    case rtcp
    /// Empty, or a first byte in none of the ranges.
    case unknown

    /// Classifies `bytes`. Allocation-free; reads at most two bytes.
    @inlinable
    public init(classifying bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else {
            self = .unknown
            return
        }
        let first = bytes[0]
        // Plain comparisons rather than range patterns: no generic code even in debug builds.
        if first <= 3 {
            self = .stun
        } else if first >= 16 && first <= 19 {
            self = .zrtp
        } else if first >= 20 && first <= 63 {
            self = .dtls
        } else if first >= 64 && first <= 79 {
            self = .turnChannel
        } else if first >= 128 && first <= 191 {
            self = bytes.count >= 2 && bytes[1] >= 192 && bytes[1] <= 223 ? .rtcp : .rtp
        } else {
            self = .unknown
        }
    }

    /// Classifies `bytes`.
    @inlinable
    public init(classifying bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { DatagramKind(classifying: $0) }
    }
}
