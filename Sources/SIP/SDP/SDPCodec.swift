/// A media format as negotiated in SDP: encoding name, RTP clock rate, channels and format
/// parameters (`a=rtpmap` plus `a=fmtp`).
///
/// The clock rate is the RTP timestamp rate written in SDP, which is not always the audio
/// sampling rate: G.722 samples at 16 kHz but is signalled as `G722/8000` (RFC 3551 §4.5.2);
/// see ``samplingRate``.
public struct SDPCodec: Hashable, Sendable, CustomStringConvertible {
    /// The encoding name (media subtype); compared case-insensitively.
    public var name: String
    public var clockRate: UInt32
    /// Audio channels; 1 for video and mono audio.
    public var channels: UInt8
    /// `a=fmtp` parameters to advertise, if any.
    public var formatParameters: String?

    public init(name: String, clockRate: UInt32, channels: UInt8 = 1, formatParameters: String? = nil) {
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.formatParameters = formatParameters
    }

    /// Opus (RFC 7587): always `opus/48000/2` in SDP, whatever is actually sent.
    public static let opus = SDPCodec(
        name: "opus",
        clockRate: 48000,
        channels: 2,
        formatParameters: "minptime=10;useinbandfec=1"
    )
    /// G.711 µ-law, static payload type 0.
    public static let pcmu = SDPCodec(name: "PCMU", clockRate: 8000)
    /// G.711 A-law, static payload type 8.
    public static let pcma = SDPCodec(name: "PCMA", clockRate: 8000)
    /// G.722, static payload type 9: 16 kHz audio signalled with an 8000 clock rate.
    public static let g722 = SDPCodec(name: "G722", clockRate: 8000)
    /// RFC 4733 DTMF events for narrowband audio.
    public static let telephoneEvent8000 = SDPCodec(name: "telephone-event", clockRate: 8000, formatParameters: "0-16")
    /// RFC 4733 DTMF events at the Opus clock rate, as browsers offer them.
    public static let telephoneEvent48000 = SDPCodec(
        name: "telephone-event",
        clockRate: 48000,
        formatParameters: "0-16"
    )
    /// RFC 3389 comfort noise, static payload type 13.
    public static let comfortNoise = SDPCodec(name: "CN", clockRate: 8000)

    /// The audio sampling rate the codec works at, which differs from ``clockRate`` for G.722.
    public var samplingRate: UInt32 {
        if isNamed("G722"), clockRate == 8000 {
            return 16000
        }
        return clockRate
    }

    /// RFC 4733 `telephone-event`.
    public var isTelephoneEvent: Bool { isNamed("telephone-event") }

    /// Whether this format only makes sense next to a real codec: DTMF events, comfort noise,
    /// redundancy, retransmission and FEC. A media description with nothing but these has no
    /// codec in common.
    public var isSupplementary: Bool {
        isTelephoneEvent || isNamed("CN") || isNamed("red") || isNamed("rtx") || isNamed("ulpfec")
            || isNamed("flexfec-03")
    }

    public func isNamed(_ name: String) -> Bool {
        SDPGrammar.equalsIgnoringCase(self.name, name)
    }

    /// Whether two descriptions denote the same format: same name (ignoring case), clock rate
    /// and channels. Format parameters are ignored except where they change the bitstream:
    /// H.264 `packetization-mode` must agree (RFC 6184 §8.2.2). Opus ignores the channel
    /// count, which RFC 7587 fixes at 2 even when peers write otherwise.
    public func matches(_ other: SDPCodec) -> Bool {
        guard isNamed(other.name), clockRate == other.clockRate else { return false }
        if !isNamed("opus"), channels != other.channels {
            return false
        }
        if isNamed("H264") {
            return packetizationMode == other.packetizationMode
        }
        return true
    }

    private var packetizationMode: String {
        guard let formatParameters else { return "0" }
        return SDPFormatParameters(format: "0", parameters: formatParameters).value(forKey: "packetization-mode")
            ?? "0"
    }

    /// The payload type RFC 3551 assigns to this format, if it has one.
    public var staticPayloadType: UInt8? {
        Self.staticPayloadTypes.first { $0.codec.matches(self) }?.payloadType
    }

    /// The format RFC 3551 assigns to a static payload type (0...34).
    public init?(staticPayloadType: UInt8) {
        guard let entry = Self.staticPayloadTypes.first(where: { $0.payloadType == staticPayloadType }) else {
            return nil
        }
        self = entry.codec
    }

