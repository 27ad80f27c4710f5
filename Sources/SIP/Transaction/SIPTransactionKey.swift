/// What identifies a transaction when matching messages to it (RFC 3261 §17.1.3, §17.2.3).
///
/// - Client side: the branch of the top Via and the method (a response names it in CSeq).
///   A CANCEL shares the INVITE's branch but is a transaction of its own.
/// - Server side, RFC 3261 branch (magic cookie `z9hG4bK`): the branch, the sent-by of the
///   top Via and the method, where ACK counts as INVITE so the ACK for a non-2xx final
///   response finds its INVITE transaction.
/// - Server side, RFC 2543 peer (branch without the cookie, or none): Request-URI, From tag,
///   Call-ID, CSeq number, the whole top Via and the method (ACK again counting as INVITE),
///   plus the To tag for non-INVITE requests. The To tag is left out for INVITE and ACK
///   because the ACK carries the tag of the response while the INVITE had none.
///
/// Client and server keys live in separate maps of ``SIPTransactionTable``, so a request
/// that loops back with one of our own branches never matches a client transaction.
public struct SIPTransactionKey: Sendable, Hashable, CustomStringConvertible {
    /// The method the key matches: the request method, with ACK mapped to INVITE.
    public var method: SIPMethod { storage.method }
    var identity: Identity { storage.identity }

    /// The key's fields in one immutable object: a key is copied into several tables and every
    /// timer handle, and a copy of one reference is one retain, where copying the fields
    /// themselves retains each string and goes through the enum's outlined copy.
    private final class Storage: Sendable {
        let method: SIPMethod
        let identity: Identity
        /// The hash of method and identity, computed once: a key is looked up in several tables
        /// per message (the transaction table, the B2BUA's indexes), each of which would hash
        /// its strings again.
        let hashCode: Int

        init(method: SIPMethod, identity: Identity, hashCode: Int) {
            self.method = method
            self.identity = identity
            self.hashCode = hashCode
        }
    }

    private let storage: Storage

    enum Identity: Sendable, Hashable {
        case branch(String, sentBy: SentBy?)
        /// Boxed: RFC 2543 peers are rare, and the box keeps every key small.
        indirect case rfc2543(RFC2543Identity)
    }

    struct SentBy: Sendable, Hashable {
        /// Lowercased: host names compare case-insensitively.
        var host: String
        var port: Int?
    }

    struct RFC2543Identity: Sendable, Hashable {
        var requestURI: SIPAnyURI
        var callID: String
        var fromTag: String?
        var toTag: String?
        var sequence: UInt32
        var topVia: SIPVia
    }

    init(method: SIPMethod, identity: Identity) {
        let method = method == .ack ? SIPMethod.invite : method
        var hasher = Hasher()
        hasher.combine(method)
        hasher.combine(identity)
        storage = Storage(method: method, identity: identity, hashCode: hasher.finalize())
    }

    public static func == (lhs: SIPTransactionKey, rhs: SIPTransactionKey) -> Bool {
        let left = lhs.storage, right = rhs.storage
        if left === right { return true }
        return left.hashCode == right.hashCode && left.method == right.method && left.identity == right.identity
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.hashCode)
    }

    /// The key of a client transaction for a request it sends. The request's top Via must
    /// carry an RFC 3261 branch (``SIPVia/makeBranch()``).
    public init(clientRequest request: SIPMessage) throws(SIPParseError) {
        guard let method = request.method else {
            throw SIPParseError(.malformedStartLine, "a client transaction key needs a request")
        }
        guard let via = try request.topVia else { throw SIPParseError(.missingHeader(.via), "no Via") }
        guard via.isRFC3261Branch, let branch = via.branch else {
            throw SIPParseError(.malformedHeader(.via), "a client transaction needs an RFC 3261 branch")
        }
        self.init(method: method, identity: .branch(branch, sentBy: nil))
    }

    /// The key of the client transaction a response belongs to: top Via branch and CSeq
    /// method. Nil when the top Via has no RFC 3261 branch, which no client transaction of
    /// ours uses.
    public init?(response: SIPMessage) throws(SIPParseError) {
        guard !response.isRequest else {
            throw SIPParseError(.malformedStartLine, "a response key needs a response")
        }
        guard let via = try response.topVia else { throw SIPParseError(.missingHeader(.via), "no Via") }
        guard via.isRFC3261Branch, let branch = via.branch else { return nil }
        let cseq = try response.cseq
        self.init(method: cseq.method, identity: .branch(branch, sentBy: nil))
    }

    /// The key of the server transaction an incoming request belongs to, or would create.
    public init(serverRequest request: SIPMessage) throws(SIPParseError) {
        guard let method = request.method else {
            throw SIPParseError(.malformedStartLine, "a server transaction key needs a request")
        }
        guard let via = try request.topVia else { throw SIPParseError(.missingHeader(.via), "no Via") }
        if via.isRFC3261Branch, let branch = via.branch {
            self.init(method: method, identity: .branch(branch, sentBy: SentBy(host: via.host.lowercased(), port: via.port)))
            return
        }
        guard let requestURI = request.requestURI else {
            throw SIPParseError(.malformedStartLine, "a server transaction key needs a request")
        }
        guard let callID = request.callID else { throw SIPParseError(.missingHeader(.callID), "no Call-ID") }
        let toTag: String? = (method == .invite || method == .ack) ? nil : try request.to.tag
        let identity = RFC2543Identity(
            requestURI: requestURI,
            callID: callID,
            fromTag: try request.from.tag,
            toTag: toTag,
            sequence: try request.cseq.sequence,
            topVia: via
        )
        self.init(method: method, identity: .rfc2543(identity))
    }

    /// The branch, for keys built from an RFC 3261 branch.
    public var branch: String? {
        if case .branch(let branch, _) = identity { return branch }
        return nil
    }

    /// Whether the key came from an RFC 3261 branch rather than the RFC 2543 fallback.
    public var isRFC3261: Bool { branch != nil }

    /// The key of the INVITE transaction a CANCEL with this key targets (§9.2).
    public var cancelledInvite: SIPTransactionKey {
        switch identity {
        case .branch:
            return SIPTransactionKey(method: .invite, identity: identity)
        case .rfc2543(var legacy):
            legacy.toTag = nil
            return SIPTransactionKey(method: .invite, identity: .rfc2543(legacy))
        }
    }

    public var description: String {
        switch identity {
        case .branch(let branch, let sentBy):
            var text = branch
            if let sentBy {
                text += " " + sentBy.host
                if let port = sentBy.port { text += ":" + String(port) }
            }
            return text + " " + method.rawValue
        case .rfc2543(let legacy):
            return "rfc2543 \(legacy.callID) \(legacy.sequence) \(method.rawValue)"
        }
    }
}
