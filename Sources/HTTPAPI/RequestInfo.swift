import Control
import NIOCore

/// What the middlewares learnt about the request, for the generated handlers (which see only
/// the decoded input). Set for the duration of one request with a task local.
struct RequestInfo: Sendable {
    /// The authenticated API key, if the request carried a valid one.
    var principal: APIKey?
    var origin: String?
    var clientAddress: String
    /// `scheme://host[:port]` the client used to reach us.
    var baseURL: String
    /// The request body as received (already size-limited), for the few places where the
    /// distinction between an absent and a `null` field matters.
    var body: ByteBuffer?

    @TaskLocal static var current = RequestInfo(principal: nil, origin: nil, clientAddress: "unknown", baseURL: "http://localhost", body: nil)

    /// The API key, or 401.
    func requirePrincipal() throws -> APIKey {
        guard let principal else {
            throw ControlError.unauthorized("this operation needs an API key: Authorization: Bearer <key>")
        }
        return principal
    }
}
