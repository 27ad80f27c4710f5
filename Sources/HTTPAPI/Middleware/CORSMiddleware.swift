import Control
import HTTPTypes
import Hummingbird

/// CORS for the two endpoints a page calls (`/v1/widgets/{id}/public` and `…/sessions`),
/// restricted to each widget's own `allowedOrigins`: preflights from other origins get 403,
/// and responses to them carry no `Access-Control-Allow-Origin`.
struct CORSMiddleware: RouterMiddleware {
    typealias Context = SwitchboardRequestContext
    let widgets: WidgetService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], let widgetId = Self.publicWidgetId(request.uri.path) else {
            return try await next(request, context)
        }
        let widget = try? await widgets.storage.widget(id: widgetId)
        let allowed = widget?.allows(origin: origin) ?? false
        if request.method == .options {
            guard widget != nil else {
                return Problem(ControlError.notFound(kind: "widget", id: widgetId)).response(instance: request.uri.path)
            }
            guard allowed else {
                return Problem(ControlError.forbidden("origin \(origin) is not allowed for this widget")).response(instance: request.uri.path)
            }
            var headers = Self.headers(origin: origin)
            headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            headers[.accessControlAllowHeaders] = "Content-Type, Authorization, Idempotency-Key"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        if allowed {
            response.headers.append(contentsOf: Self.headers(origin: origin))
            response.headers[.accessControlExposeHeaders] = "Retry-After, Location"
        }
        return response
    }

    static func headers(origin: String) -> HTTPFields {
        [.accessControlAllowOrigin: origin, .vary: "Origin"]
    }

    /// The widget id of `/v1/widgets/{id}/public` or `/v1/widgets/{id}/sessions`.
    static func publicWidgetId(_ path: String) -> String? {
        let parts = path.split(separator: "/")
        guard parts.count == 4, parts[0] == "v1", parts[1] == "widgets", parts[3] == "public" || parts[3] == "sessions" else { return nil }
        return String(parts[2])
    }
}
