import Control
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import XMLRPC
import XMLRPCJSON

/// One XML-RPC method: a REST operation, called through the same router (the same handlers,
/// validation, authentication and problems), so that the two faces cannot drift apart.
///
/// Parameters: the path identifiers first, as strings, in path order; then, for operations
/// with a body, the body as a struct; for lists, the query (`limit`, `after`, filters) as a
/// struct. The result is the REST response body as a struct (`true` for 204); a problem
/// becomes a fault whose code is the HTTP status (400, 401, 404, 409, 422, 429, …).
struct XMLRPCOperation: Sendable {
    enum Input: Sendable { case none, body, query }

    var name: String
    var method: HTTPRequest.Method
    var path: String
    var input: Input
    var help: String

    var pathParameters: [String] {
        path.split(separator: "/").filter { $0.first == "{" }.map { String($0.dropFirst().dropLast()) }
    }

    /// `system.methodSignature`: the result type, then each parameter's type.
    var signature: [String] {
        let result = method == .delete ? "boolean" : "struct"
        var types = [result] + pathParameters.map { _ in "string" }
        if input != .none { types.append("struct") }
        return types
    }

    static let all: [XMLRPCOperation] = [
        .init(name: "health.get", method: .get, path: "/healthz", input: .none, help: "Liveness and version."),
        .init(name: "widgets.list", method: .get, path: "/v1/widgets", input: .query, help: "List widgets, oldest first. Query: {limit, after}."),
        .init(name: "widgets.create", method: .post, path: "/v1/widgets", input: .body, help: "Create a widget: {name, destination, label?, appearance?, allowedOrigins?, video?, recording?, enabled?}."),
        .init(name: "widgets.get", method: .get, path: "/v1/widgets/{widgetId}", input: .none, help: "Get a widget by id."),
        .init(name: "widgets.update", method: .patch, path: "/v1/widgets/{widgetId}", input: .body, help: "Change some fields of a widget."),
        .init(name: "widgets.delete", method: .delete, path: "/v1/widgets/{widgetId}", input: .none, help: "Delete a widget and its sessions."),
        .init(name: "widgets.getPublic", method: .get, path: "/v1/widgets/{widgetId}/public", input: .none, help: "What a page may know of a widget."),
        .init(name: "widgets.sessions.create", method: .post, path: "/v1/widgets/{widgetId}/sessions", input: .body, help: "Mint a widget session for a browser: {context?}. With an API key the context is verified."),
        .init(name: "apiKeys.list", method: .get, path: "/v1/api-keys", input: .query, help: "List API keys. Query: {limit, after}."),
        .init(name: "apiKeys.create", method: .post, path: "/v1/api-keys", input: .body, help: "Create an API key: {name}. The secret is in the result, once."),
        .init(name: "apiKeys.get", method: .get, path: "/v1/api-keys/{apiKeyId}", input: .none, help: "Get an API key (never its secret)."),
        .init(name: "apiKeys.revoke", method: .delete, path: "/v1/api-keys/{apiKeyId}", input: .none, help: "Revoke an API key."),
        .init(name: "trunks.list", method: .get, path: "/v1/trunks", input: .query, help: "List trunks. Query: {limit, after}."),
        .init(name: "trunks.create", method: .post, path: "/v1/trunks", input: .body, help: "Create a trunk: {name, uri, transport?, username?, password?, codecs?, maxConcurrentCalls?, inbound?, tls?, srtp?}."),
        .init(name: "trunks.get", method: .get, path: "/v1/trunks/{trunkId}", input: .none, help: "Get a trunk (never its password)."),
        .init(name: "trunks.update", method: .patch, path: "/v1/trunks/{trunkId}", input: .body, help: "Change some fields of a trunk."),
        .init(name: "trunks.delete", method: .delete, path: "/v1/trunks/{trunkId}", input: .none, help: "Delete a trunk."),
        .init(name: "calls.list", method: .get, path: "/v1/calls", input: .query, help: "List calls, oldest first. Query: {limit, after, status, widgetId, trunkId}."),
        .init(name: "calls.get", method: .get, path: "/v1/calls/{callId}", input: .none, help: "Get a call, with its context and media report."),
        .init(name: "calls.hangup", method: .post, path: "/v1/calls/{callId}/hangup", input: .none, help: "End a call; before the answer this cancels it."),
        .init(name: "events.list", method: .get, path: "/v1/events", input: .query, help: "List events, oldest first. Query: {limit, after, type, callId}."),
        .init(name: "events.get", method: .get, path: "/v1/events/{eventId}", input: .none, help: "Get an event."),
        .init(name: "webhooks.list", method: .get, path: "/v1/webhooks", input: .query, help: "List webhook subscriptions. Query: {limit, after}."),
        .init(name: "webhooks.create", method: .post, path: "/v1/webhooks", input: .body, help: "Subscribe an endpoint: {url, events?, format? (json|xmlrpc), xmlrpcMethod?, description?, enabled?}. The secret is in the result, once."),
        .init(name: "webhooks.get", method: .get, path: "/v1/webhooks/{webhookId}", input: .none, help: "Get a subscription (never its secret)."),
        .init(name: "webhooks.update", method: .patch, path: "/v1/webhooks/{webhookId}", input: .body, help: "Change a subscription; {enabled: true} re-enables a disabled one."),
        .init(name: "webhooks.delete", method: .delete, path: "/v1/webhooks/{webhookId}", input: .none, help: "Delete a subscription and its deliveries."),
        .init(name: "webhooks.deliveries.list", method: .get, path: "/v1/webhooks/{webhookId}/deliveries", input: .query, help: "List a subscription's deliveries with their attempts. Query: {limit, after, status}."),
        .init(name: "webhooks.deliveries.get", method: .get, path: "/v1/webhooks/{webhookId}/deliveries/{deliveryId}", input: .none, help: "Get a delivery with its attempts."),
        .init(name: "webhooks.deliveries.redeliver", method: .post, path: "/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", input: .none, help: "Send a delivery again now, with the same webhook-id."),
    ]
}

