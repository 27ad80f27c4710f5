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
        guard let first = bytes.first else {
            self = .unknown
            return
        }
        switch first {
        case 0...3:
            self = .stun
        case 16...19:
            self = .zrtp
        case 20...63:
            self = .dtls
        case 64...79:
            self = .turnChannel
        case 128...191:
            if bytes.count >= 2, (192...223).contains(bytes[1]) {
                self = .rtcp
            } else {
                self = .rtp
            }
        default:
            self = .unknown
        }
    }

    /// Classifies `bytes`.
    @inlinable
    public init(classifying bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { DatagramKind(classifying: $0) }
    }
}
