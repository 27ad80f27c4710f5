public import Foundation

/// The right of one browser to call one widget's destination for a short time, with the
/// caller's context. The token itself is handed out once; only its digest is kept.
public struct WidgetSession: Sendable, Equatable {
    public var id: String
    public var widgetId: String
    public var tokenDigest: String
    /// The caller context as compact JSON text (an object), at most ``maxContextBytes``.
    public var contextJSON: String
    /// True when the shop's backend (an API key) created the session.
    public var verified: Bool
    public var origin: String?
    public var clientAddress: String?
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        id: String, widgetId: String, tokenDigest: String, contextJSON: String, verified: Bool,
        origin: String?, clientAddress: String?, createdAt: Date, expiresAt: Date
    ) {
        self.id = id
        self.widgetId = widgetId
        self.tokenDigest = tokenDigest
        self.contextJSON = contextJSON
        self.verified = verified
        self.origin = origin
        self.clientAddress = clientAddress
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public static let idPrefix = "wss"
    public static let tokenPrefix = "wst"
    public static let maxContextBytes = 8 * 1024
}

/// A freshly created session with its token, which is shown only this once.
public struct IssuedWidgetSession: Sendable {
    public var session: WidgetSession
    public var token: Secret
}