/// `POST /RPC2`: XML-RPC over the REST operations, plus `system.listMethods`,
/// `system.methodHelp`, `system.methodSignature` and `system.multicall`. Faults use the
/// interoperability codes for protocol errors (−32700 parse error, −32600 not XML-RPC, −32601
/// unknown method, −32602 bad parameters, −32603 internal) and the HTTP status of the REST
/// problem for application errors.
final class XMLRPCEndpoint: Sendable {
    private let responder = Mutex<RouterResponder<SwitchboardRequestContext>?>(nil)
    private let operations: [String: XMLRPCOperation] = Dictionary(uniqueKeysWithValues: XMLRPCOperation.all.map { ($0.name, $0) })
    static let systemMethods = ["system.listMethods", "system.methodHelp", "system.methodSignature", "system.multicall"]
    static let maxMulticall = 100

    /// The router that answers the REST operations (set once every route is registered).
    func attach(_ responder: RouterResponder<SwitchboardRequestContext>) {
        self.responder.withLock { $0 = responder }
    }

    func register(on router: Router<SwitchboardRequestContext>, routes: RouteTable) {
        router.post("/RPC2") { [self] request, context -> Response in
            let bytes = RequestInfo.current.body.map { Array(buffer: $0) } ?? []
            let body: [UInt8]
            do {
                let call = try XMLRPCDecoder.methodCall(bytes)
                body = XMLRPCEncoder.response(try await invoke(call, request: request, context: context))
            } catch let fault as XMLRPCFault {
                body = XMLRPCEncoder.fault(fault)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/xml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        routes.add(method: .post, path: "/RPC2")
    }

    private func invoke(_ call: XMLRPCMethodCall, request: Request, context: SwitchboardRequestContext, nested: Bool = false) async throws(XMLRPCFault) -> XMLRPCValue {
        switch call.methodName {
        case "system.listMethods":
            return .array((operations.keys.sorted() + Self.systemMethods).map { .string($0) })
        case "system.methodHelp":
            let name = try Self.onlyString(call.params)
            if let operation = operations[name] { return .string("\(operation.help) (\(operation.method.rawValue) \(operation.path))") }
            switch name {
            case "system.listMethods": return .string("The names of every method.")
            case "system.methodHelp": return .string("A method's description.")
            case "system.methodSignature": return .string("A method's signatures: arrays of the result type then each parameter's type.")
            case "system.multicall": return .string("Several calls in one request: [{methodName, params}] gives [[result] or {faultCode, faultString}].")
            default: throw XMLRPCFault(code: XMLRPCFault.methodNotFound, message: "no method \(name)")
            }
        case "system.methodSignature":
            let name = try Self.onlyString(call.params)
            if let operation = operations[name] {
                var signatures = [operation.signature]
                // The body or query struct may be left out.
                if operation.input != .none { signatures.append(Array(operation.signature.dropLast())) }
                return .array(signatures.map { .array($0.map { .string($0) }) })
            }
            switch name {
            case "system.listMethods": return .array([.array([.string("array")])])
            case "system.methodHelp": return .array([.array([.string("string"), .string("string")])])
            case "system.methodSignature": return .array([.array([.string("array"), .string("string")])])
            case "system.multicall": return .array([.array([.string("array"), .string("array")])])
            default: throw XMLRPCFault(code: XMLRPCFault.methodNotFound, message: "no method \(name)")
            }
        case "system.multicall":
            guard !nested else { throw XMLRPCFault(code: XMLRPCFault.invalidRequest, message: "system.multicall cannot be nested") }
            guard call.params.count == 1, case .array(let calls) = call.params[0] else {
                throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "system.multicall takes one array of {methodName, params} structs")
            }
            guard calls.count <= Self.maxMulticall else {
                throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "system.multicall takes at most \(Self.maxMulticall) calls")
            }
            var results: [XMLRPCValue] = []
            for item in calls {
                do throws(XMLRPCFault) {
                    guard case .structure(let entry) = item, case .string(let name)? = entry["methodName"] else {
                        throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "each call is a struct with a methodName string and a params array")
                    }
                    let params: [XMLRPCValue]
                    switch entry["params"] {
                    case .array(let values)?: params = values
                    case nil: params = []
                    default: throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "params of \(name) must be an array")
                    }
                    results.append(.array([try await invoke(XMLRPCMethodCall(methodName: name, params: params), request: request, context: context, nested: true)]))
                } catch {
                    results.append(.structure(XMLRPCStruct([("faultCode", .int(error.code)), ("faultString", .string(error.message))])))
                }
            }
            return .array(results)
        default:
            guard let operation = operations[call.methodName] else {
                throw XMLRPCFault(code: XMLRPCFault.methodNotFound, message: "no method \(call.methodName); system.listMethods lists them")
            }
            return try await perform(operation, params: call.params, request: request, context: context)
        }
    }

    private static func onlyString(_ params: [XMLRPCValue]) throws(XMLRPCFault) -> String {
        guard params.count == 1, case .string(let name) = params[0] else {
            throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "takes one string: a method name")
        }
        return name
    }

    // MARK: The REST operation

    private func perform(_ operation: XMLRPCOperation, params: [XMLRPCValue], request: Request, context: SwitchboardRequestContext) async throws(XMLRPCFault) -> XMLRPCValue {
        let names = operation.pathParameters
        let maxCount = names.count + (operation.input == .none ? 0 : 1)
        guard (names.count...maxCount).contains(params.count) else {
            let expected = operation.signature.dropFirst().joined(separator: ", ")
            throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "\(operation.name) takes (\(expected)); got \(params.count) parameters")
        }
        var path = ""
        var index = 0
        for segment in operation.path.split(separator: "/") {
            path += "/"
            guard segment.first == "{" else {
                path += segment
                continue
            }
            guard case .string(let id) = params[index], !id.isEmpty, id.utf8.count <= 128 else {
                throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "parameter \(index + 1) of \(operation.name) (\(names[index])) must be a non-empty string")
            }
            path += id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? id
            index += 1
        }
        var body: ByteBuffer?
        if params.count > names.count {
            guard case .structure = params[names.count] else {
                throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "the last parameter of \(operation.name) must be a struct")
            }
            let object = XMLRPCJSON.jsonObject(params[names.count])
            switch operation.input {
            case .body:
                guard let data = try? JSONSerialization.data(withJSONObject: object) else {
                    throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "the struct cannot be sent as JSON")
                }
                body = ByteBuffer(bytes: data)
            case .query:
                path += try Self.queryString(object as? [String: Any] ?? [:])
            case .none:
                break
            }
        }
        var headers = HTTPFields()
        for name in [HTTPField.Name.authorization, .origin, .userAgent] {
            if let value = request.headers[name] { headers[name] = value }
        }
        if let body { headers[.contentType] = "application/json"; headers[.contentLength] = String(body.readableBytes) }
        let inner = Request(
            head: HTTPRequest(method: operation.method, scheme: request.head.scheme, authority: request.head.authority, path: path, headerFields: headers),
            body: body.map { RequestBody(buffer: $0) } ?? RequestBody(buffer: ByteBuffer())
        )
        guard let responder = responder.withLock({ $0 }) else {
            throw XMLRPCFault(code: XMLRPCFault.internalError, message: "the server is starting")
        }
        let response: Response
        let answer: ByteBuffer
        do {
            response = try await responder.respond(to: inner, context: context)
            let collected = CollectedBody()
            try await response.body.write(CollectingWriter(into: collected))
            answer = collected.buffer
        } catch {
            throw XMLRPCFault(code: XMLRPCFault.internalError, message: "the operation failed")
        }
        let bytes = Array(buffer: answer)
        guard (200...299).contains(response.status.code) else {
            throw Self.fault(status: response.status.code, problem: bytes)
        }
        if bytes.isEmpty { return .bool(true) }
        guard let value = XMLRPCJSON.value(fromJSONText: bytes) else {
            throw XMLRPCFault(code: XMLRPCFault.internalError, message: "the operation's answer is not JSON")
        }
        return value
    }

    static func queryString(_ object: [String: Any]) throws(XMLRPCFault) -> String {
        var items: [URLQueryItem] = []
        for key in object.keys.sorted() {
            switch object[key] {
            case let text as String: items.append(URLQueryItem(name: key, value: text))
            case let number as Int: items.append(URLQueryItem(name: key, value: String(number)))
            case let flag as Bool: items.append(URLQueryItem(name: key, value: flag ? "true" : "false"))
            case is NSNull: continue
            default: throw XMLRPCFault(code: XMLRPCFault.invalidParams, message: "query member \(key) must be a string, int or boolean")
            }
        }
        var components = URLComponents()
        components.queryItems = items
        return items.isEmpty ? "" : "?" + (components.percentEncodedQuery ?? "")
    }

    /// A problem+json answer as a fault: the HTTP status is the code, title and detail the text.
    static func fault(status: Int, problem: [UInt8]) -> XMLRPCFault {
        var message = "HTTP \(status)"
        if let object = try? JSONSerialization.jsonObject(with: Data(problem)) as? [String: Any] {
            let title = object["title"] as? String ?? message
            message = (object["detail"] as? String).map { "\(title): \($0)" } ?? title
            // Field errors, when the detail does not already name them all.
            if let errors = object["errors"] as? [[String: Any]], !errors.isEmpty {
                let fields = errors.map { "\($0["pointer"] as? String ?? ""): \($0["detail"] as? String ?? "")" }
                if !fields.allSatisfy(message.contains) { message = "\(title): " + fields.joined(separator: "; ") }
            }
        }
        return XMLRPCFault(code: status, message: message)
    }
}

/// Collects a response body.
private final class CollectedBody: @unchecked Sendable {
    var buffer = ByteBuffer()
}

private struct CollectingWriter: ResponseBodyWriter {
    let into: CollectedBody

    mutating func write(_ part: ByteBuffer) async throws {
        guard into.buffer.readableBytes + part.readableBytes <= HTTPLimits.maxBodyBytes * 4 else { throw XMLRPCFault(code: XMLRPCFault.internalError, message: "answer too large") }
        into.buffer.writeImmutableBuffer(part)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
