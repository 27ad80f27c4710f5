import ArgumentParser
import B2BUA
import Control
import DemoCallCentre
import Foundation
import HTTPAPI
import Logging
import MediaPlane
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Store
import Webhooks

/// `switchboard serve`: everything in one process. Every flag can also be set through the
/// environment as `SWITCHBOARD_<FLAG>` (`--http-port` → `SWITCHBOARD_HTTP_PORT`).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway: HTTP API, SIP, media.")

    /// One signalling thread per core the process may use, at most 4: on two cores, one thread
    /// falls behind Kamailio's two workers at about 2,500 calls/s while two keep up past 3,000
    /// (Benchmarks/RESULTS.md); more than 4 was not measured.
    static var defaultSIPThreads: Int { min(4, max(1, System.coreCount)) }

    @Option(help: "Address the HTTP server binds.")
    var httpHost = Environment.string("HTTP_HOST") ?? "127.0.0.1"

    @Option(help: "HTTP port (REST, XML-RPC, WebSocket, widget).")
    var httpPort = Environment.int("HTTP_PORT") ?? 8080

    @Option(help: "SIP port, UDP and TCP.")
    var sipPort = Environment.int("SIP_PORT") ?? 5060

    @Option(help: "SIP over TLS port.")
    var sipTlsPort = Environment.int("SIP_TLS_PORT")

    @Option(help: "UDP port range for media, as LOW-HIGH.")
    var rtpPorts = Environment.string("RTP_PORTS") ?? "20000-29999"

    @Option(help: "Address written into SDP and ICE candidates (default: the bind address).")
    var publicIp = Environment.string("PUBLIC_IP")

    @Option(help: "An IPv6 address the browser's media also binds and offers as a second ICE host candidate.")
    var publicIpv6 = Environment.string("PUBLIC_IPV6")

    @Option(help: "Directory for the database, the admin key and recordings.")
    var dataDir = Environment.string("DATA_DIR") ?? "./data"

    @Option(help: "Database URL; postgres://… selects PostgreSQL (default: SQLite in the data directory).")
    var database = Environment.string("DATABASE")

    @Option(help: "PEM certificate for HTTPS, WSS and SIP over TLS.")
    var tlsCert = Environment.string("TLS_CERT")

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey = Environment.string("TLS_KEY")

    @Flag(help: "Create a demo widget and serve the demo shop.")
    var demo = Environment.bool("DEMO") ?? false

    @Option(help: "Widget sessions a page may create per minute per client address.")
    var sessionRateLimit = Environment.int("SESSION_RATE_LIMIT") ?? 30

    @Option(help: "Lifetime of a widget session token, in seconds.")
    var sessionTtl = Environment.int("SESSION_TTL") ?? 600

    @Option(help: "Calls are ended after this many seconds.")
    var maxCallDuration = Environment.int("MAX_CALL_DURATION") ?? 14_400

    @Option(help: "Requests from SIP sources that no trunk admits: reject (403, rate-limited) or drop (no answer).")
    var unknownSource = Environment.string("UNKNOWN_SOURCE") ?? "reject"

    @Option(help: "Signalling threads: SIP/UDP calls are spread over this many event loops by Call-ID (TCP, TLS and WebSocket run on the first); by default one per core, at most 4.")
    var sipThreads = Environment.int("SIP_THREADS") ?? Self.defaultSIPThreads

    @Option(help: "DNS server for host names in destinations, HOST:PORT (default: the first nameserver in /etc/resolv.conf).")
    var dnsServer = Environment.string("DNS_SERVER")

    @Option(help: "Seconds without RTP from either side before a call ends (cause media-timeout).")
    var mediaTimeout = Environment.int("MEDIA_TIMEOUT") ?? 30

    @Option(help: "Seconds a browser has after the answer to complete an ICE check (cause ice-no-checks).")
    var iceTimeout = Environment.int("ICE_TIMEOUT") ?? 10

    @Option(
        name: .customLong("ice-server"),
        help: ArgumentHelp(
            "A STUN or TURN server for browsers, handed out with each widget session (repeatable).",
            discussion: """
                stun:HOST[:PORT] or turn:HOST[:PORT][?transport=udp|tcp] (stuns:, turns: too); several \
                comma-separated URLs make one entry. TURN entries need --turn-secret-file or \
                --turn-username/--turn-password. SWITCHBOARD_ICE_SERVER takes entries separated by spaces.
                """,
            valueName: "url"
        )
    )
    var iceServers: [String] = Environment.string("ICE_SERVER").map { $0.split(separator: " ").map(String.init) } ?? []

    @Option(
        help: ArgumentHelp(
            "File with the TURN REST API shared secret (coturn's static-auth-secret, with use-auth-secret).",
            discussion: """
                Each widget session then gets username "<expiry>:<session id>" (the session's expiresAt in \
                unix seconds) and credential base64(HMAC-SHA1(secret, username)). The secret is read \
                once at start-up and never logged.
                """,
            valueName: "path"
        )
    )
    var turnSecretFile = Environment.string("TURN_SECRET_FILE")

    @Option(help: "Static TURN username handed to every session (instead of --turn-secret-file).")
    var turnUsername = Environment.string("TURN_USERNAME")

    @Option(help: "Static TURN password for --turn-username (SWITCHBOARD_TURN_PASSWORD keeps it out of the process list).")
    var turnPassword = Environment.string("TURN_PASSWORD")

    @Option(help: "Opus encoder complexity, 0-10, when the gateway transcodes.")
    var opusComplexity = Environment.int("OPUS_COMPLEXITY") ?? 8

    @Option(help: "Datagrams a second on one media event loop above which it polls its sockets every millisecond (under half of it NIO reads them again); 0: always poll.")
    var mediaPollAbove = Environment.int("MEDIA_POLL_ABOVE") ?? 12_000

    @Option(help: "Seconds a webhook endpoint has to answer one delivery attempt.")
    var webhookTimeout = Environment.double("WEBHOOK_TIMEOUT") ?? 10

    @Option(help: "Seconds before the first retry of a failed webhook delivery; each later wait is 4 times longer (at most 8 h), with jitter.")
    var webhookRetryBase = Environment.double("WEBHOOK_RETRY_BASE") ?? 5

    @Option(help: "Attempts before a webhook delivery is given up (10 spans about a day with the default retry base).")
    var webhookMaxAttempts = Environment.int("WEBHOOK_MAX_ATTEMPTS") ?? 10

    @Option(help: "Days events and their finished webhook deliveries are kept.")
    var eventRetentionDays = Environment.int("EVENT_RETENTION_DAYS") ?? 30

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = Environment.string("LOG_LEVEL") ?? "info"

    func validate() throws {
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be 0-65535") }
        guard (1...65535).contains(sipPort) else { throw ValidationError("--sip-port must be 1-65535") }
        guard (1...64).contains(sipThreads) else { throw ValidationError("--sip-threads must be 1-64") }
        if let sipTlsPort, !(1...65535).contains(sipTlsPort) { throw ValidationError("--sip-tls-port must be 1-65535") }
        guard PortRange(rtpPorts) != nil else { throw ValidationError("--rtp-ports must be LOW-HIGH with 1024 <= LOW < HIGH <= 65535") }
        if let publicIpv6 {
            var address = in6_addr()
            guard inet_pton(AF_INET6, publicIpv6, &address) == 1 else { throw ValidationError("--public-ipv6 \(publicIpv6) is not an IPv6 address") }
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        guard sessionRateLimit > 0 else { throw ValidationError("--session-rate-limit must be positive") }
        guard sessionTtl >= 10 else { throw ValidationError("--session-ttl must be at least 10 seconds") }
        guard mediaTimeout >= 1 else { throw ValidationError("--media-timeout must be at least 1 second") }
        guard iceTimeout >= 1 else { throw ValidationError("--ice-timeout must be at least 1 second") }
        guard (0...10).contains(opusComplexity) else { throw ValidationError("--opus-complexity must be 0-10") }
        guard mediaPollAbove >= 0 else { throw ValidationError("--media-poll-above must be 0 or more datagrams a second") }
        guard (0.1...120).contains(webhookTimeout) else { throw ValidationError("--webhook-timeout must be 0.1-120 seconds") }
        guard (0.05...3600).contains(webhookRetryBase) else { throw ValidationError("--webhook-retry-base must be 0.05-3600 seconds") }
        guard (1...50).contains(webhookMaxAttempts) else { throw ValidationError("--webhook-max-attempts must be 1-50") }
        guard (1...3650).contains(eventRetentionDays) else { throw ValidationError("--event-retention-days must be 1-3650") }
        guard maxCallDuration >= 1 else { throw ValidationError("--max-call-duration must be at least 1 second") }
        guard UnknownSourcePolicy(rawValue: unknownSource) != nil else { throw ValidationError("--unknown-source must be reject or drop") }
        if let dnsServer, DNSServerAddress(dnsServer) == nil {
            throw ValidationError("--dns-server \(dnsServer) must be an IP address, optionally with :PORT ([v6]:PORT)")
        }
        if let database, !database.hasPrefix("sqlite:") {
            throw ValidationError("--database \(database): only SQLite (the default, or sqlite:PATH) is available in this build")
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together: give both (PEM files) or neither")
        }
        if sipTlsPort != nil, tlsCert == nil {
            throw ValidationError("--sip-tls-port needs the server certificate: give --tls-cert and --tls-key")
        }
        if let sipTlsPort, sipTlsPort == sipPort {
            throw ValidationError("--sip-tls-port must differ from --sip-port (which serves SIP over TCP)")
        }
        if (turnUsername == nil) != (turnPassword == nil) {
            throw ValidationError("--turn-username and --turn-password go together: give both or neither")
        }
        if turnSecretFile != nil, turnUsername != nil {
            throw ValidationError("--turn-secret-file and --turn-username/--turn-password exclude each other: give one kind of TURN credentials")
        }
        // The URLs and how they fit the credentials; the secret file itself is read in run().
        let placeholder: HTTPConfiguration.ICEServer.Credentials =
            turnSecretFile != nil ? .turnREST(TURNRESTCredentials(secret: Data())) : turnCredentialsWithoutSecret
        do {
            _ = try ICEServerList.parse(iceServers, turnCredentials: placeholder)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The static TURN credentials, if any.
    private var turnCredentialsWithoutSecret: HTTPConfiguration.ICEServer.Credentials {
        if let turnUsername, let turnPassword { .fixed(username: turnUsername, password: turnPassword) } else { .none }
    }

    /// The ICE servers for widget sessions, with the TURN secret read from its file.
    func iceServerList() throws -> ICEServerList {
        var credentials = turnCredentialsWithoutSecret
        if let turnSecretFile { credentials = .turnREST(try TURNRESTCredentials.load(secretFile: turnSecretFile)) }
        return try ICEServerList.parse(iceServers, turnCredentials: credentials)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "switchboard")
        // Certificate problems end the start-up here, before anything is opened or bound.
        var tls: TLSCredentials?
        if let tlsCert, let tlsKey { tls = try TLSCredentials.load(certificatePath: tlsCert, keyPath: tlsKey) }
        let sessionICEServers = try iceServerList()
        if !sessionICEServers.entries.isEmpty {
            logger.info(
                "ICE servers for widget sessions",
                metadata: [
                    "urls": "\(sessionICEServers.entries.flatMap(\.urls).joined(separator: " "))",
                    "turn credentials": "\(turnSecretFile != nil ? "TURN REST (per session)" : turnUsername != nil ? "static" : "none")",
                ]
            )
        }
        let scheme = tls == nil ? "http" : "https"
        ResourceLimits.raiseOpenFiles(logger: logger)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let databasePath = database.map { String($0.dropFirst("sqlite:".count)) } ?? "\(dataDir)/switchboard.sqlite"
        let storage = try SQLiteStorage(path: databasePath, logger: logger)

        let apiKeys = APIKeyService(storage: storage)
        let widgets = WidgetService(
            storage: storage,
            sessionLifetime: TimeInterval(sessionTtl),
            pageRateLimiter: RateLimiter(perMinute: sessionRateLimit)
        )
        let secrets = try SecretBox.load(keyFile: "\(dataDir)/secrets.key")
        let trunks = TrunkService(storage: storage, secrets: secrets)
        try await trunks.reload()
        let webhooks = WebhookService(storage: storage, secrets: secrets)
        let events = EventService(storage: storage)
        let dispatcher = WebhookDispatcher(
            storage: storage, webhooks: webhooks,
            configuration: WebhookDispatchConfiguration(
                timeout: .milliseconds(Int64(webhookTimeout * 1000)), retryBase: .milliseconds(Int64(webhookRetryBase * 1000)),
                maxAttempts: webhookMaxAttempts
            ),
            logger: logger
        )
        let callLog = CallLog(storage: storage, render: restCallJSON)
        callLog.onEventsWritten { dispatcher.wake() }
        let calls = CallService(log: callLog)
        try await bootstrapAdminKey(apiKeys, logger: logger)
        let demoWidget = demo ? try await DemoSetup.ensureWidget(widgets, httpPort: httpPort) : nil

        let range = PortRange(rtpPorts) ?? PortRange(low: 20000, high: 29999)
        var mediaConfiguration = MediaPlaneConfiguration(
            bindHost: httpHost, advertisedHost: publicIp ?? httpHost, ports: range.low...range.high,
            mediaTimeout: .seconds(mediaTimeout), iceTimeout: .seconds(iceTimeout), opusComplexity: opusComplexity,
            certificateDirectory: dataDir
        ).withIPv6(publicIpv6)
        mediaConfiguration.receivePollAbove = mediaPollAbove == 0 ? nil : mediaPollAbove
        let media = try MediaPlane(configuration: mediaConfiguration, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        let signalling = SignallingPlane(
            configuration: .init(
                bindHost: httpHost, port: sipPort, advertisedHost: publicIp ?? httpHost,
                httpBaseURL: "\(scheme)://\(httpHost):\(httpPort)", product: "Switchboard/\(Switchboard.version)",
                maxCallDuration: .seconds(maxCallDuration),
                unknownSource: UnknownSourcePolicy(rawValue: unknownSource) ?? .reject, dnsServer: dnsServer,
                tlsPort: sipTlsPort, tls: tls?.serverConfiguration, threads: sipThreads
            ),
            trunks: trunks, callLog: callLog, mediaPlane: media, callRouting: CRMRouter(logger: logger), logger: logger
        )
        calls.attach(signalling)
        let demoCallCentre = demo ? DemoCallCentre(logger: logger) : nil
        let demoPages = demoWidget.map { widget in
            DemoPages(widgetId: widget.id) {
                await demoCallCentre?.recentCalls().map {
                    DemoPages.AgentCall(callId: $0.switchboardCallId, from: $0.from, state: $0.state, context: $0.context, digits: $0.digits)
                } ?? []
            }
        }
        let host = httpHost
        let http = try makeHTTPApplication(
            configuration: HTTPConfiguration(
                host: httpHost, port: httpPort, iceServers: sessionICEServers.entries, version: Switchboard.version, tls: tls?.serverConfiguration
            ),
            widgets: widgets,
            apiKeys: apiKeys,
            trunks: trunks,
            calls: calls,
            events: events,
            webhooks: webhooks,
            onRedeliver: { dispatcher.wake() },
            browserSignalling: signalling,
            metrics: registry,
            demo: demoPages,
            logger: logger,
            onServerRunning: { port in
                let base = "\(scheme)://\(host):\(port)"
                var lines = ["Switchboard \(Switchboard.version) listening on \(base)"]
                lines.append("  REST API:   \(base)/v1   (spec: \(base)/openapi.yaml)")
                lines.append("  health:     \(base)/healthz   metrics: \(base)/metrics")
                if let demoWidget {
                    lines.append("  demo widget: \(demoWidget.id) (public view: \(base)/v1/widgets/\(demoWidget.id)/public)")
                    lines.append("  demo shop:  \(base)/demo   agent screen: \(base)/demo/crm")
                }
                Console.say(lines.joined(separator: "\n"))
            }
        )
        let maintenance = Maintenance(widgets: widgets, callLog: callLog, logger: logger, eventRetention: TimeInterval(eventRetentionDays) * 86_400)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: SupervisedService(name: "http", service: http, logger: logger)),
                    .init(service: SupervisedService(name: "sip", service: signalling, logger: logger)),
                    .init(service: SupervisedService(name: "maintenance", service: maintenance, logger: logger)),
                    .init(service: SupervisedService(name: "webhooks", service: dispatcher, logger: logger)),
                ] + (demoCallCentre.map { [.init(service: SupervisedService(name: "demo call centre", service: $0, logger: logger))] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.info("stopped")
    }

    /// Creates the first admin key on an empty database: `SWITCHBOARD_BOOTSTRAP_KEY`, or a
    /// random one printed once and written to `<data-dir>/admin.key` (mode 0600).
    private func bootstrapAdminKey(_ apiKeys: APIKeyService, logger: Logger) async throws {
        let preset = Environment.string("BOOTSTRAP_KEY")
        guard let generated = try await apiKeys.bootstrap(preset: preset) else {
            if preset != nil { logger.info("admin key from SWITCHBOARD_BOOTSTRAP_KEY is ready (or keys already exist)") }
            return
        }
        let path = "\(dataDir)/admin.key"
        let created = FileManager.default.createFile(atPath: path, contents: Data((generated.text + "\n").utf8), attributes: [.posixPermissions: 0o600])
        guard created else { throw ValidationError("could not write \(path)") }
        Console.say("Admin API key (shown once, also written to \(path)): \(generated.text)")
    }
}

struct PortRange {
    let low: Int
    let high: Int

    init(low: Int, high: Int) {
        self.low = low
        self.high = high
    }

    init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]), 1024 <= low, low < high, high <= 65535 else { return nil }
        self.low = low
        self.high = high
    }
}

/// `SWITCHBOARD_*` environment variables.
enum Environment {
    static func string(_ name: String) -> String? {
        ProcessInfo.processInfo.environment["SWITCHBOARD_" + name].flatMap { $0.isEmpty ? nil : $0 }
    }

    static func int(_ name: String) -> Int? { string(name).flatMap(Int.init) }

    static func double(_ name: String) -> Double? { string(name).flatMap(Double.init) }

    static func bool(_ name: String) -> Bool? {
        string(name).map { ["1", "true", "yes", "on"].contains($0.lowercased()) }
    }
}

/// Unbuffered lines on standard output (what an operator or a test reads).
enum Console {
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
