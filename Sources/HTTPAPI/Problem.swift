import Control
import Foundation
import HTTPTypes
import Hummingbird
import OpenAPIRuntime

/// An RFC 9457 problem, rendered as `application/problem+json`.
struct Problem: Error, Sendable {
    var status: HTTPResponse.Status
    /// The last part of the problem type URI (`urn:switchboard:problem:<kind>`).
    var kind: String
    var detail: String?
    var errors: [FieldError] = []
    var headers: HTTPFields = [:]

    static let contentType = "application/problem+json"

    func response(instance: String?) -> Response {
        var body: [String: Any] = [
            "type": "urn:switchboard:problem:\(kind)",
            "title": status.reasonPhrase.isEmpty ? "Error" : status.reasonPhrase,
            "status": status.code,
        ]
        if let detail { body["detail"] = detail }
        if let instance { body["instance"] = instance }
        if !errors.isEmpty { body["errors"] = errors.map { ["pointer": $0.pointer, "detail": $0.detail] } }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        var headers = headers
        headers[.contentType] = Self.contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Problem {
    /// The problem a domain error stands for.
    init(_ error: ControlError) {
        switch error {
        case .badRequest(let detail):
            self.init(status: .badRequest, kind: "bad-request", detail: detail)
        case .validation(let errors):
            self.init(
                status: .unprocessableContent, kind: "validation",
                detail: errors.map { "\($0.pointer): \($0.detail)" }.joined(separator: "; "), errors: errors
            )
        case .unauthorized(let detail):
            self.init(status: .unauthorized, kind: "unauthorized", detail: detail, headers: [.wwwAuthenticate: #"Bearer realm="switchboard""#])
        case .forbidden(let detail):
            self.init(status: .forbidden, kind: "forbidden", detail: detail)
        case .notFound(let kind, let id):
            self.init(status: .notFound, kind: "not-found", detail: "no \(kind) with id \(id)")
        case .conflict(let detail):
            self.init(status: .conflict, kind: "conflict", detail: detail)
        case .tooLarge(let detail):
            self.init(status: .contentTooLarge, kind: "too-large", detail: detail)
        case .rateLimited(let retryAfter):
            self.init(
                status: .tooManyRequests, kind: "rate-limited",
                detail: "too many requests from this address; retry after \(retryAfter) s",
                headers: [.retryAfter: String(retryAfter)]
            )
        case .unavailable(let detail):
            self.init(status: .serviceUnavailable, kind: "unavailable", detail: detail)
        }
    }

    /// The problem for anything a handler or middleware threw. `nil` means a server fault.
    static func from(_ error: any Error) -> Problem? {
        switch error {
        case let problem as Problem:
            return problem
        case let error as ControlError:
            return Problem(error)
        case let error as ServerError:
            if let problem = from(error.underlyingError) { return problem }
            // Failing before the handler ran means the request could not be decoded.
            guard error.operationInput == nil else { return nil }
            return Problem(status: .badRequest, kind: "malformed-request", detail: describe(error.underlyingError, cause: error.causeDescription))
        case let error as DecodingError:
            return Problem(status: .badRequest, kind: "malformed-request", detail: describe(error, cause: nil))
        case let error as HTTPError:
            return Problem(status: error.status, kind: kind(of: error.status), detail: error.body, headers: error.headers)
        default:
            return nil
        }
    }

    private static func kind(of status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not-found"
        case .contentTooLarge: "too-large"
        case .methodNotAllowed: "method-not-allowed"
        case .unsupportedMediaType: "unsupported-media-type"
        default: status.code < 500 ? "bad-request" : "internal"
        }
    }

    private static func describe(_ error: any Error, cause: String?) -> String {
        guard let decoding = error as? DecodingError else {
            if let wrapped = Mirror(reflecting: error).children.first(where: { $0.value is DecodingError })?.value as? DecodingError {
                return describe(wrapped, cause: cause)
            }
            return cause ?? "the request could not be read"
        }
        func pointer(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "/" : path.map { "/" + ($0.intValue.map(String.init) ?? $0.stringValue) }.joined()
        }
        switch decoding {
        case .typeMismatch(let type, let context):
            return "\(pointer(context.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(pointer(context.codingPath)): expected \(typeName(type)), found null"
        case .keyNotFound(let key, let context):
            return "\(pointer(context.codingPath + [key])): is required"
        case .dataCorrupted(let context):
            if context.underlyingError != nil || context.codingPath.isEmpty && context.debugDescription.contains("JSON") {
                return "the body is not valid JSON"
            }
            return "\(pointer(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "the request could not be read"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        default: String(describing: type).contains("Array") ? "an array" : "an object"
        }
    }
}
