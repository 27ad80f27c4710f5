import HTTPTypes
import Hummingbird
import OpenAPIRuntime
import Synchronization

/// Every path template the server answers and its methods, so that a known path asked with
/// another method gets 405 with `Allow` rather than 404.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [Substring], method: HTTPRequest.Method)]>([])

    func add(method: HTTPRequest.Method, path: String) {
        routes.withLock { $0.append((path.split(separator: "/"), method)) }
    }

    /// The methods allowed on `path`, empty when no template matches it.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        return routes.withLock { routes in
            routes.filter { route in
                route.segments.count == segments.count
                    && zip(route.segments, segments).allSatisfy { template, actual in
                        template.first == "{" || template.first == ":" || template == actual
                    }
            }.map(\.method)
        }
    }
}

/// Registers the generated handlers on the router and records them in the route table.
struct RecordingTransport: ServerTransport {
    let router: Router<SwitchboardRequestContext>
    let table: RouteTable

    func register(
        _ handler: @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
        method: HTTPRequest.Method,
        path: String
    ) throws {
        table.add(method: method, path: path)
        // A request without a body must reach the generated code as "no body", not as an empty
        // one (which would fail to decode where the spec makes the body optional).
        router.register(
            { request, body, metadata in
                let length = request.headerFields[.contentLength]
                let empty = length == "0" || (length == nil && request.headerFields[.transferEncoding] == nil)
                return try await handler(request, empty ? nil : body, metadata)
            },
            method: method,
            path: path
        )
    }
}