    /// `encoding/clock[/channels]` as in `a=rtpmap`; channels are written when not 1, and
    /// always for Opus.
    public var rtpMapEncoding: String {
        if channels != 1 || isNamed("opus") {
            return "\(name)/\(clockRate)/\(channels)"
        }
        return "\(name)/\(clockRate)"
    }

    /// The `a=rtpmap` for this codec under a payload type.
    public func rtpMap(payloadType: UInt8) -> SDPRTPMap {
        SDPRTPMap(
            payloadType: payloadType,
            encodingName: name,
            clockRate: clockRate,
            encodingParameters: (channels != 1 || isNamed("opus")) ? String(channels) : nil
        )
    }

    public var description: String { rtpMapEncoding }

    /// RFC 3551 §6 tables 4 and 5.
    static let staticPayloadTypes: [(payloadType: UInt8, codec: SDPCodec)] = [
        (0, .pcmu),
        (3, SDPCodec(name: "GSM", clockRate: 8000)),
        (4, SDPCodec(name: "G723", clockRate: 8000)),
        (5, SDPCodec(name: "DVI4", clockRate: 8000)),
        (6, SDPCodec(name: "DVI4", clockRate: 16000)),
        (7, SDPCodec(name: "LPC", clockRate: 8000)),
        (8, .pcma),
        (9, .g722),
        (10, SDPCodec(name: "L16", clockRate: 44100, channels: 2)),
        (11, SDPCodec(name: "L16", clockRate: 44100)),
        (12, SDPCodec(name: "QCELP", clockRate: 8000)),
        (13, .comfortNoise),
        (14, SDPCodec(name: "MPA", clockRate: 90000)),
        (15, SDPCodec(name: "G728", clockRate: 8000)),
        (16, SDPCodec(name: "DVI4", clockRate: 11025)),
        (17, SDPCodec(name: "DVI4", clockRate: 22050)),
        (18, SDPCodec(name: "G729", clockRate: 8000)),
        (25, SDPCodec(name: "CelB", clockRate: 90000)),
        (26, SDPCodec(name: "JPEG", clockRate: 90000)),
        (28, SDPCodec(name: "nv", clockRate: 90000)),
        (31, SDPCodec(name: "H261", clockRate: 90000)),
        (32, SDPCodec(name: "MPV", clockRate: 90000)),
        (33, SDPCodec(name: "MP2T", clockRate: 90000)),
        (34, SDPCodec(name: "H263", clockRate: 90000)),
    ]
}

/// A codec bound to an RTP payload type in one media description.
public struct SDPPayloadFormat: Hashable, Sendable, CustomStringConvertible {
    /// 0...127.
    public var payloadType: UInt8
    public var codec: SDPCodec

    public init(payloadType: UInt8, codec: SDPCodec) {
        self.payloadType = payloadType
        self.codec = codec
    }

    public var description: String { "\(payloadType) \(codec.rtpMapEncoding)" }
}

extension SDPCodec {
    /// The first codec of `preferred` (in its order) that `other` also supports, ignoring
    /// supplementary formats such as telephone-event and comfort noise.
    ///
    /// - Throws: ``SDPNegotiationError/noCodecInCommon``, which a SIP user agent answers with
    ///   `488 Not Acceptable Here`.
    public static func firstCommon(
        _ preferred: [SDPCodec],
        _ other: [SDPCodec]
    ) throws(SDPNegotiationError) -> SDPCodec {
        for codec in preferred where !codec.isSupplementary {
            if other.contains(where: { $0.matches(codec) }) {
                return codec
            }
        }
        throw .noCodecInCommon
    }
}

extension SDPMediaDescription {
    /// The first payload format of this media description, in its own order of preference,
    /// whose codec is in `supported` (supplementary formats excluded). The payload type is the
    /// one this description uses.
    ///
    /// - Throws: ``SDPNegotiationError/noCodecInCommon`` (SIP 488).
    public func firstCommonFormat(with supported: [SDPCodec]) throws(SDPNegotiationError) -> SDPPayloadFormat {
        for format in payloadFormats where !format.codec.isSupplementary {
            if supported.contains(where: { $0.matches(format.codec) }) {
                return format
            }
        }
        throw .noCodecInCommon
    }
}
