/// A `name-addr` or `addr-spec` with header parameters: the value of `From`, `To`,
/// `Contact`, `Route`, `Record-Route`, `Refer-To`, ... (RFC 3261 §20.10, §25.1).
public struct SIPNameAddress: Sendable, Hashable, CustomStringConvertible {
    /// The display name, decoded: no surrounding quotes, quoted-pairs resolved. A display name
    /// written as tokens is joined with single spaces.
    public var displayName: String?
    public var uri: SIPAnyURI
    /// Header parameters (`tag`, `q`, `expires`, ...), as written.
    public var parameters: SIPParameters

    public init(displayName: String? = nil, uri: SIPAnyURI, parameters: SIPParameters = []) {
        self.displayName = displayName
        self.uri = uri
        self.parameters = parameters
    }

    public init(displayName: String? = nil, uri: SIPURI, parameters: SIPParameters = []) {
        self.init(displayName: displayName, uri: .sip(uri), parameters: parameters)
    }

    /// Parses one value (not a comma-separated list).
    public init(parsing text: some StringProtocol) throws(SIPParseError) {
        self = try text.withSIPBytes { (bytes) throws(SIPParseError) -> SIPNameAddress in
            var scanner = SIPScanner(bytes)
            return try SIPNameAddress.parse(&scanner)
        }
    }

    public var tag: String? {
        get { parameters.value(for: "tag") }
        set { if let newValue { parameters.set("tag", newValue) } else { parameters.remove("tag") } }
    }

    /// The SIP URI, when the address holds one.
    public var sipURI: SIPURI? { uri.sipURI }

    /// Always the `name-addr` form, which is valid for every header field.
    public var description: String {
        var output = ""
        if let displayName, !displayName.isEmpty {
            output += SIPQuoting.quote(displayName) + " "
        }
        output += "<" + uri.description + ">"
        output += parameters.description
        return output
    }

    static func parse(_ scanner: inout SIPScanner) throws(SIPParseError) -> SIPNameAddress {
        scanner.skipWhitespace()
        guard let first = scanner.peek() else { throw scanner.error("empty address") }
        var displayName: String?
        var uri: SIPAnyURI

        if first == SIPBytes.quote || first == SIPBytes.lessThan {
            if first == SIPBytes.quote {
                guard let quoted = scanner.scanQuotedString() else { throw scanner.error("unterminated quoted display name") }
                displayName = SIPQuoting.unquote(scanner.string(quoted))
                scanner.skipWhitespace()
            }
            uri = try scanAngleURI(&scanner)
        } else {
            // Either `*(token LWS) <uri>` or a bare addr-spec, which starts `scheme:`.
            let start = scanner.index
            let firstToken = scanner.scan(.token)
            if scanner.peek() == SIPBytes.colon {
                scanner.index = start
                uri = try scanBareURI(&scanner)
            } else {
                guard !firstToken.isEmpty else { throw scanner.error("invalid display name") }
                var words = [scanner.string(firstToken)]
                while true {
                    scanner.skipWhitespace()
                    if scanner.peek() == SIPBytes.lessThan { break }
                    let word = scanner.scan(.token)
                    guard !word.isEmpty else { throw scanner.error("invalid display name") }
                    words.append(scanner.string(word))
                }
                displayName = words.joined(separator: " ")
                uri = try scanAngleURI(&scanner)
            }
        }

        let parameters = try scanner.scanGenericParameters()
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.error("unexpected text after address") }
        return SIPNameAddress(displayName: displayName, uri: uri, parameters: parameters)
    }

    private static func scanAngleURI(_ scanner: inout SIPScanner) throws(SIPParseError) -> SIPAnyURI {
        guard scanner.consume(SIPBytes.lessThan) else { throw scanner.error("expected <") }
        let start = scanner.index
        while let byte = scanner.peek(), byte != SIPBytes.greaterThan { scanner.index += 1 }
        let range = start..<scanner.index
        guard scanner.consume(SIPBytes.greaterThan) else { throw scanner.error("unterminated <") }
        do throws(SIPParseError) {
            return try SIPAnyURI.parse(scanner.slice(range))
        } catch {
            throw scanner.error("invalid URI: \(error.detail)")
        }
    }

    /// An addr-spec outside angle brackets ends at `;` or whitespace and may not contain `?`
    /// or `,` (RFC 3261 §20).
    private static func scanBareURI(_ scanner: inout SIPScanner) throws(SIPParseError) -> SIPAnyURI {
        let start = scanner.index
        while let byte = scanner.peek(), byte != SIPBytes.semicolon, !SIPBytes.isWhitespace(byte) {
            guard byte != SIPBytes.question, byte != SIPBytes.comma else {
                throw scanner.error("URI with headers must be enclosed in <>")
            }
            scanner.index += 1
        }
        do throws(SIPParseError) {
            return try SIPAnyURI.parse(scanner.slice(start..<scanner.index))
        } catch {
            throw scanner.error("invalid URI: \(error.detail)")
        }
    }
}

/// The value of the `Contact` header fields: a list of addresses, or the `*` wildcard a
/// REGISTER uses to remove all bindings.
public enum SIPContactList: Sendable, Hashable {
    case wildcard
    case addresses([SIPNameAddress])

    /// The addresses; empty for the wildcard.
    public var addresses: [SIPNameAddress] {
        if case .addresses(let list) = self { return list }
        return []
    }
}
