/// Whether the transport a transaction uses delivers messages reliably (RFC 3261 §17).
///
/// On a reliable transport (TCP, TLS, SCTP, WebSocket) a transaction never retransmits and
/// Timers D, I, J and K are zero: the transaction terminates as soon as it would start them.
public enum SIPTransportReliability: Sendable, Hashable {
    case reliable
    case unreliable

    /// The reliability of a Via transport token: `UDP` (and `DTLS-UDP`) are unreliable,
    /// every stream or message-oriented transport is reliable. Unknown tokens are treated as
    /// unreliable, which costs at most some duplicate messages.
    public init(viaTransport transport: some StringProtocol) {
        switch transport.uppercased() {
        case "TCP", "TLS", "SCTP", "TLS-SCTP", "WS", "WSS":
            self = .reliable
        default:
            self = .unreliable
        }
    }

    public var isReliable: Bool { self == .reliable }
}
