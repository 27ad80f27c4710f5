public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import SIP

/// The call centre of `switchboard serve --demo`: a SIP user agent on 127.0.0.1:5080 that rings
/// briefly, answers, plays a spoken greeting and then echoes the caller's audio back (G.711
/// over RTP). It keeps the caller context of the last calls (the `X-Switchboard-*` headers of
/// each INVITE), which the demo shop's "CRM" view shows.
public final class DemoCallCentre: Service, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// How long it rings before answering.
        public var ringing: Duration

        public init(host: String = "127.0.0.1", port: Int = 5080, ringing: Duration = .milliseconds(800)) {
            self.host = host
            self.port = port
            self.ringing = ringing
        }
    }

    /// One call as the agent sees it.
    public struct AgentView: Sendable, Hashable {
        public var callID: String
        public var switchboardCallId: String?
        public var from: String
        public var receivedAt: Double
        /// The `X-Switchboard-*` headers, name (without the prefix) and value, in arrival order.
        public var context: [String: String]
        public var state: String
        /// DTMF digits the caller sent (RFC 4733), in order.
        public var digits: String = ""
    }

    let configuration: Configuration
    let logger: Logger
    private var user: DemoUserAgent?

    public init(configuration: Configuration = .init(), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let agent = DemoUserAgent(configuration: configuration, logger: logger)
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in channel.pipeline.addHandler(agent) }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        user = agent
        logger.info("demo call centre listening", metadata: ["sip": "\(configuration.host):\(configuration.port)"])
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }

    /// The most recent calls, newest first.
    public func recentCalls() async -> [AgentView] {
        guard let user, let loop = user.eventLoop else { return [] }
        return (try? await loop.submit { user.views.reversed() }.get()) ?? []
    }
}

