import Crypto
import SIP

/// Digest authentication as a client (RFC 8760: MD5 and SHA-256, `qop=auth`), for trunks that
/// challenge an INVITE with 401 or 407.
struct DigestChallenge: Equatable {
    var realm: String
    var nonce: String
    var algorithm: Algorithm
    var qop: String?
    var opaque: String?

    enum Algorithm: String {
        case md5 = "MD5"
        case sha256 = "SHA-256"

        func hash(_ text: String) -> String {
            let bytes = Array(text.utf8)
            switch self {
            case .md5: return Insecure.MD5.hash(data: bytes).map(Self.hex).joined()
            case .sha256: return SHA256.hash(data: bytes).map(Self.hex).joined()
            }
        }

        private static func hex(_ byte: UInt8) -> String { (byte < 16 ? "0" : "") + String(byte, radix: 16) }
    }

    /// Parses `Digest realm="…", nonce="…", …`; `nil` for other schemes or unknown algorithms.
    init?(header: String) {
        let trimmed = header.drop { $0 == " " }
        guard trimmed.lowercased().hasPrefix("digest ") else { return nil }
        var fields: [String: String] = [:]
        var rest = Substring(trimmed.dropFirst(7))
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...].drop { $0 == " " }
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                var end = rest.endIndex
                for index in rest.indices {
                    let character = rest[index]
                    if escaped { value.append(character); escaped = false; continue }
                    if character == "\\" { escaped = true; continue }
                    if character == "\"" { end = index; break }
                    value.append(character)
                }
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            fields[name] = value
        }
        guard let realm = fields["realm"], let nonce = fields["nonce"] else { return nil }
        guard let algorithm = Algorithm(rawValue: (fields["algorithm"] ?? "MD5").uppercased()) else { return nil }
        self.realm = realm
        self.nonce = nonce
        self.algorithm = algorithm
        self.opaque = fields["opaque"]
        // Only "auth" is supported among the offered qop values.
        if let offered = fields["qop"] {
            guard offered.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "auth" }) else { return nil }
            qop = "auth"
        } else {
            qop = nil
        }
    }

    /// The `Authorization`/`Proxy-Authorization` value for `method` on `uri`.
    func answer(method: String, uri: String, username: String, password: String, cnonce: String, nonceCount: Int = 1) -> String {
        let ha1 = algorithm.hash("\(username):\(realm):\(password)")
        let ha2 = algorithm.hash("\(method):\(uri)")
        let nc = String(format: "%08x", nonceCount)
        let response: String
        if let qop {
            response = algorithm.hash("\(ha1):\(nonce):\(nc):\(cnonce):\(qop):\(ha2)")
        } else {
            response = algorithm.hash("\(ha1):\(nonce):\(ha2)")
        }
        var parts = [
            "Digest username=\"\(username)\"", "realm=\"\(realm)\"", "nonce=\"\(nonce)\"", "uri=\"\(uri)\"",
            "response=\"\(response)\"", "algorithm=\(algorithm.rawValue)",
        ]
        if let qop { parts += ["qop=\(qop)", "nc=\(nc)", "cnonce=\"\(cnonce)\""] }
        if let opaque { parts.append("opaque=\"\(opaque)\"") }
        return parts.joined(separator: ", ")
    }
}

extension SignallingCore {
    /// The INVITE again with credentials for the strongest challenge offered, a new branch and
    /// the next CSeq; `nil` when no challenge can be answered.
    func authenticatedRetry(of invite: SIPMessage, to peer: SIPPeer, challenge response: SIPMessage, status: Int, credentials: (username: String, password: String)) -> SIPMessage? {
        let challengeHeader: SIPHeaderName = status == 407 ? .proxyAuthenticate : .wwwAuthenticate
        let answerHeader: SIPHeaderName = status == 407 ? .proxyAuthorization : .authorization
        let challenges = response.headers.values(for: challengeHeader).compactMap(DigestChallenge.init(header:))
        guard let challenge = challenges.first(where: { $0.algorithm == .sha256 }) ?? challenges.first,
            let uri = invite.requestURI, let cseq = try? invite.cseq
        else { return nil }
        var retry = invite
        var headers = SIPHeaders()
        for field in invite.headers {
            switch field.name {
            case .via:
                headers.add(.via, via(to: peer))
            case .cseq:
                headers.add(.cseq, SIPCSeq(sequence: cseq.sequence + 1, method: .invite).description)
            default:
                headers.add(field.name, field.value)
            }
        }
        headers.add(
            answerHeader,
            challenge.answer(method: "INVITE", uri: uri.description, username: credentials.username, password: credentials.password, cnonce: CallBridges.makeTag())
        )
        retry.headers = headers
        return retry
    }
}
