import Hummingbird
import Metrics

/// `http_requests_total{method,route,status}` and `http_request_duration_seconds{method,route}`.
/// Labels are bounded: the route is the matched template, never the raw path.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = SwitchboardRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath.map { $0 == "NotFound" ? "unmatched" : $0 } ?? "unmatched"
        Counter(label: "http_requests_total", dimensions: [("method", request.method.rawValue), ("route", route), ("status", String(response.status.code))]).increment()
        Timer(label: "http_request_duration_seconds", dimensions: [("method", request.method.rawValue), ("route", route)])
            .recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        return response
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
