/// Where an incoming message goes (RFC 3261 §17.1.3, §17.2.3, §18.1.2, §9.2; RFC 6026).
public enum SIPTransactionRoute: Sendable, Hashable {
    /// A response for the client transaction with this key.
    case response(client: SIPTransactionKey)
    /// A response no client transaction matches. A user agent or B2BUA drops it silently
    /// (§18.1.2 as amended by RFC 6026).
    case strayResponse
    /// A retransmission of the request that created this server transaction.
    case retransmission(server: SIPTransactionKey)
    /// An ACK for this INVITE server transaction: the ACK for its non-2xx final response,
    /// or an ACK for its 2xx that reuses the INVITE's branch (passed on in Accepted).
    case ack(server: SIPTransactionKey)
    /// An ACK that matches no transaction: the ACK for a 2xx response, which is a
    /// transaction of its own and belongs to the dialog (§17.1.1.3, §13.3.1.4).
    case ackForSuccess
    /// A new request: create a server transaction with this key.
    case newRequest(server: SIPTransactionKey)
    /// A new CANCEL: create a non-INVITE server transaction with `server`. `cancelling` is
    /// the INVITE server transaction it targets, or nil when there is none and the CANCEL is
    /// answered with 481 (§9.2).
    case cancel(server: SIPTransactionKey, cancelling: SIPTransactionKey?)
}

/// The live transactions of one transaction layer, by key, and the routing of incoming
/// messages to them.
///
/// `Transaction` is whatever the owner keeps per transaction, typically one of the four
/// machines together with its scheduled timers. Values are mutated in place through the
/// subscripts, so storing a machine here does not copy it per event.
public struct SIPTransactionTable<Transaction> {
    private var clients: [SIPTransactionKey: Transaction]
    private var servers: [SIPTransactionKey: Transaction]

    public init(minimumCapacity: Int = 0) {
        clients = Dictionary(minimumCapacity: minimumCapacity)
        servers = Dictionary(minimumCapacity: minimumCapacity)
    }

    /// The client transaction with this key; assign nil to remove it.
    public subscript(client key: SIPTransactionKey) -> Transaction? {
        get { clients[key] }
        _modify { yield &clients[key] }
        set { clients[key] = newValue }
    }

    /// The server transaction with this key; assign nil to remove it.
    public subscript(server key: SIPTransactionKey) -> Transaction? {
        get { servers[key] }
        _modify { yield &servers[key] }
        set { servers[key] = newValue }
    }

    public var clientCount: Int { clients.count }
    public var serverCount: Int { servers.count }
    public var isEmpty: Bool { clients.isEmpty && servers.isEmpty }

    public func containsClient(_ key: SIPTransactionKey) -> Bool { clients.index(forKey: key) != nil }
    public func containsServer(_ key: SIPTransactionKey) -> Bool { servers.index(forKey: key) != nil }

    /// Where an incoming message goes.
    ///
    /// - Throws: when the top Via, CSeq or (for the RFC 2543 fallback) From, To or Call-ID
    ///   cannot be read; a parsed message from `SIPMessage.parse(datagram:)` always has them.
    public func route(_ message: SIPMessage) throws(SIPParseError) -> SIPTransactionRoute {
        guard let method = message.method else {
            guard let key = try SIPTransactionKey(response: message), containsClient(key) else { return .strayResponse }
            return .response(client: key)
        }
        let key = try SIPTransactionKey(serverRequest: message)
        if containsServer(key) {
            return method == .ack ? .ack(server: key) : .retransmission(server: key)
        }
        if method == .ack { return .ackForSuccess }
        if method == .cancel {
            let invite = key.cancelledInvite
            return .cancel(server: key, cancelling: containsServer(invite) ? invite : nil)
        }
        return .newRequest(server: key)
    }
}

extension SIPTransactionTable: Sendable where Transaction: Sendable {}
