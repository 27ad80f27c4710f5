import HTTPTypes
import Hummingbird
import Logging

/// Turns every error into an `application/problem+json` response: domain errors, undecodable
/// requests, unknown routes (404) and known routes asked with the wrong method (405).
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = SwitchboardRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound" {
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty else {
                return Problem(status: .notFound, kind: "not-found", detail: "no resource at \(request.uri.path)").response(instance: request.uri.path)
            }
            let allow = Set(allowed.map(\.rawValue)).sorted().joined(separator: ", ")
            return Problem(
                status: .methodNotAllowed, kind: "method-not-allowed",
                detail: "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(allow)",
                headers: [.allow: allow]
            ).response(instance: request.uri.path)
        } catch {
            if let problem = Problem.from(error) {
                return problem.response(instance: request.uri.path)
            }
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return Problem(status: .internalServerError, kind: "internal", detail: "the server failed to handle the request").response(instance: request.uri.path)
        }
    }
}
