public import Control
import Foundation
import HTTPTypes
import HummingbirdCore
public import HummingbirdTLS
import HummingbirdWebSocket
public import Hummingbird
public import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
public import Prometheus

/// What the HTTP face needs to know beyond the domain services.
public struct HTTPConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// STUN/TURN servers handed to browsers with each widget session.
    public var iceServers: [ICEServer]
    public var version: String
    /// The server certificate and key: with it the port speaks HTTPS (and WSS on `/sip`).
    public var tls: TLSConfiguration?

    public init(host: String, port: Int, iceServers: [ICEServer] = [], version: String, tls: TLSConfiguration? = nil) {
        self.host = host
        self.port = port
        self.iceServers = iceServers
        self.version = version
        self.tls = tls
    }

    /// `https` with TLS, `http` without.
    public var scheme: String { tls == nil ? "http" : "https" }

    /// One `RTCIceServer` entry: its URLs and how its credentials are made.
    public struct ICEServer: Sendable {
        public var urls: [String]
        public var credentials: Credentials

        /// What a widget session's entry carries as `username` and `credential`.
        public enum Credentials: Sendable {
            /// Nothing (STUN).
            case none
            /// The same username and password in every session.
            case fixed(username: String, password: String)
            /// TURN REST API credentials made for each session, expiring with it.
            case turnREST(TURNRESTCredentials)

            public var isNone: Bool {
                if case .none = self { true } else { false }
            }
        }

        public init(urls: [String], credentials: Credentials) {
            self.urls = urls
            self.credentials = credentials
        }

        public init(urls: [String], username: String? = nil, credential: String? = nil) {
            self.urls = urls
            if let username, let credential {
                credentials = .fixed(username: username, password: credential)
            } else {
                credentials = .none
            }
        }
    }
}

/// Builds the HTTP application: REST API, `/healthz`, `/metrics`, `/openapi.yaml`; over TLS
/// when the configuration has a certificate.
public func makeHTTPApplication(
    configuration: HTTPConfiguration,
    widgets: WidgetService,
    apiKeys: APIKeyService,
    trunks: TrunkService,
    calls: CallService,
    events: EventService,
    webhooks: WebhookService,
    onRedeliver: @escaping @Sendable () -> Void = {},
    browserSignalling: (any BrowserSignalling)? = nil,
    metrics: PrometheusCollectorRegistry,
    demo: DemoPages? = nil,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = try makeRouter(
        configuration: configuration, widgets: widgets, apiKeys: apiKeys, trunks: trunks, calls: calls, events: events, webhooks: webhooks,
        onRedeliver: onRedeliver, metrics: metrics, demo: demo
    )
    let plain: HTTPServerBuilder =
        if let browserSignalling {
            .http1WebSocketUpgrade(webSocketRouter: makeSIPWebSocketRouter(widgets: widgets, signalling: browserSignalling, logger: logger))
        } else {
            .http1()
        }
    let server = try configuration.tls.map { try HTTPServerBuilder.tls(plain, tlsConfiguration: $0) } ?? plain
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Switchboard"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The router alone, for tests that drive it without a socket.
public func makeRouter(
    configuration: HTTPConfiguration,
    widgets: WidgetService,
    apiKeys: APIKeyService,
    trunks: TrunkService,
    calls: CallService,
    events: EventService,
    webhooks: WebhookService,
    onRedeliver: @escaping @Sendable () -> Void = {},
    metrics: PrometheusCollectorRegistry,
    demo: DemoPages? = nil
) throws -> Router<SwitchboardRequestContext> {
    let router = Router(context: SwitchboardRequestContext.self)
    let routes = RouteTable()
    router.add(middleware: RequestMetricsMiddleware())
    router.add(middleware: LocationHeaderMiddleware())
    router.add(middleware: CORSMiddleware(widgets: widgets))
    router.add(middleware: ProblemMiddleware(routes: routes))
    router.add(middleware: BodyLimitMiddleware())
    router.add(middleware: AuthenticationMiddleware(apiKeys: apiKeys, scheme: configuration.scheme, defaultBaseURL: "\(configuration.scheme)://\(configuration.host):\(configuration.port)"))
    router.add(middleware: IdempotencyMiddleware(storage: widgets.storage, clock: widgets.clock))

    let handlers = APIHandlers(
        widgets: widgets,
        apiKeys: apiKeys,
        trunks: trunks,
        calls: calls,
        events: events,
        webhooks: webhooks,
        onRedeliver: onRedeliver,
        iceServers: ICEServerList(configuration.iceServers),
        version: configuration.version
    )
    try handlers.registerHandlers(
        on: RecordingTransport(router: router, table: routes),
        configuration: .init(jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])
    )

    router.get("/metrics") { _, _ -> Response in
        var buffer = [UInt8]()
        metrics.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
    routes.add(method: .get, path: "/metrics")

    let spec = ByteBuffer(bytes: PackageResources.openapi_yaml)
    router.get("/openapi.yaml") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: spec))
    }
    routes.add(method: .get, path: "/openapi.yaml")

    // The embeddable widget: a page on any origin loads it with a plain <script> tag.
    let widget = ByteBuffer(bytes: PackageResources.callme_js)
    let widgetTypes = ByteBuffer(bytes: PackageResources.callme_d_ts)
    router.get("/widget/callme.js") { _, _ -> Response in
        Response(
            status: .ok,
            headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "public, max-age=300", .accessControlAllowOrigin: "*"],
            body: .init(byteBuffer: widget)
        )
    }
    routes.add(method: .get, path: "/widget/callme.js")
    router.get("/widget/callme.d.ts") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "application/typescript; charset=utf-8", .accessControlAllowOrigin: "*"], body: .init(byteBuffer: widgetTypes))
    }
    routes.add(method: .get, path: "/widget/callme.d.ts")
    demo?.register(on: router, routes: routes)

    // XML-RPC: every REST operation, answered by this same router.
    let xmlrpc = XMLRPCEndpoint()
    xmlrpc.register(on: router, routes: routes)
    xmlrpc.attach(router.buildResponder())
    return router
}
