/// A session description (RFC 8866): the body of SIP INVITEs and their answers, and what
/// browsers produce with `createOffer()`.
///
/// The SDP files of the SIP module own session descriptions and offer/answer (RFC 3264):
/// parsing, serialization, typed attribute values, codecs and the negotiation a B2BUA leg
/// needs. They use only the standard library and know nothing of transports or media.
///
/// Parsing from text or bytes accepts CRLF or bare LF line endings, enforces
/// ``SDPParsingLimits``, and rejects bad input with an ``SDPParseError``; ``serialized()``
/// always writes CRLF. Fields are kept as written (attribute order, unknown attributes,
/// `msid-semantic: WMS` spacing), so a description a B2BUA does not modify serializes back to
/// the same text.
public struct SDPSessionDescription: Hashable, Sendable, CustomStringConvertible {
    /// `v=`: always 0.
    public var version: Int
    /// `o=`.
    public var origin: SDPOrigin
    /// `s=`: `-` or a single space when there is nothing to say; RFC 3264 examples leave it
    /// empty, which is accepted.
    public var sessionName: String
    /// `i=`.
    public var information: String?
    /// `u=`.
    public var uri: String?
    /// `e=` lines.
    public var emails: [String]
    /// `p=` lines.
    public var phoneNumbers: [String]
    /// The session-level `c=`, the default for every media description without its own.
    public var connection: SDPConnection?
    public var bandwidths: [SDPBandwidth]
    /// `t=` lines, each with its `r=` lines; at least one.
    public var timing: [SDPTiming]
    /// `z=`.
    public var timeZoneAdjustments: [SDPTimeZoneAdjustment]
    /// `k=` (obsolete, passed through).
    public var encryptionKey: String?
    /// Session-level `a=` lines.
    public var attributes: SDPAttributeList
    /// The media descriptions, in `m=` line order. Their order and count are significant in
    /// offer/answer (RFC 3264 §6).
    public var media: [SDPMediaDescription]

    public init(
        origin: SDPOrigin,
        sessionName: String = "-",
        information: String? = nil,
        uri: String? = nil,
        emails: [String] = [],
        phoneNumbers: [String] = [],
        connection: SDPConnection? = nil,
        bandwidths: [SDPBandwidth] = [],
        timing: [SDPTiming] = [.permanent],
        timeZoneAdjustments: [SDPTimeZoneAdjustment] = [],
        encryptionKey: String? = nil,
        attributes: SDPAttributeList = [],
        media: [SDPMediaDescription] = []
    ) {
        self.version = 0
        self.origin = origin
        self.sessionName = sessionName
        self.information = information
        self.uri = uri
        self.emails = emails
        self.phoneNumbers = phoneNumbers
        self.connection = connection
        self.bandwidths = bandwidths
        self.timing = timing
        self.timeZoneAdjustments = timeZoneAdjustments
        self.encryptionKey = encryptionKey
        self.attributes = attributes
        self.media = media
    }

    /// Parses a session description from text.
    public init(parsing text: String, limits: SDPParsingLimits = .default) throws(SDPParseError) {
        guard text.utf8.count <= limits.maximumBytes else {
            throw SDPParseError(.inputTooLarge(limit: limits.maximumBytes))
        }
        self = try SDPSessionDescriptionParser(limits: limits).parse(Array(text.utf8))
    }

    /// Parses a session description from bytes, such as a SIP message body.
    public init<Bytes: Collection>(parsing bytes: Bytes, limits: SDPParsingLimits = .default) throws(SDPParseError)
    where Bytes.Element == UInt8 {
        // Check the size before copying anything.
        guard bytes.count <= limits.maximumBytes else {
            throw SDPParseError(.inputTooLarge(limit: limits.maximumBytes))
        }
        self = try SDPSessionDescriptionParser(limits: limits).parse(Array(bytes))
    }

    /// The media description whose `a=mid` is `mid`.
    public func media(withMid mid: String) -> SDPMediaDescription? {
        media.first { $0.attributes.mid == mid }
    }

    /// The session description as text with CRLF line endings, fields in RFC 8866 order.
    public func serialized() -> String {
        var output = ""
        output.reserveCapacity(256 + media.count * 512)
        func line(_ type: Character, _ value: String) {
            output.append(type)
            output.append("=")
            output.append(value)
            output.append("\r\n")
        }
        line("v", String(version))
        line("o", origin.fieldValue)
        line("s", sessionName)
        if let information { line("i", information) }
        if let uri { line("u", uri) }
        for email in emails { line("e", email) }
        for phone in phoneNumbers { line("p", phone) }
        if let connection { line("c", connection.fieldValue) }
        for bandwidth in bandwidths { line("b", bandwidth.fieldValue) }
        for time in timing {
            line("t", time.fieldValue)
            for repeatTime in time.repeats { line("r", repeatTime.fieldValue) }
        }
        if !timeZoneAdjustments.isEmpty {
            line("z", timeZoneAdjustments.map { "\($0.time) \($0.offset.fieldValue)" }.joined(separator: " "))
        }
        if let encryptionKey { line("k", encryptionKey) }
        for attribute in attributes { line("a", attribute.description) }
        for description in media {
            var mediaLine = "\(description.media.rawValue) \(description.port)"
            if let portCount = description.portCount {
                mediaLine += "/\(portCount)"
            }
            mediaLine += " \(description.transportProtocol.rawValue)"
            for format in description.formats {
                mediaLine += " \(format)"
            }
            line("m", mediaLine)
            if let title = description.title { line("i", title) }
            for connection in description.connections { line("c", connection.fieldValue) }
            for bandwidth in description.bandwidths { line("b", bandwidth.fieldValue) }
            if let key = description.encryptionKey { line("k", key) }
            for attribute in description.attributes { line("a", attribute.description) }
        }
        return output
    }

    public var description: String { serialized() }
}
