/// One `hname=hvalue` header of a SIP URI, kept as written (escaped).
public struct SIPURIHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A `sip:` or `sips:` URI (RFC 3261 §19.1, grammar of §25.1).
///
/// `user` and `password` hold the decoded text (`%75ser` is `user`) and are escaped again when
/// serialized. Host, parameters and headers keep the spelling they were parsed with; IPv6
/// hosts keep their brackets (`[2001:db8::1]`).
public struct SIPURI: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable {
        case sip
        case sips
    }

    public var scheme: Scheme
    public var user: String?
    public var password: String?
    public var host: String
    public var port: Int?
    public var parameters: SIPParameters
    public var headers: [SIPURIHeader]

    public init(
        scheme: Scheme = .sip,
        user: String? = nil,
        password: String? = nil,
        host: String,
        port: Int? = nil,
        parameters: SIPParameters = [],
        headers: [SIPURIHeader] = []
    ) {
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.parameters = parameters
        self.headers = headers
    }

    /// Parses a SIP or SIPS URI.
    public init(_ text: some StringProtocol) throws(SIPParseError) {
        self = try text.withSIPBytes { (bytes) throws(SIPParseError) -> SIPURI in
            try SIPURI.parse(bytes)
        }
    }

    /// The `transport` URI parameter, lowercased.
    public var transport: String? { parameters.value(for: "transport")?.lowercased() }

    /// Whether the URI carries the `lr` (loose routing) parameter.
    public var isLooseRouting: Bool { parameters.contains("lr") }

    /// The `maddr` URI parameter.
    public var maddr: String? { parameters.value(for: "maddr") }

    /// The port to use when none is given: 5061 for `sips` and TLS, 5060 otherwise.
    public var defaultPort: Int {
        scheme == .sips || transport == "tls" ? 5061 : 5060
    }

    public var description: String {
        var output = scheme.rawValue + ":"
        if let user, !user.isEmpty {
            output += SIPGrammar.escape(user, allowed: [.unreserved, .userUnreserved])
            if let password {
                output += ":" + SIPGrammar.escape(password, allowed: [.unreserved, .passwordExtra])
            }
            output += "@"
        }
        output += host
        if let port { output += ":" + String(port) }
        output += parameters.description
        for (index, header) in headers.enumerated() {
            output += index == 0 ? "?" : "&"
            output += header.name + "=" + header.value
        }
        return output
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(SIPParseError) -> SIPURI {
        var scanner = SIPScanner(bytes)
        let schemeRange = scanner.scan([.alphanum, .scheme])
        guard !schemeRange.isEmpty, scanner.consume(SIPBytes.colon) else {
            throw SIPParseError(.invalidURI, "missing URI scheme")
        }
        let scheme: Scheme
        switch lowercasedASCII(scanner.slice(schemeRange)) {
        case "sip": scheme = .sip
        case "sips": scheme = .sips
        default: throw SIPParseError(.unsupportedURIScheme, "not a SIP or SIPS URI")
        }
        return try parseAfterScheme(&scanner, scheme: scheme)
    }

    static func parseAfterScheme(_ scanner: inout SIPScanner, scheme: Scheme) throws(SIPParseError) -> SIPURI {
        func invalid(_ detail: String) -> SIPParseError { SIPParseError(.invalidURI, detail) }

        var user: String?
        var password: String?
        // userinfo ends at the only '@' the grammar allows after the scheme.
        var atIndex: Int?
        for position in scanner.index..<scanner.end where scanner.bytes[position] == SIPBytes.at {
            atIndex = position
            break
        }
        if let atIndex {
            let userStart = scanner.index
            guard let userRange = scanner.scanEscaped([.unreserved, .userUnreserved]), !userRange.isEmpty else {
                throw invalid("invalid user part")
            }
            guard let decodedUser = SIPGrammar.unescape(scanner.slice(userRange)) else {
                throw invalid("invalid escape in user part")
            }
            user = decodedUser
            if scanner.consume(SIPBytes.colon) {
                guard let passwordRange = scanner.scanEscaped([.unreserved, .passwordExtra]),
                      let decodedPassword = SIPGrammar.unescape(scanner.slice(passwordRange))
                else { throw invalid("invalid password") }
                password = decodedPassword
            }
            guard scanner.index == atIndex, scanner.consume(SIPBytes.at), userStart < atIndex else {
                throw invalid("invalid character in user part")
            }
        }

        let hostStart = scanner.index
        if scanner.peek() == SIPBytes.leftBracket {
            while let byte = scanner.peek(), byte != SIPBytes.rightBracket { scanner.index += 1 }
            guard scanner.consume(SIPBytes.rightBracket) else { throw invalid("unterminated IPv6 reference") }
        } else {
            _ = scanner.scan(.hostname)
        }
        let hostRange = hostStart..<scanner.index
        guard SIPGrammar.isHost(scanner.slice(hostRange)) else { throw invalid("invalid host") }
        let host = scanner.string(hostRange)

        var port: Int?
        if scanner.consume(SIPBytes.colon) {
            let digits = scanner.scan(.digit)
            guard digits.count <= 5, let value = SIPGrammar.decimal(scanner.slice(digits), limit: 65535) else {
                throw invalid("invalid port")
            }
            port = value
        }

        var parameters = SIPParameters()
        while scanner.consume(SIPBytes.semicolon) {
            guard let name = scanner.scanEscaped([.unreserved, .paramUnreserved]), !name.isEmpty else {
                throw invalid("invalid URI parameter")
            }
            var value: String?
            if scanner.consume(SIPBytes.equals) {
                guard let valueRange = scanner.scanEscaped([.unreserved, .paramUnreserved]), !valueRange.isEmpty else {
                    throw invalid("invalid URI parameter value")
                }
                value = scanner.string(valueRange)
            }
            parameters.append(scanner.string(name), value)
        }

        var headers: [SIPURIHeader] = []
        if scanner.consume(SIPBytes.question) {
            repeat {
                guard let name = scanner.scanEscaped([.unreserved, .hnvUnreserved]), !name.isEmpty,
                      scanner.consume(SIPBytes.equals),
                      let value = scanner.scanEscaped([.unreserved, .hnvUnreserved])
                else { throw invalid("invalid URI header") }
                headers.append(SIPURIHeader(name: scanner.string(name), value: scanner.string(value)))
            } while scanner.consume(SIPBytes.ampersand)
        }

        guard scanner.isAtEnd else { throw invalid("unexpected character in URI") }
        return SIPURI(scheme: scheme, user: user, password: password, host: host, port: port,
                      parameters: parameters, headers: headers)
    }

    static func lowercasedASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: bytes.lazy.map(SIPBytes.lowercased), as: UTF8.self)
    }
}

