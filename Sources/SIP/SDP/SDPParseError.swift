/// Why a session description, or one of its attribute values, could not be parsed.
///
/// Every rejection carries the 1-based line number where it was detected, when there is one
/// (errors from parsing a lone attribute value have none). The SIP layer maps any of these to a
/// `400 Bad Request` or `488 Not Acceptable Here`, so the kinds are precise enough for logs but
/// carry no input text beyond short field names.
public struct SDPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The input was empty (or only blank lines).
        case emptyInput
        /// The input is larger than `SDPParsingLimits.maximumBytes`.
        case inputTooLarge(limit: Int)
        /// The input has more lines than `SDPParsingLimits.maximumLines`.
        case tooManyLines(limit: Int)
        /// A line is longer than `SDPParsingLimits.maximumLineLength`.
        case lineTooLong(limit: Int)
        /// The input has more `m=` sections than `SDPParsingLimits.maximumMediaDescriptions`.
        case tooManyMediaDescriptions(limit: Int)
        /// A line holds a NUL or other control character, a bare CR, or is not valid UTF-8.
        case invalidCharacter
        /// A line is not of the form `<lowercase letter>=<value>`.
        case malformedLine
        /// A line type letter this parser does not know (RFC 8866 §5: reject, do not guess).
        case unknownLineType(Character)
        /// The first line is not `v=`.
        case missingVersion
        /// `v=` is not `0`.
        case unsupportedVersion
        /// A mandatory line is absent: `o`, `s`, `t`, or `c` for an active media description.
        case missingField(Character)
        /// A line that may appear only once in its section appears again.
        case duplicateField(Character)
        /// A line appears where RFC 8866 does not allow it (for example `o=` inside a media section).
        case misplacedField(Character)
        case invalidOrigin
        case invalidConnection
        case invalidBandwidth
        case invalidTiming
        case invalidRepeatTime
        case invalidTimeZones
        /// An `m=` line without media, port and protocol, or with an invalid media or protocol token.
        case invalidMediaLine
        /// An `m=` port (or port count) that is not a number in 0...65535.
        case invalidPort
        /// An `m=` format that is not valid for its protocol (RTP formats are payload types 0...127).
        case invalidFormat
        /// An attribute with an invalid name, or a known attribute whose value breaks its grammar.
        case invalidAttribute(name: String)
    }

    public var kind: Kind
    /// The 1-based line number the error was found on, if known.
    public var line: Int?

    public init(_ kind: Kind, line: Int? = nil) {
        self.kind = kind
        self.line = line
    }

    public var description: String {
        if let line {
            return "SDP parse error on line \(line): \(kind)"
        }
        return "SDP parse error: \(kind)"
    }

    static func invalidAttribute(_ name: String) -> SDPParseError {
        SDPParseError(.invalidAttribute(name: name))
    }
}
