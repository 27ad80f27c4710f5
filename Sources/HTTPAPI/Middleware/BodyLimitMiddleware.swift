import HTTPTypes
import Hummingbird
import NIOCore

/// Bounds request bodies (413 past ``HTTPLimits/maxBodyBytes``), insists on strict JSON for the
/// API (415 for another media type, 400 for malformed JSON) and collects the body once, so that
/// later stages and the handler can all read it.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = SwitchboardRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > HTTPLimits.maxBodyBytes {
            throw Self.tooLarge
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: HTTPLimits.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Self.tooLarge
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge
        }
        if body.readableBytes > 0, request.uri.path.hasPrefix("/v1/") {
            let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            guard type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json")) else {
                throw Problem(status: .unsupportedMediaType, kind: "unsupported-media-type", detail: "send the body as application/json", headers: [.accept: "application/json"])
            }
            try body.withUnsafeReadableBytes { bytes in
                do {
                    try StrictJSON.validate(bytes)
                } catch {
                    throw Problem(status: .badRequest, kind: "malformed-request", detail: "the body is not valid JSON: \(error)")
                }
            }
        }
        return try await next(request, context)
    }

    static let tooLarge = Problem(status: .contentTooLarge, kind: "too-large", detail: "the body is larger than \(HTTPLimits.maxBodyBytes) bytes")
}
