public import Hummingbird
public import NIOCore

/// The per-request context: Hummingbird's core storage plus the client's address.
public struct SwitchboardRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Bodies are collected by ``BodyLimitMiddleware`` up to this size.
    public var maxUploadSize: Int { HTTPLimits.maxBodyBytes }

    /// The client's IP address as text, for rate limits and idempotency scopes.
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}

public enum HTTPLimits {
    public static let maxBodyBytes = 1024 * 1024
}
