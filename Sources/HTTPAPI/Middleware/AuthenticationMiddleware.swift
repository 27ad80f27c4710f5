import Control
import Foundation
import HTTPTypes
import Hummingbird

/// Resolves `Authorization` (Bearer, or Basic with the key as password) to an API key and sets
/// ``RequestInfo`` for the handlers. A present but invalid credential is a 401 even on public
/// endpoints: a caller who meant to authenticate should learn that it failed.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = SwitchboardRequestContext
    let apiKeys: APIKeyService
    /// `http` or `https`: how clients reach this server (base of the URLs handed out).
    let scheme: String
    let defaultBaseURL: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var principal: APIKey?
        let guarded = request.uri.path.hasPrefix("/v1/") || request.uri.path == "/RPC2"
        if guarded, let header = request.headers[.authorization] {
            guard let secret = Self.secret(fromAuthorization: header) else {
                throw ControlError.unauthorized("the Authorization header must be 'Bearer <api key>' or Basic with the key as password")
            }
            guard let key = try await apiKeys.authenticate(secret: secret) else {
                throw ControlError.unauthorized("the API key is unknown or revoked")
            }
            principal = key
        }
        let body = try await request.body.collect(upTo: HTTPLimits.maxBodyBytes)
        let info = RequestInfo(
            principal: principal,
            origin: request.headers[.origin],
            clientAddress: context.clientAddress,
            baseURL: Self.authority(request.head.authority).map { "\(scheme)://\($0)" } ?? defaultBaseURL,
            body: body.readableBytes > 0 ? body : nil
        )
        return try await RequestInfo.$current.withValue(info) {
            try await next(request, context)
        }
    }

    /// The `Host` the client used, if it is a plausible host[:port] (it is echoed in URLs).
    static func authority(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 255,
            value.utf8.allSatisfy({ byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || [UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]")].contains(byte)
            })
        else { return nil }
        return value
    }

    static func secret(fromAuthorization header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let value = parts[1].trimmingCharacters(in: .whitespaces)
        switch parts[0].lowercased() {
        case "bearer":
            return value.isEmpty ? nil : value
        case "basic":
            guard let data = Data(base64Encoded: value), let text = String(data: data, encoding: .utf8),
                let colon = text.firstIndex(of: ":")
            else { return nil }
            let password = String(text[text.index(after: colon)...])
            return password.isEmpty ? nil : password
        default:
            return nil
        }
    }
}
