public import Control
public import Logging
public import MediaPlane
import NIOCore
import NIOPosix
import SIP
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
        /// Signalling cores, each on an event loop of its own with its own socket on the SIP
        /// port: SIP/UDP dialogs are spread over them by Call-ID. SIP over TCP, TLS and
        /// WebSocket runs on the first.
        public var threads: Int

        public init(
            bindHost: String, port: Int, advertisedHost: String, httpBaseURL: String, product: String,
            maxCallDuration: Duration = .seconds(4 * 3600), refusalsPerSecond: Int = 10, maxStreamConnections: Int = 10_000,
            unknownSource: UnknownSourcePolicy = .reject, dnsServer: String? = nil,
            tlsPort: Int? = nil, tls: TLSConfiguration? = nil, threads: Int = 1
        ) {
            self.threads = max(1, threads)
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

    /// The cores, by shard index; the first also takes SIP over TCP, TLS and WebSocket.
    private let cores: [SignallingCore]
    private var core: SignallingCore { cores[0] }
    private let configuration: Configuration
    private let logger: Logger

    public init(
        configuration: Configuration, trunks: TrunkService, callLog: CallLog, mediaPlane: MediaPlane? = nil,
        callRouting: (any CallRouting)? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.logger = logger
        let dnsServer = (configuration.dnsServer.flatMap(DNSServerAddress.init) ?? DNSServerAddress.system())?.address
        let trunkCalls = TrunkCallCounts()
        let refusals = SignallingCore.refusalLimiter(perSecond: configuration.refusalsPerSecond)
        cores = (0..<configuration.threads).map { index in
            SignallingCore(
                configuration: .init(
                    advertisedHost: configuration.advertisedHost, port: configuration.port, httpBaseURL: configuration.httpBaseURL,
                    product: configuration.product, maxCallDuration: configuration.maxCallDuration,
                    refusalsPerSecond: configuration.refusalsPerSecond, maxStreamConnections: configuration.maxStreamConnections,
                    unknownSource: configuration.unknownSource, dnsServer: dnsServer,
                    tlsPort: configuration.tls == nil ? nil : configuration.tlsPort,
                    shard: SIPShard(index: index, count: configuration.threads)
                ),
                trunks: trunks, callLog: callLog, mediaPlane: mediaPlane, callRouting: callRouting, trunkCalls: trunkCalls, refusals: refusals,
                logger: logger
            )
        }
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        // One loop per core, distinct while the group has enough (it has one per CPU).
        let loops = Array(group.makeIterator())
        let transports = cores.enumerated().map { index, core in
            SIPUDPTransport(core: core, shard: core.configuration.shard, eventLoop: loops[index % loops.count])
        }
        SIPUDPTransport.connect(transports)
        var sockets: [any Channel] = []
        for transport in transports {
            sockets.append(
                try await SIPUDPTransport.bind(host: configuration.bindHost, port: configuration.port, transport: transport, sharingPort: transports.count > 1)
            )
        }
        let udpSockets = sockets
        let channel = udpSockets[0]
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
        logger.info(
            "SIP listening",
            metadata: [
                "udp": "\(configuration.bindHost):\(configuration.port)", "tcp": "\(configuration.bindHost):\(configuration.port)",
                "threads": "\(cores.count)",
            ])
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            for socket in udpSockets { socket.close(promise: nil) }
            tcp.close(promise: nil)
            secure?.close(promise: nil)
        }
    }

    /// Ends the call on whichever core has it.
    public func hangup(callId: String) async -> Bool {
        for core in cores {
            guard let loop = core.eventLoop else { continue }
            let found = (try? await loop.submit { () -> Bool in
                guard core.bridges.calls[callId] != nil else { return false }
                core.hangup(callId: callId, by: .api, cause: "hung up through the API")
                return true
            }.get()) ?? false
            if found { return true }
        }
        return false
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
