import Foundation
import Hummingbird

/// What `serve --demo` adds to the HTTP face: the demo shop page at `/demo` (an order page with
/// the button, calling the demo widget) and the demo call centre's agent screen at `/demo/crm`,
/// which shows the context each call brought.
public struct DemoPages: Sendable {
    public var widgetId: String
    /// The demo call centre's recent calls, newest first.
    public var agentCalls: @Sendable () async -> [AgentCall]

    public struct AgentCall: Sendable, Codable {
        public var callId: String?
        public var from: String
        public var state: String
        /// The `X-Switchboard-*` headers of the call's INVITE, without the prefix.
        public var context: [String: String]
        /// DTMF digits the agent heard.
        public var digits: String

        public init(callId: String?, from: String, state: String, context: [String: String], digits: String = "") {
            self.callId = callId
            self.from = from
            self.state = state
            self.context = context
            self.digits = digits
        }
    }

    public init(widgetId: String, agentCalls: @escaping @Sendable () async -> [AgentCall]) {
        self.widgetId = widgetId
        self.agentCalls = agentCalls
    }
}

extension DemoPages {
    func register(on router: Router<SwitchboardRequestContext>, routes: RouteTable) {
        let shop = String(decoding: PackageResources.demo_html, as: UTF8.self).replacingOccurrences(of: "{{WIDGET_ID}}", with: widgetId)
        let shopPage = ByteBuffer(string: shop)
        let crmPage = ByteBuffer(bytes: PackageResources.crm_html)
        let html: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        router.get("/demo") { _, _ in Response(status: .ok, headers: html, body: .init(byteBuffer: shopPage)) }
        router.get("/demo/crm") { _, _ in Response(status: .ok, headers: html, body: .init(byteBuffer: crmPage)) }
        let calls = agentCalls
        router.get("/demo/crm/calls") { _, _ -> Response in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = (try? encoder.encode(await calls())) ?? Data("[]".utf8)
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        for path in ["/demo", "/demo/crm", "/demo/crm/calls"] { routes.add(method: .get, path: path) }
    }
}