/// The SIP side of the demo call centre, confined to its socket's event loop.
final class DemoUserAgent: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    struct Dialog {
        var invite: SIPMessage
        var source: SocketAddress
        var localTag: String
        var answer: SIPMessage?
        var answerTimer: Scheduled<Void>?
        var answerInterval: Int64 = 500
        var ringTimer: Scheduled<Void>?
        var media: DemoMediaLeg?
        var confirmed = false
    }

    let configuration: DemoCallCentre.Configuration
    let logger: Logger
    private var channel: (any Channel)?
    private(set) var eventLoop: (any EventLoop)?
    private var dialogs: [String: Dialog] = [:]
    private(set) var views: [DemoCallCentre.AgentView] = []

    init(configuration: DemoCallCentre.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        eventLoop = context.eventLoop
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.data.readableBytes > 4, let message = try? SIPMessage.parse(datagram: envelope.data) else { return }
        guard message.isRequest, let method = message.method, let callID = message.callID else { return }
        switch method {
        case .invite: invite(message, from: envelope.remoteAddress, callID: callID)
        case .ack: acknowledged(callID: callID)
        case .bye: bye(message, from: envelope.remoteAddress, callID: callID)
        case .cancel: cancel(message, from: envelope.remoteAddress, callID: callID)
        case .options, .info, .update, .prack:
            send(SIPMessage.response(to: message, statusCode: 200, toTag: dialogs[callID]?.localTag ?? Self.makeTag()), to: envelope.remoteAddress)
        default:
            var response = SIPMessage.response(to: message, statusCode: 501, toTag: Self.makeTag())
            response.headers.add(.allow, "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE")
            send(response, to: envelope.remoteAddress)
        }
    }

    private func invite(_ request: SIPMessage, from source: SocketAddress, callID: String) {
        if let dialog = dialogs[callID] {
            let isReinvite = (try? request.to)?.tag == dialog.localTag
            if !isReinvite {
                // A retransmission of the initial INVITE: repeat where we are.
                send(dialog.answer ?? SIPMessage.response(to: request, statusCode: 180, toTag: dialog.localTag), to: source)
                return
            }
            // A re-INVITE (hold, resume, refresh): keep the media, answer with the same description.
            dialog.media?.update(offer: request.body)
            var response = SIPMessage.response(to: request, statusCode: 200, toTag: dialog.localTag)
            addAnswerHeaders(&response, media: dialog.media)
            send(response, to: source)
            return
        }
        let tag = Self.makeTag()
        send(SIPMessage.response(to: request, statusCode: 100), to: source)
        guard let loop = eventLoop else { return }
        // Held until the RTP socket is bound; an INVITE retransmitted meanwhile finds it here.
        dialogs[callID] = Dialog(invite: request, source: source, localTag: tag)
        DemoMediaLeg.open(offer: request.body, host: configuration.host, loop: loop, logger: logger).whenComplete { [self] result in
            guard var dialog = dialogs[callID], dialog.media == nil else {
                // Cancelled while the socket was being bound.
                if case .success(let media) = result { media.close() }
                return
            }
            guard case .success(let media) = result else {
                dialogs[callID] = nil
                send(SIPMessage.response(to: request, statusCode: 488, toTag: tag), to: source)
                return
            }
            send(SIPMessage.response(to: request, statusCode: 180, toTag: tag), to: source)
            var view = DemoCallCentre.AgentView(
                callID: callID, switchboardCallId: request.headers["X-Switchboard-Call-Id"],
                from: request.headers[.from] ?? "", receivedAt: Double(NIODeadline.now().uptimeNanoseconds) / 1e9, context: [:], state: "ringing"
            )
            for field in request.headers where field.name.description.lowercased().hasPrefix("x-switchboard-") {
                view.context[String(field.name.description.dropFirst("X-Switchboard-".count))] = field.value
            }
            views.append(view)
            if views.count > 50 { views.removeFirst(views.count - 50) }
            media.onDigit = { [weak self] digit in
                guard let self, let index = views.lastIndex(where: { $0.callID == callID }), views[index].digits.count < 64 else { return }
                views[index].digits.append(digit)
            }
            dialog.media = media
            dialog.ringTimer = loop.scheduleTask(in: .nanoseconds(configuration.ringing.nanoseconds)) { [self] in answer(callID: callID) }
            dialogs[callID] = dialog
        }
    }

    private func answer(callID: String) {
        guard var dialog = dialogs[callID], let media = dialog.media else { return }
        var response = SIPMessage.response(to: dialog.invite, statusCode: 200, toTag: dialog.localTag)
        addAnswerHeaders(&response, media: media)
        dialog.answer = response
        dialogs[callID] = dialog
        send(response, to: dialog.source)
        media.start()
        setState("in call", callID: callID)
        retransmitAnswer(callID: callID)
    }

    private func addAnswerHeaders(_ response: inout SIPMessage, media: DemoMediaLeg?) {
        response.headers.add(.contact, "<sip:agent@\(configuration.host):\(configuration.port)>")
        response.headers.add(.allow, "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE")
        if let media {
            response.headers.add(.contentType, "application/sdp")
            response.body = ByteBuffer(string: media.answer)
        }
    }

    /// RFC 3261 §13.3.1.4: the 2xx is repeated (T1 doubling to T2) until the ACK arrives.
    private func retransmitAnswer(callID: String) {
        guard let loop = eventLoop, var dialog = dialogs[callID], !dialog.confirmed else { return }
        let interval = dialog.answerInterval
        dialog.answerInterval = min(interval * 2, 4000)
        dialog.answerTimer = loop.scheduleTask(in: .milliseconds(interval)) { [self] in
            guard let current = dialogs[callID], !current.confirmed, let answer = current.answer else { return }
            if current.answerInterval > 4000 * 8 { return }
            send(answer, to: current.source)
            retransmitAnswer(callID: callID)
        }
        dialogs[callID] = dialog
    }

    private func acknowledged(callID: String) {
        guard var dialog = dialogs[callID] else { return }
        dialog.confirmed = true
        dialog.answerTimer?.cancel()
        dialogs[callID] = dialog
    }

    private func bye(_ request: SIPMessage, from source: SocketAddress, callID: String) {
        guard let dialog = dialogs.removeValue(forKey: callID) else {
            send(SIPMessage.response(to: request, statusCode: 481), to: source)
            return
        }
        end(dialog)
        setState("ended", callID: callID)
        send(SIPMessage.response(to: request, statusCode: 200, toTag: dialog.localTag), to: source)
    }

    private func cancel(_ request: SIPMessage, from source: SocketAddress, callID: String) {
        guard let dialog = dialogs[callID], dialog.answer == nil else {
            send(SIPMessage.response(to: request, statusCode: 481), to: source)
            return
        }
        dialogs[callID] = nil
        end(dialog)
        setState("cancelled", callID: callID)
        send(SIPMessage.response(to: request, statusCode: 200, toTag: dialog.localTag), to: source)
        send(SIPMessage.response(to: dialog.invite, statusCode: 487, toTag: dialog.localTag), to: dialog.source)
    }

    private func end(_ dialog: Dialog) {
        dialog.ringTimer?.cancel()
        dialog.answerTimer?.cancel()
        dialog.media?.close()
    }

    private func setState(_ state: String, callID: String) {
        if let index = views.lastIndex(where: { $0.callID == callID }) { views[index].state = state }
    }

    private func send(_ message: SIPMessage, to address: SocketAddress) {
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: 1024)
        message.serialize(into: &buffer)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
    }

    static func makeTag() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 36)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
