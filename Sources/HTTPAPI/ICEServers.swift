import Crypto
public import Foundation

/// A STUN or TURN server URL as browsers take it in `RTCIceServer.urls`: RFC 7064
/// (`stun:`/`stuns:` host, optional port) and RFC 7065 (`turn:`/`turns:` host, optional port,
/// optional `?transport=udp|tcp`).
public struct ICEServerURL: Sendable, Equatable, CustomStringConvertible {
    public enum Scheme: String, Sendable {
        case stun, stuns, turn, turns

        /// TURN needs credentials; STUN takes none.
        public var isTURN: Bool { self == .turn || self == .turns }
    }

    public let scheme: Scheme
    /// A DNS name, a dotted IPv4 address, or an IPv6 address without its brackets.
    public let host: String
    public let port: Int?
    /// `udp` or `tcp` (TURN only).
    public let transport: String?

    /// The URL as it was given (and as browsers get it).
    public let description: String

    /// Why a URL is not a STUN or TURN URL.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let url: String
        public let reason: String
        public var description: String { "\(url) is not a STUN/TURN URL: \(reason)" }
    }

    public init(_ text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(url: text, reason: reason) }
        guard let colon = text.firstIndex(of: ":") else { throw fail("expected stun:, stuns:, turn: or turns: HOST[:PORT]") }
        guard let scheme = Scheme(rawValue: text[..<colon].lowercased()) else {
            throw fail("the scheme must be stun, stuns, turn or turns")
        }
        var rest = Substring(text[text.index(after: colon)...])
        if rest.hasPrefix("//") { throw fail("no // after the scheme (stun:HOST, turn:HOST)") }
        var transport: String?
        if let question = rest.firstIndex(of: "?") {
            let query = rest[rest.index(after: question)...]
            rest = rest[..<question]
            guard scheme.isTURN else { throw fail("STUN URLs take no query") }
            let parts = query.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "transport", ["udp", "tcp"].contains(parts[1].lowercased()) else {
                throw fail("the only query is ?transport=udp or ?transport=tcp")
            }
            transport = parts[1].lowercased()
        }
        let host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw fail("an IPv6 address needs its closing ]") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("only :PORT may follow the IPv6 address") }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }), host.contains(":") else {
                throw fail("\(host) is not an IPv6 address")
            }
        } else {
            let pieces = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw fail("write an IPv6 address in brackets: [::1]:3478") }
            host = pieces[0]
            portText = pieces.count == 2 ? pieces[1] : nil
            guard Self.isHostName(host) else { throw fail("'\(host)' is not a host name or IPv4 address") }
        }
        var port: Int?
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value), portText.allSatisfy(\.isASCII) else {
                throw fail("the port must be 1-65535")
            }
            port = value
        }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.transport = transport
        self.description = text
    }

    /// Letters, digits, hyphens and dots, labels of 1-63 characters (IPv4 addresses pass too).
    private static func isHostName(_ host: Substring) -> Bool {
        guard !host.isEmpty, host.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}

/// TURN REST API credentials (draft-uberti-behave-turn-rest-00, coturn's `use-auth-secret`):
/// the TURN server and the gateway share a secret; each widget session gets
/// `username = "<unix expiry>:<session id>"` and `credential = base64(HMAC-SHA1(secret, username))`,
/// which the TURN server checks without knowing the session. The secret is never printed.
public struct TURNRESTCredentials: Sendable, CustomStringConvertible {
    private let secret: [UInt8]

    public init(secret: Data) {
        self.secret = Array(secret)
    }

    /// `<expiry in unix seconds>:<session id>`; the expiry is rounded down to the second.
    public static func username(sessionId: String, expiresAt: Date) -> String {
        "\(Int64(expiresAt.timeIntervalSince1970.rounded(.down))):\(sessionId)"
    }

    /// base64(HMAC-SHA1(secret, username)).
    public func credential(for username: String) -> String {
        Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(username.utf8), using: SymmetricKey(data: secret))).base64EncodedString()
    }

    public var description: String { "TURNRESTCredentials(secret: <hidden>)" }

    /// Why the secret file cannot be used.
    public enum LoadError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String)
        case empty(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path): "--turn-secret-file \(path): the file does not exist or cannot be read"
            case .empty(let path): "--turn-secret-file \(path): the file holds no secret"
            }
        }
    }

    /// The shared secret from a file: its contents without the line end (and surrounding
    /// white space) that editors and `echo` leave, as coturn's `static-auth-secret` takes it.
    public static func load(secretFile path: String) throws(LoadError) -> TURNRESTCredentials {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
            let data = FileManager.default.contents(atPath: path)
        else { throw .unreadable(path: path) }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw .empty(path: path) }
        return TURNRESTCredentials(secret: Data(text.utf8))
    }
}

/// The ICE servers of the gateway's configuration, made into each widget session's
/// `iceServers`: STUN entries as they are, TURN entries with the static username and password
/// or with TURN REST credentials that expire with the session.
public struct ICEServerList: Sendable {
    public var entries: [HTTPConfiguration.ICEServer]

    public init(_ entries: [HTTPConfiguration.ICEServer] = []) {
        self.entries = entries
    }

    /// Why the ICE server options do not fit together.
    public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// The list from the command line: each `--ice-server` value is one entry of one or more
    /// comma-separated URLs; entries with a `turn:`/`turns:` URL get `turnCredentials`.
    public static func parse(
        _ values: [String], turnCredentials: HTTPConfiguration.ICEServer.Credentials
    ) throws(ConfigurationError) -> ICEServerList {
        var entries: [HTTPConfiguration.ICEServer] = []
        var usesTURN = false
        for value in values {
            let texts = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !texts.isEmpty else { throw ConfigurationError(description: "--ice-server needs a URL (stun:HOST[:PORT] or turn:HOST[:PORT][?transport=udp|tcp])") }
            var urls: [ICEServerURL] = []
            for text in texts {
                do {
                    urls.append(try ICEServerURL(text))
                } catch {
                    throw ConfigurationError(description: "--ice-server \(error)")
                }
            }
            let turn = urls.contains { $0.scheme.isTURN }
            usesTURN = usesTURN || turn
            if turn, turnCredentials.isNone {
                throw ConfigurationError(description: "--ice-server \(value): a TURN server needs credentials: give --turn-secret-file (TURN REST API, coturn's use-auth-secret) or --turn-username and --turn-password")
            }
            entries.append(HTTPConfiguration.ICEServer(urls: urls.map(\.description), credentials: turn ? turnCredentials : .none))
        }
        if !usesTURN, !turnCredentials.isNone {
            throw ConfigurationError(description: "TURN credentials are given but no --ice-server is a turn: or turns: URL")
        }
        return ICEServerList(entries)
    }

    /// The `iceServers` of one widget session.
    public func forSession(id: String, expiresAt: Date) -> [(urls: [String], username: String?, credential: String?)] {
        entries.map { entry -> (urls: [String], username: String?, credential: String?) in
            switch entry.credentials {
            case .none:
                return (entry.urls, nil, nil)
            case .fixed(let username, let password):
                return (entry.urls, username, password)
            case .turnREST(let turn):
                let username = TURNRESTCredentials.username(sessionId: id, expiresAt: expiresAt)
                return (entry.urls, username, turn.credential(for: username))
            }
        }
    }
}

extension ICEServerList: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: HTTPConfiguration.ICEServer...) {
        self.init(elements)
    }
}