/// Any URI SIP can carry: a parsed SIP/SIPS URI, or another absolute URI kept as text
/// (`tel:`, `http:`, `urn:`, ...). Request-URIs and name-addr values use this type, since
/// RFC 3261 lets both hold any absolute URI.
public enum SIPAnyURI: Sendable, Hashable, CustomStringConvertible {
    case sip(SIPURI)
    /// An absolute URI with another scheme, as written.
    case other(scheme: String, text: String)

    public init(_ text: some StringProtocol) throws(SIPParseError) {
        self = try text.withSIPBytes { (bytes) throws(SIPParseError) -> SIPAnyURI in
            try SIPAnyURI.parse(bytes)
        }
    }

    /// The SIP or SIPS URI, if this is one.
    public var sipURI: SIPURI? {
        if case .sip(let uri) = self { return uri }
        return nil
    }

    /// The scheme, lowercased.
    public var scheme: String {
        switch self {
        case .sip(let uri): return uri.scheme.rawValue
        case .other(let scheme, _): return scheme
        }
    }

    public var description: String {
        switch self {
        case .sip(let uri): return uri.description
        case .other(_, let text): return text
        }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(SIPParseError) -> SIPAnyURI {
        var scanner = SIPScanner(bytes)
        guard let first = scanner.peek(), SIPBytes.isMember(first, .alpha) else {
            throw SIPParseError(.invalidURI, "URI does not start with a scheme")
        }
        let schemeRange = scanner.scan([.alphanum, .scheme])
        guard scanner.consume(SIPBytes.colon) else { throw SIPParseError(.invalidURI, "missing URI scheme") }
        let scheme = SIPURI.lowercasedASCII(scanner.slice(schemeRange))
        switch scheme {
        case "sip": return .sip(try SIPURI.parseAfterScheme(&scanner, scheme: .sip))
        case "sips": return .sip(try SIPURI.parseAfterScheme(&scanner, scheme: .sips))
        default:
            guard let rest = scanner.scanEscaped(.uric), !rest.isEmpty, scanner.isAtEnd else {
                throw SIPParseError(.invalidURI, "invalid absolute URI")
            }
            return .other(scheme: scheme, text: scanner.string(0..<scanner.end))
        }
    }
}
