import Control
import Foundation
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Store
import Testing

/// The HTTP face in process: the real router, middlewares and a real SQLite store.
struct TestServer {
    let directory: URL
    let widgets: WidgetService
    let apiKeys: APIKeyService
    let trunks: TrunkService
    let calls: CallService
    let webhooks: WebhookService
    let adminKey: String
    let application: Application<RouterResponder<SwitchboardRequestContext>>

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("http-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let storage = try SQLiteStorage(path: directory.appendingPathComponent("db.sqlite").path, logger: Logger(label: "test"))
        widgets = WidgetService(storage: storage, pageRateLimiter: RateLimiter(perMinute: 100))
        apiKeys = APIKeyService(storage: storage)
        let trunks = TrunkService(storage: storage, secrets: SecretBox(keyBytes: Array(repeating: 7, count: 32)))
        calls = CallService(log: CallLog(storage: storage))
        self.trunks = trunks
        webhooks = WebhookService(storage: storage, secrets: SecretBox(keyBytes: Array(repeating: 7, count: 32)))
        adminKey = try #require(try await apiKeys.bootstrap(preset: nil)).text
        let router = try makeRouter(
            configuration: HTTPConfiguration(host: "127.0.0.1", port: 0, version: "test"),
            widgets: widgets, apiKeys: apiKeys, trunks: trunks, calls: calls, events: EventService(storage: storage),
            webhooks: webhooks, metrics: PrometheusCollectorRegistry()
        )
        application = Application(router: router)
    }

    var auth: HTTPFields { [.authorization: "Bearer \(adminKey)", .contentType: "application/json"] }
}

func json(_ buffer: ByteBuffer) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
}

@Suite struct RouterTests {
    @Test func problemsForUnknownRoutesWrongMethodsAndMissingKeys() async throws {
        let server = try await TestServer()
        try await server.application.test(.router) { client in
            try await client.execute(uri: "/v1/nothing-here", method: .get, headers: server.auth) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
                let body = try json(response.body)
                #expect(body["status"] as? Int == 404)
            }
            try await client.execute(uri: "/v1/widgets", method: .put, headers: server.auth) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, POST")
            }
            try await client.execute(uri: "/v1/widgets", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            try await client.execute(uri: "/v1/widgets", method: .get, headers: [.authorization: "Bearer sbk_wrong"]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/widgets", method: .get, headers: [.authorization: "Token abc"]) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func basicAuthWithTheKeyAsPasswordIsAccepted() async throws {
        let server = try await TestServer()
        let basic = "Basic " + Data("shop:\(server.adminKey)".utf8).base64EncodedString()
        try await server.application.test(.router) { client in
            try await client.execute(uri: "/v1/widgets", method: .get, headers: [.authorization: basic]) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["data"] as? [Any] != nil)
                #expect(body.keys.contains("nextCursor"), "nextCursor must be present (null) on the last page")
            }
        }
    }

    @Test func createdWidgetHasAPlainLocationAndDecodingErrorsAreProblems() async throws {
        let server = try await TestServer()
        try await server.application.test(.router) { client in
            let body = ByteBuffer(string: #"{"name":"Shop","destination":"sip:q@example.com"}"#)
            try await client.execute(uri: "/v1/widgets", method: .post, headers: server.auth, body: body) { response in
                #expect(response.status == .created)
                let id = try #require(try json(response.body)["id"] as? String)
                #expect(response.headers[.location] == "/v1/widgets/\(id)")
            }
            try await client.execute(uri: "/v1/widgets", method: .post, headers: server.auth, body: ByteBuffer(string: #"{"name":true}"#)) { response in
                #expect(response.status == .badRequest)
                let detail = try json(response.body)["detail"] as? String
                #expect(detail?.contains("/name") == true)
            }
            try await client.execute(uri: "/v1/widgets", method: .post, headers: server.auth, body: ByteBuffer(string: #"{"name":"a","destination":"sip:a@b","extra":1}"#)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/v1/widgets?limit=500", method: .get, headers: server.auth) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func corsPreflightFollowsTheWidgetsOrigins() async throws {
        let server = try await TestServer()
        let widget = try await server.widgets.create(WidgetDraft(name: "Shop", destination: "sip:q@example.com", allowedOrigins: ["https://shop.example"]))
        try await server.application.test(.router) { client in
            try await client.execute(
                uri: "/v1/widgets/\(widget.id)/sessions", method: .options,
                headers: [.origin: "https://shop.example", .accessControlRequestMethod: "POST"]
            ) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "https://shop.example")
                #expect(response.headers[.accessControlAllowMethods]?.contains("POST") == true)
            }
            try await client.execute(
                uri: "/v1/widgets/\(widget.id)/sessions", method: .options,
                headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"]
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
            try await client.execute(uri: "/v1/widgets/\(widget.id)/public", method: .get, headers: [.origin: "https://shop.example"]) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(Set(body.keys) == ["id", "label", "appearance", "video", "enabled"])
                #expect(response.headers[.accessControlAllowOrigin] == "https://shop.example")
            }
        }
    }

    @Test func handlersAnswerWhenCalledDirectly() async throws {
        let server = try await TestServer()
        let handlers = APIHandlers(
            widgets: server.widgets, apiKeys: server.apiKeys, trunks: server.trunks, calls: server.calls,
            events: EventService(storage: server.webhooks.storage), webhooks: server.webhooks, onRedeliver: {}, iceServers: [], version: "test"
        )
        let admin = try #require(try await server.apiKeys.authenticate(secret: server.adminKey))
        let info = RequestInfo(principal: admin, origin: nil, clientAddress: "127.0.0.1", baseURL: "http://gw.example:8080", body: nil)
        try await RequestInfo.$current.withValue(info) {
            let created = try await handlers.createWidget(.init(body: .json(.init(name: "Shop", destination: "sip:q@example.com"))))
            let widget = try created.created.body.json
            #expect(widget.label == "Call us")
            let session = try await handlers.createWidgetSession(.init(path: .init(widgetId: widget.id)))
            let issued = try session.created.body.json
            #expect(issued.websocketUrl == "ws://gw.example:8080/sip?token=\(issued.token)")
            #expect(issued.sipUri == "sip:\(widget.id)@gw.example")
            #expect(issued.verified)
        }
        // Without a principal the protected operations refuse.
        await #expect(throws: ControlError.self) {
            try await handlers.listWidgets(.init())
        }
    }
}
