import NIOCore
import RTP

/// Counters of one call's media, per leg and direction, kept by the media session and reported
/// with the call when it ends.
public struct MediaStatistics: Sendable, Hashable, Codable {
    /// One leg's view: what arrived from the peer and what the gateway sent it.
    public struct Leg: Sendable, Hashable, Codable {
        public var packetsReceived: Int = 0
        public var bytesReceived: Int = 0
        public var packetsSent: Int = 0
        public var bytesSent: Int = 0
        /// RTP packets the peer sent that never arrived (from sequence numbers).
        public var packetsLost: Int = 0
        /// Interarrival jitter in milliseconds (RFC 3550 A.8).
        public var jitterMilliseconds: Double = 0
        /// Round-trip time from RTCP reports, in milliseconds, when known.
        public var roundTripMilliseconds: Double?
        /// Packets dropped because they failed SRTP authentication or replay checks.
        public var authenticationFailures: Int = 0
        /// Datagrams that were none of STUN, DTLS, RTP or RTCP, or did not parse.
        public var malformed: Int = 0
        /// Relayed packets dropped because the socket's send buffer was full (`EAGAIN`,
        /// `ENOBUFS`): the relay never blocks nor queues.
        public var sendBufferDrops: Int = 0
        /// Relayed packets the kernel refused for another reason.
        public var sendFailures: Int = 0
        /// The SRTP suite protecting the leg, by its SDES name (`AES_CM_128_HMAC_SHA1_80`,
        /// `AEAD_AES_128_GCM`, ...): DTLS-SRTP's on the browser leg, SDES's on the SIP leg; nil
        /// while the leg carries plain RTP.
        public var srtpSuite: String?

        public init() {}

        /// The fraction of the peer's packets lost, 0...1.
        public var lossFraction: Double {
            let expected = packetsReceived + packetsLost
            return expected > 0 ? Double(packetsLost) / Double(expected) : 0
        }
    }

    public var browser = Leg()
    public var callee = Leg()

    /// The video relayed between the legs: RTP packets each way, and the PLI, FIR and NACK
    /// messages passed on.
    public struct Video: Sendable, Hashable, Codable {
        /// The relayed codec, once video was agreed.
        public var codec: String?
        public var packetsToCallee = 0
        public var packetsToBrowser = 0
        public var feedbackToCallee = 0
        public var feedbackToBrowser = 0

        public init() {}
    }

    public var video = Video()
    /// `relay` or `transcode`, once the call centre answered.
    public var mode: String?
    public var browserCodec: String?
    public var calleeCodec: String?

    public init() {}

    /// A mean opinion score estimate (1–4.5) for the worse leg, from the ITU-T G.107 E-model
    /// (the RTP module's ``VoiceQualityEstimate``).
    public var meanOpinionScore: Double {
        func score(_ leg: Leg, codec: String?) -> Double {
            let impairment: CodecImpairment = codec?.lowercased().hasPrefix("opus") == true ? .opus : .g711WithConcealment
            return VoiceQualityEstimate(
                packetLoss: leg.lossFraction, jitter: .nanoseconds(Int64(leg.jitterMilliseconds * 1e6)),
                roundTripTime: .nanoseconds(Int64((leg.roundTripMilliseconds ?? 0) * 1e6)), codec: impairment
            ).meanOpinionScore
        }
        return min(score(browser, codec: browserCodec), score(callee, codec: calleeCodec))
    }
}
