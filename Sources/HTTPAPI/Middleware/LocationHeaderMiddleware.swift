import Foundation
import HTTPTypes
import Hummingbird

/// The generated server writes header values percent-encoded (`%2Fv1%2Fwidgets…`); a
/// `Location` must be a plain URI reference, so it is decoded on the way out.
struct LocationHeaderMiddleware: RouterMiddleware {
    typealias Context = SwitchboardRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let location = response.headers[.location], location.contains("%"), let plain = location.removingPercentEncoding {
            response.headers[.location] = plain
        }
        return response
    }
}
