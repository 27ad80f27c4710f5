public import Control
public import Logging
public import MediaPlane
import NIOCore
import NIOPosix
public import NIOSSL
public import ServiceLifecycle

/// The signalling plane as a service: binds SIP/UDP, runs the core on that socket's event loop,
/// and lets the API hang calls up.
public final class SignallingPlane: Service, CallSignalling, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var bindHost: String
        public var port: Int
        public var advertisedHost: String
        public var httpBaseURL: String
        public var product: String
        public var maxCallDuration: Duration
        public var refusalsPerSecond: Int
        public var maxStreamConnections: Int
        /// Requests from sources that no trunk admits: 403 (within `refusalsPerSecond`) or silence.
        public var unknownSource: UnknownSourcePolicy
        /// The DNS server for names in destinations, as `host:port` or `host` (port 53); nil
        /// reads the first nameserver of /etc/resolv.conf.
        public var dnsServer: String?
        /// SIP over TLS: the port, and the server certificate and key it presents.
        public var tlsPort: Int?
        public var tls: TLSConfiguration?

        public init(
            bindHost: String, port: Int, advertisedHost: String, httpBaseURL: String, product: String,
            maxCallDuration: Duration = .seconds(4 * 3600), refusalsPerSecond: Int = 10, maxStreamConnections: Int = 10_000,
            unknownSource: UnknownSourcePolicy = .reject, dnsServer: String? = nil,
            tlsPort: Int? = nil, tls: TLSConfiguration? = nil
        ) {
            self.bindHost = bindHost
            self.port = port
            self.advertisedHost = advertisedHost
            self.httpBaseURL = httpBaseURL
            self.product = product
            self.maxCallDuration = maxCallDuration
            self.refusalsPerSecond = refusalsPerSecond
            self.maxStreamConnections = maxStreamConnections
            self.unknownSource = unknownSource
            self.dnsServer = dnsServer
            self.tlsPort = tlsPort
            self.tls = tls
        }
    }

    private let core: SignallingCore
    private let configuration: Configuration
    private let logger: Logger

    public init(
        configuration: Configuration, trunks: TrunkService, callLog: CallLog, mediaPlane: MediaPlane? = nil,
        callRouting: (any CallRouting)? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.logger = logger
        core = SignallingCore(
            configuration: .init(
                advertisedHost: configuration.advertisedHost, port: configuration.port, httpBaseURL: configuration.httpBaseURL,
                product: configuration.product, maxCallDuration: configuration.maxCallDuration,
                refusalsPerSecond: configuration.refusalsPerSecond, maxStreamConnections: configuration.maxStreamConnections,
                unknownSource: configuration.unknownSource,
                dnsServer: (configuration.dnsServer.flatMap(DNSServerAddress.init) ?? DNSServerAddress.system())?.address,
                tlsPort: configuration.tls == nil ? nil : configuration.tlsPort
            ),
            trunks: trunks, callLog: callLog, mediaPlane: mediaPlane, callRouting: callRouting, logger: logger
        )
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let channel = try await SIPUDPTransport.bind(host: configuration.bindHost, port: configuration.port, core: core, group: group)
        let tcp = try await SIPStreamConnection.listen(host: configuration.bindHost, port: configuration.port, core: core, coreLoop: channel.eventLoop, group: group)
        let secure: (any Channel)?
        if let tlsPort = core.configuration.tlsPort, let tls = configuration.tls {
            secure = try await SIPStreamConnection.listen(
                host: configuration.bindHost, port: tlsPort, core: core, coreLoop: channel.eventLoop, group: group,
                tls: try NIOSSLContext(configuration: tls)
            )
            logger.info("SIP over TLS listening", metadata: ["tls": "\(configuration.bindHost):\(tlsPort)"])
        } else {
            secure = nil
        }
        logger.info("SIP listening", metadata: ["udp": "\(configuration.bindHost):\(configuration.port)", "tcp": "\(configuration.bindHost):\(configuration.port)"])
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
            tcp.close(promise: nil)
            secure?.close(promise: nil)
        }
    }

    public func hangup(callId: String) async -> Bool {
        guard let loop = core.eventLoop else { return false }
        let core = self.core
        return (try? await loop.submit { () -> Bool in
            guard core.bridges.calls[callId] != nil else { return false }
            core.hangup(callId: callId, by: .api, cause: "hung up through the API")
            return true
        }.get()) ?? false
    }
}

extension SignallingPlane: BrowserSignalling {
    public func connect(session: WidgetSession, widget: Widget, userAgent: String?, send: @escaping @Sendable ([UInt8]) -> Void) async -> (any BrowserConnection)? {
        guard let loop = core.eventLoop else { return nil }
        let core = self.core
        guard let id = try? await loop.submit({ core.connectBrowser(session: session, widget: widget, userAgent: userAgent, send: send) }).get() else { return nil }
        return BrowserSocket(core: core, loop: loop, id: id)
    }
}

/// Hands a browser's frames to the core on its event loop.
struct BrowserSocket: BrowserConnection {
    let core: SignallingCore
    let loop: any EventLoop
    let id: Int

    func receive(_ bytes: [UInt8]) {
        loop.execute { [core, id] in core.receiveFromBrowser(bytes, browser: id) }
    }

    func close() {
        loop.execute { [core, id] in core.disconnectBrowser(id) }
    }
}
