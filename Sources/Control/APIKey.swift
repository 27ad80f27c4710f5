public import Foundation

/// A credential for the REST and XML-RPC APIs. The secret is shown once at creation; the store
/// keeps its SHA-256 digest and a short prefix to tell keys apart.
public struct APIKey: Sendable, Equatable {
    public var id: String
    public var name: String
    public var prefix: String
    public var secretDigest: String
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(id: String, name: String, prefix: String, secretDigest: String, createdAt: Date, lastUsedAt: Date? = nil, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.secretDigest = secretDigest
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }

    public static let idPrefix = "key"
    public static let secretPrefix = "sbk"
    static let shownPrefixLength = 12
}

/// A newly created key with its secret.
public struct IssuedAPIKey: Sendable {
    public var key: APIKey
    public var secret: Secret
}
