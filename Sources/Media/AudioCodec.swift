/// An audio codec the gateway transcodes, with the figures RTP and SDP need.
public struct AudioCodec: Hashable, Sendable, CustomStringConvertible {
    /// Which codec.
    public enum Name: String, Hashable, Sendable, CaseIterable {
        /// G.711 µ-law.
        case pcmu
        /// G.711 A-law.
        case pcma
        /// G.722 at 64 kbit/s.
        case g722
        /// Opus, mono.
        case opus
    }

    /// Which codec this is.
    public let name: Name
    /// The RTP timestamp clock rate (RFC 3551; 8000 for G.722, RFC 7587: 48000 for Opus).
    public let rtpClockRate: Int
    /// The PCM sample rate the codec encodes and decodes.
    public let sampleRate: Int
    /// The static RTP payload type, or for Opus (dynamic) the value browsers conventionally offer.
    public let defaultPayloadType: UInt8
    /// The packet duration used unless SDP negotiates another (`ptime`).
    public let frameDuration: Duration
    /// The encoding name in an SDP `a=rtpmap` line.
    public let encodingName: String

    /// G.711 µ-law: 8 kHz, payload type 0.
    public static let pcmu = AudioCodec(name: .pcmu, rtpClockRate: 8_000, sampleRate: 8_000, defaultPayloadType: 0, encodingName: "PCMU")
    /// G.711 A-law: 8 kHz, payload type 8.
    public static let pcma = AudioCodec(name: .pcma, rtpClockRate: 8_000, sampleRate: 8_000, defaultPayloadType: 8, encodingName: "PCMA")
    /// G.722: samples at 16 kHz, RTP clock 8000, payload type 9.
    public static let g722 = AudioCodec(name: .g722, rtpClockRate: 8_000, sampleRate: 16_000, defaultPayloadType: 9, encodingName: "G722")
    /// Opus: 48 kHz clock and PCM, dynamic payload type (111 by convention).
    public static let opus = AudioCodec(name: .opus, rtpClockRate: 48_000, sampleRate: 48_000, defaultPayloadType: 111, encodingName: "opus")

    /// The codec called `name`.
    public init(_ name: Name) {
        switch name {
        case .pcmu: self = .pcmu
        case .pcma: self = .pcma
        case .g722: self = .g722
        case .opus: self = .opus
        }
    }

    private init(name: Name, rtpClockRate: Int, sampleRate: Int, defaultPayloadType: UInt8, encodingName: String) {
        self.name = name
        self.rtpClockRate = rtpClockRate
        self.sampleRate = sampleRate
        self.defaultPayloadType = defaultPayloadType
        self.frameDuration = .milliseconds(20)
        self.encodingName = encodingName
    }

    /// PCM samples in one frame of `frameDuration`.
    public var samplesPerFrame: Int { sampleRate / 50 }

    /// RTP timestamp units in one frame of `frameDuration`.
    public var timestampIncrement: Int { rtpClockRate / 50 }

    public var description: String { "\(encodingName)/\(rtpClockRate)" }
}
