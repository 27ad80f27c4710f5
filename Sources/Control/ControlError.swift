/// What went wrong in a domain operation, in terms both faces (REST problem+json, XML-RPC fault)
/// translate without knowing the operation.
public enum ControlError: Error, Sendable, Equatable {
    /// The request is malformed (bad cursor, limit out of range, context not an object...).
    case badRequest(String)
    /// The values are well-formed but not acceptable; one entry per field.
    case validation([FieldError])
    /// No credentials, or credentials that are not (or no longer) valid.
    case unauthorized(String)
    /// Valid credentials or origin, but not allowed to do this.
    case forbidden(String)
    /// No such resource. `kind` is its name ("widget"), `id` what was asked for.
    case notFound(kind: String, id: String)
    /// The request conflicts with the resource's state.
    case conflict(String)
    /// Part of the request is larger than allowed.
    case tooLarge(String)
    /// Too many requests from one client; try again after that many seconds.
    case rateLimited(retryAfter: Int)
    /// A dependency (the store) is not answering.
    case unavailable(String)
}

/// A problem with one field of a request, located by a JSON Pointer (`/appearance/primaryColor`).
public struct FieldError: Sendable, Equatable, Codable {
    public var pointer: String
    public var detail: String

    public init(pointer: String, detail: String) {
        self.pointer = pointer
        self.detail = detail
    }
}
