/// The `CSeq` value: a sequence number below 2^31 and the request method (RFC 3261 §8.1.1.5).
public struct SIPCSeq: Sendable, Hashable, CustomStringConvertible {
    public static let maximumSequence: UInt32 = 0x7FFF_FFFF

    public var sequence: UInt32
    public var method: SIPMethod

    public init(sequence: UInt32, method: SIPMethod) {
        self.sequence = sequence
        self.method = method
    }

    public init(parsing text: some StringProtocol) throws(SIPParseError) {
        self = try text.withSIPBytes { (bytes) throws(SIPParseError) -> SIPCSeq in
            var scanner = SIPScanner(bytes)
            scanner.skipWhitespace()
            let digits = scanner.scan(.digit)
            guard let number = SIPGrammar.decimal(scanner.slice(digits), limit: Int(SIPCSeq.maximumSequence)) else {
                throw scanner.error("CSeq number missing or not below 2^31")
            }
            guard scanner.skipWhitespace() else { throw scanner.error("expected whitespace after CSeq number") }
            let method = scanner.scan(.token)
            scanner.skipWhitespace()
            guard !method.isEmpty, scanner.isAtEnd, let parsed = SIPMethod(rawValue: scanner.string(method)) else {
                throw scanner.error("invalid CSeq method")
            }
            return SIPCSeq(sequence: UInt32(number), method: parsed)
        }
    }

    public var description: String { "\(sequence) \(method.rawValue)" }
}

/// A `Content-Type` media type with parameters (RFC 3261 §20.15).
public struct SIPContentType: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var subtype: String
    public var parameters: SIPParameters

    public init(type: String, subtype: String, parameters: SIPParameters = []) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }

    public init(parsing text: some StringProtocol) throws(SIPParseError) {
        self = try text.withSIPBytes { (bytes) throws(SIPParseError) -> SIPContentType in
            var scanner = SIPScanner(bytes)
            scanner.skipWhitespace()
            let type = scanner.scan(.token)
            scanner.skipWhitespace()
            guard !type.isEmpty, scanner.consume(SIPBytes.slash) else { throw scanner.error("invalid media type") }
            scanner.skipWhitespace()
            let subtype = scanner.scan(.token)
            guard !subtype.isEmpty else { throw scanner.error("invalid media subtype") }
            let parameters = try scanner.scanGenericParameters()
            scanner.skipWhitespace()
            guard scanner.isAtEnd else { throw scanner.error("unexpected text after media type") }
            return SIPContentType(type: scanner.string(type), subtype: scanner.string(subtype), parameters: parameters)
        }
    }

    public static let sdp = SIPContentType(type: "application", subtype: "sdp")

    /// `type/subtype`, lowercased, for comparisons.
    public var mediaType: String { (type + "/" + subtype).lowercased() }

    /// The `boundary` parameter of a multipart type, unquoted.
    public var boundary: String? { parameters.unquotedValue(for: "boundary") }

    public var description: String { type + "/" + subtype + parameters.description }
}

enum SIPScalar {
    /// `1*DIGIT` with optional surrounding whitespace, no larger than `limit`.
    static func parse(_ text: String, limit: Int) -> Int? {
        var copy = text
        return copy.withUTF8 { bytes -> Int? in
            var scanner = SIPScanner(bytes)
            scanner.skipWhitespace()
            let digits = scanner.scan(.digit)
            scanner.skipWhitespace()
            guard scanner.isAtEnd else { return nil }
            return SIPGrammar.decimal(scanner.slice(digits), limit: limit)
        }
    }

    /// `word [ "@" word ]` (RFC 3261 `callid`).
    static func isCallID(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { bytes -> Bool in
            var scanner = SIPScanner(bytes)
            guard !scanner.scan(.word).isEmpty else { return false }
            if scanner.consume(SIPBytes.at) {
                guard !scanner.scan(.word).isEmpty else { return false }
            }
            return scanner.isAtEnd
        }
    }
}
