/// A request method. Methods are case-sensitive tokens: `INVITE` and `invite` differ, and
/// `IN%56ITE` is an unknown method, not INVITE.
public struct SIPMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    /// Accepts any non-empty `token`.
    public init?(rawValue: String) {
        guard SIPGrammar.isToken(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(known: String) { rawValue = known }

    public var description: String { rawValue }

    public static let invite = SIPMethod(known: "INVITE")
    public static let ack = SIPMethod(known: "ACK")
    public static let bye = SIPMethod(known: "BYE")
    public static let cancel = SIPMethod(known: "CANCEL")
    public static let options = SIPMethod(known: "OPTIONS")
    public static let register = SIPMethod(known: "REGISTER")
    public static let prack = SIPMethod(known: "PRACK")
    public static let subscribe = SIPMethod(known: "SUBSCRIBE")
    public static let notify = SIPMethod(known: "NOTIFY")
    public static let publish = SIPMethod(known: "PUBLISH")
    public static let info = SIPMethod(known: "INFO")
    public static let refer = SIPMethod(known: "REFER")
    public static let message = SIPMethod(known: "MESSAGE")
    public static let update = SIPMethod(known: "UPDATE")
}
