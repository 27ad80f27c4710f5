/// One `Via` hop (RFC 3261 §20.42): `SIP/2.0/UDP host:port;branch=...`.
public struct SIPVia: Sendable, Hashable, CustomStringConvertible {
    /// `rport` (RFC 3581): asked for without a value, or filled in by the server.
    public enum RPort: Sendable, Hashable {
        case requested
        case port(Int)
    }

    public var protocolName: String
    public var protocolVersion: String
    /// The transport, uppercased (`UDP`, `TCP`, `TLS`, `WSS`, ...).
    public var transport: String
    /// The sent-by host as written; IPv6 keeps its brackets.
    public var host: String
    public var port: Int?
    public var parameters: SIPParameters

    public init(transport: String, host: String, port: Int? = nil, branch: String? = nil, parameters: SIPParameters = []) {
        self.protocolName = "SIP"
        self.protocolVersion = "2.0"
        self.transport = transport.uppercased()
        self.host = host
        self.port = port
        self.parameters = parameters
        if let branch { self.branch = branch }
    }

    /// Parses one Via value (not a comma-separated list).
    public init(parsing text: some StringProtocol) throws(SIPParseError) {
        self = try text.withSIPBytes { (bytes) throws(SIPParseError) -> SIPVia in
            var scanner = SIPScanner(bytes)
            return try SIPVia.parse(&scanner)
        }
    }

    public var branch: String? {
        get { parameters.value(for: "branch") }
        set { if let newValue { parameters.set("branch", newValue) } else { parameters.remove("branch") } }
    }

    public var received: String? {
        get { parameters.value(for: "received") }
        set { if let newValue { parameters.set("received", newValue) } else { parameters.remove("received") } }
    }

    public var rport: RPort? {
        get {
            guard let parameter = parameters["rport"] else { return nil }
            guard let value = parameter.value, let port = SIPScalar.parse(value, limit: 65535) else { return .requested }
            return .port(port)
        }
        set {
            switch newValue {
            case .none: parameters.remove("rport")
            case .requested: parameters.set("rport", nil)
            case .port(let port): parameters.set("rport", String(port))
            }
        }
    }

    public var maddr: String? { parameters.value(for: "maddr") }

    /// Whether the branch follows RFC 3261: the magic cookie followed by a transaction id.
    /// A bare cookie (RFC 4475 §3.2.1) does not count.
    public var isRFC3261Branch: Bool {
        guard let branch else { return false }
        return branch.hasPrefix(SIPProtocol.branchMagicCookie) && branch.utf8.count > SIPProtocol.branchMagicCookie.utf8.count
    }

    public var description: String {
        var output = protocolName + "/" + protocolVersion + "/" + transport + " " + host
        if let port { output += ":" + String(port) }
        output += parameters.description
        return output
    }

    static func parse(_ scanner: inout SIPScanner) throws(SIPParseError) -> SIPVia {
        scanner.skipWhitespace()
        let name = scanner.scan(.token)
        scanner.skipWhitespace()
        guard !name.isEmpty, scanner.consume(SIPBytes.slash) else { throw scanner.error("invalid sent-protocol") }
        scanner.skipWhitespace()
        let version = scanner.scan(.token)
        scanner.skipWhitespace()
        guard !version.isEmpty, scanner.consume(SIPBytes.slash) else { throw scanner.error("invalid sent-protocol") }
        scanner.skipWhitespace()
        let transport = scanner.scan(.token)
        guard !transport.isEmpty, scanner.skipWhitespace() else { throw scanner.error("invalid transport") }

        let hostStart = scanner.index
        if scanner.peek() == SIPBytes.leftBracket {
            while let byte = scanner.peek(), byte != SIPBytes.rightBracket { scanner.index += 1 }
            guard scanner.consume(SIPBytes.rightBracket) else { throw scanner.error("unterminated IPv6 reference") }
        } else {
            _ = scanner.scan(.hostname)
        }
        let hostRange = hostStart..<scanner.index
        guard SIPGrammar.isHost(scanner.slice(hostRange)) else { throw scanner.error("invalid sent-by host") }

        var port: Int?
        let afterHost = scanner.index
        scanner.skipWhitespace()
        if scanner.consume(SIPBytes.colon) {
            scanner.skipWhitespace()
            let digits = scanner.scan(.digit)
            guard digits.count <= 5, let value = SIPGrammar.decimal(scanner.slice(digits), limit: 65535) else {
                throw scanner.error("invalid sent-by port")
            }
            port = value
        } else {
            scanner.index = afterHost
        }

        let parameters = try scanner.scanGenericParameters()
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.error("unexpected text after Via parameters") }
        try validate(parameters, scanner: scanner)

        var via = SIPVia(transport: scanner.string(transport), host: scanner.string(hostRange), port: port, parameters: parameters)
        via.protocolName = scanner.string(name)
        via.protocolVersion = scanner.string(version)
        return via
    }

    private static func validate(_ parameters: SIPParameters, scanner: SIPScanner) throws(SIPParseError) {
        for parameter in parameters {
            let name = parameter.name.lowercased()
            switch name {
            case "branch":
                guard let value = parameter.value, SIPGrammar.isToken(value) else { throw scanner.error("invalid branch") }
            case "ttl":
                guard let value = parameter.value, SIPScalar.parse(value, limit: 255) != nil else {
                    throw scanner.error("invalid ttl")
                }
            case "maddr":
                guard let value = parameter.value, isHost(value) else { throw scanner.error("invalid maddr") }
            case "received":
                guard let value = parameter.value, isAddress(value) else { throw scanner.error("invalid received") }
            case "rport":
                if let value = parameter.value {
                    guard SIPScalar.parse(value, limit: 65535) != nil else { throw scanner.error("invalid rport") }
                }
            default:
                break
            }
        }
    }

    private static func isHost(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { SIPGrammar.isHost($0) }
    }

    private static func isAddress(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { bytes in
            if bytes.first == SIPBytes.leftBracket { return SIPGrammar.isHost(bytes) }
            return SIPGrammar.isIPv4(bytes) || SIPGrammar.isIPv6(bytes)
        }
    }
}
