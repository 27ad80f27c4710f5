import Control
import Foundation
import Logging
import MediaPlane
import NIOCore
import SIP

/// One SIP transaction of the core, with the address its messages go to.
enum Transaction {
    case inviteServer(SIPInviteServerTransaction, peer: SIPPeer)
    case nonInviteServer(SIPNonInviteServerTransaction, peer: SIPPeer)
    case inviteClient(SIPInviteClientTransaction, peer: SIPPeer)
    case nonInviteClient(SIPNonInviteClientTransaction, peer: SIPPeer)

    var peer: SIPPeer {
        switch self {
        case .inviteServer(_, let peer), .nonInviteServer(_, let peer), .inviteClient(_, let peer), .nonInviteClient(_, let peer): peer
        }
    }

    var request: SIPMessage {
        switch self {
        case .inviteServer(let t, _): t.request
        case .nonInviteServer(let t, _): t.request
        case .inviteClient(let t, _): t.request
        case .nonInviteClient(let t, _): t.request
        }
    }

    mutating func timerFired(_ timer: SIPTransactionTimer) -> SIPTransactionActions {
        switch consume self {
        case .inviteServer(var t, let peer):
            let actions = t.timerFired(timer)
            self = .inviteServer(t, peer: peer)
            return actions
        case .nonInviteServer(var t, let peer):
            let actions = t.timerFired(timer)
            self = .nonInviteServer(t, peer: peer)
            return actions
        case .inviteClient(var t, let peer):
            let actions = t.timerFired(timer)
            self = .inviteClient(t, peer: peer)
            return actions
        case .nonInviteClient(var t, let peer):
            let actions = t.timerFired(timer)
            self = .nonInviteClient(t, peer: peer)
            return actions
        }
    }

    mutating func sendResponse(_ response: SIPMessage) -> SIPTransactionActions {
        switch consume self {
        case .inviteServer(var t, let peer):
            let actions = t.sendResponse(response)
            self = .inviteServer(t, peer: peer)
            return actions
        case .nonInviteServer(var t, let peer):
            let actions = t.sendResponse(response)
            self = .nonInviteServer(t, peer: peer)
            return actions
        case let other:
            self = other
            return .none
        }
    }

    mutating func receiveResponse(_ response: SIPMessage) -> SIPTransactionActions {
        switch consume self {
        case .inviteClient(var t, let peer):
            let actions = t.receiveResponse(response)
            self = .inviteClient(t, peer: peer)
            return actions
        case .nonInviteClient(var t, let peer):
            let actions = t.receiveResponse(response)
            self = .nonInviteClient(t, peer: peer)
            return actions
        case let other:
            self = other
            return .none
        }
    }

    mutating func receiveRetransmission() -> SIPTransactionActions {
        switch consume self {
        case .inviteServer(var t, let peer):
            let actions = t.receiveRetransmission()
            self = .inviteServer(t, peer: peer)
            return actions
        case .nonInviteServer(var t, let peer):
            let actions = t.receiveRetransmission()
            self = .nonInviteServer(t, peer: peer)
            return actions
        case let other:
            self = other
            return .none
        }
    }

    mutating func receiveACK(_ ack: SIPMessage) -> SIPTransactionActions {
        switch consume self {
        case .inviteServer(var t, let peer):
            let actions = t.receiveACK(ack)
            self = .inviteServer(t, peer: peer)
            return actions
        case let other:
            self = other
            return .none
        }
    }
}

/// One entry of the core's transaction table: the machine and the timers it armed. A reference,
/// so that the table's buckets hold a key and a pointer (a table that grew at a peak and keeps
/// its capacity holds 16 bytes a bucket, not the machine's few hundred), the machine is driven
/// where it lives, and its timers are found without a second table.
final class TransactionEntry {
    var machine: Transaction
    var timers = TransactionTimers()

    init(_ machine: Transaction) {
        self.machine = machine
    }
}

/// Where a SIP message comes from or goes to: a UDP address, or a browser's WebSocket.
enum SIPPeer: Hashable {
    case udp(SocketAddress)
    /// An accepted TCP connection (its number, and the address it comes from).
    case stream(Int, remote: SocketAddress?)
    case browser(Int)

    var ipAddress: String? {
        switch self {
        case .udp(let address): address.ipAddress
        case .stream(_, let remote): remote?.ipAddress
        case .browser: nil
        }
    }

    var reliability: SIPTransportReliability {
        if case .udp = self { return .unreliable }
        return .reliable
    }
}

/// What the gateway does with a request from a source that no trunk admits.
public enum UnknownSourcePolicy: String, Sendable, CaseIterable {
    /// 403 Forbidden, within a per-address budget (then silence).
    case reject
    /// No answer at all.
    case drop
}

/// Which side of the table a transaction key belongs to.
enum TransactionSide: Hashable {
    case server, client
}

/// One transaction of the core's table.
struct TransactionRef: Hashable {
    var side: TransactionSide
    var key: SIPTransactionKey
}

/// A transaction timer on the core's wheel.
struct TimerID {
    var transaction: TransactionRef
    var timer: SIPTransactionTimer
}

/// The latest timer of each kind a transaction armed, by ``SIPTransactionTimer`` raw value. Handles
/// of timers that fired or were cancelled may stay: the wheel's generations make them inert.
struct TransactionTimers {
    var handles = InlineArray<16, CoreTimers.Handle>(repeating: .none)
}

/// The signalling core: the transaction layer and the B2BUA, confined to one event loop. Every
/// method runs on ``eventLoop``; nothing here locks.
final class SignallingCore: @unchecked Sendable {
    struct Configuration: Sendable {
        /// Host written into Via and Contact.
        var advertisedHost: String
        var port: Int
        /// Base of the `Call-Info` link (`http://host:port`).
        var httpBaseURL: String
        var product: String
        var maxCallDuration: Duration
        /// Answers (403) to sources that match no trunk, per address and second; more are dropped
        /// so the gateway cannot be used to reflect traffic.
        var refusalsPerSecond: Int
        var maxStreamConnections: Int
        var unknownSource: UnknownSourcePolicy = .reject
        /// Where names in destinations are looked up (nil: the first nameserver of
        /// /etc/resolv.conf).
        var dnsServer: SocketAddress? = nil
        /// The SIP over TLS port, when the gateway listens for it (Via and Contact of TLS legs).
        var tlsPort: Int? = nil
        /// Which of the cores sharing the SIP port this one is: it owns the dialogs whose
        /// Call-IDs route to it, and makes its outbound legs' Call-IDs route to itself.
        var shard: SIPShard = .single
    }

    let configuration: Configuration
    let trunks: TrunkService
    let callLog: CallLog
    let logger: Logger
    private(set) var eventLoop: (any EventLoop)?
    private var udp: SIPUDPTransport?
    /// Looks up names in destinations (RFC 3263); nil without a nameserver.
    var dnsResolver: DNSResolver?

    var table = SIPTransactionTable<TransactionEntry>(minimumCapacity: 1024)
    /// The core's timers; set with the event loop.
    private(set) var timers: CoreTimers?
    var bridges: CallBridges
    /// Browsers connected over SIP-over-WebSocket, by connection number.
    var browsers: [Int: BrowserEndpoint] = [:]
    var nextBrowserID = 1
    /// Accepted TCP connections.
    var streams: [Int: any Channel] = [:]
    var streamIDs: [ObjectIdentifier: Int] = [:]
    var nextStreamID = 1
    var outboundStreams: [SocketAddress: Int] = [:]
    var pendingStreamMessages: [Int: [SIPMessage]] = [:]
    /// Which stream connections run over TLS, and the TLS connections the gateway opened.
    var tls = SIPTLSState()

    static let allowedMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"
    static let knownMethods: Set<SIPMethod> = [.invite, .ack, .cancel, .bye, .options, .info, .update, .prack, .register, .subscribe, .notify, .publish, .refer, .message]

    /// Refusals of unknown sources, per address: one limiter for all the cores (a source's
    /// requests spread over the cores by Call-ID), so the budget is the process's.
    let refusals: RateLimiter

    /// Anchors the media of browser calls; nil passes SDP through.
    let mediaPlane: MediaPlane?
    /// Asks a widget's routing webhook where its calls go.
    let callRouting: (any CallRouting)?

    static func refusalLimiter(perSecond: Int) -> RateLimiter {
        RateLimiter(perMinute: perSecond * 60, burst: perSecond)
    }

    init(
        configuration: Configuration, trunks: TrunkService, callLog: CallLog, mediaPlane: MediaPlane? = nil,
        callRouting: (any CallRouting)? = nil, trunkCalls: TrunkCallCounts = TrunkCallCounts(), refusals: RateLimiter? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.bridges = CallBridges(activeByTrunk: trunkCalls)
        self.mediaPlane = mediaPlane
        self.callRouting = callRouting
        self.refusals = refusals ?? Self.refusalLimiter(perSecond: configuration.refusalsPerSecond)
        self.trunks = trunks
        self.callLog = callLog
        self.logger = logger
    }

    func attach(udp: SIPUDPTransport, eventLoop: any EventLoop) {
        self.udp = udp
        self.eventLoop = eventLoop
        let timers = CoreTimers(eventLoop: eventLoop)
        timers.onTransactionTimer = { [unowned self] id in transactionTimerFired(id) }
        timers.around = { [unowned udp] body in udp.batching(body) }
        self.timers = timers
        let gauges = SignallingGauges(core: configuration.shard.index)
        eventLoop.scheduleRepeatedTask(initialDelay: SignallingGauges.interval, delay: SignallingGauges.interval) { [weak self] _ in
            if let self { gauges.sample(self) }
        }
        if let server = configuration.dnsServer {
            dnsResolver = DNSResolver(server: server, eventLoop: eventLoop, logger: logger)
        }
    }

    // MARK: Input

    func receiveUnparsable(_ error: SIPParseError, from peer: SIPPeer) {
        logger.debug("unparsable SIP message", metadata: ["peer": "\(peer)", "error": "\(error)"])
        if error.isAnswerable, !isSilenced(peer), let response = error.makeResponse() {
            send(response, to: peer)
        }
    }

    func receive(_ message: SIPMessage, from peer: SIPPeer) {
        let route: SIPTransactionRoute
        do {
            route = try table.route(message)
        } catch {
            if message.isRequest, message.method != .ack, error.isAnswerable, !isSilenced(peer), let response = error.makeResponse() {
                send(response, to: peer)
            }
            return
        }
        switch route {
        case .response(let key):
            drive(.client, key) { $0.receiveResponse(message) }
        case .strayResponse:
            strayResponse(message, from: peer)
        case .retransmission(let key):
            drive(.server, key) { $0.receiveRetransmission() }
        case .ack(let key):
            drive(.server, key) { $0.receiveACK(message) }
        case .ackForSuccess:
            acknowledged(message)
        case .newRequest(let key):
            let reliability = peer.reliability
            if message.method == .invite {
                var ist = SIPInviteServerTransaction(request: message, reliability: reliability)
                let actions = ist.receiveRequest()
                let entry = TransactionEntry(.inviteServer(ist, peer: peer))
                table[server: key] = entry
                perform(actions, side: .server, key: key, entry: entry)
            } else {
                var nist = SIPNonInviteServerTransaction(request: message, reliability: reliability)
                let actions = nist.receiveRequest()
                let entry = TransactionEntry(.nonInviteServer(nist, peer: peer))
                table[server: key] = entry
                perform(actions, side: .server, key: key, entry: entry)
            }
        case .cancel(let key, let cancelling):
            var nist = SIPNonInviteServerTransaction(request: message, reliability: peer.reliability)
            _ = nist.receiveRequest()
            table[server: key] = TransactionEntry(.nonInviteServer(nist, peer: peer))
            guard let cancelling else {
                if isSilenced(peer) {
                    table[server: key] = nil
                    return
                }
                respond(to: key, with: SIPMessage.response(to: message, statusCode: 481))
                return
            }
            respond(to: key, with: SIPMessage.response(to: message, statusCode: 200))
            callerCancelled(inviteKey: cancelling)
        }
    }

    // MARK: Transactions

    /// Applies `event` to the transaction and performs what it asks for.
    func drive(_ side: TransactionSide, _ key: SIPTransactionKey, _ event: (inout Transaction) -> SIPTransactionActions) {
        // In place, in the entry: no copy of the machine (its messages) out of the table and
        // back. `event` only touches the transaction, never the table.
        guard let entry = side == .server ? table[server: key] : table[client: key] else { return }
        let actions = event(&entry.machine)
        perform(actions, side: side, key: key, entry: entry)
    }

    func respond(to key: SIPTransactionKey, with response: SIPMessage) {
        drive(.server, key) { $0.sendResponse(response) }
    }

    /// Starts a client transaction for `request` towards `peer`.
    func startClient(_ request: SIPMessage, to peer: SIPPeer) -> SIPTransactionKey? {
        guard let key = try? SIPTransactionKey(clientRequest: request) else { return nil }
        if request.method == .invite {
            guard var ict = try? SIPInviteClientTransaction(request: request, reliability: peer.reliability) else { return nil }
            let actions = ict.sendRequest()
            let entry = TransactionEntry(.inviteClient(ict, peer: peer))
            table[client: key] = entry
            perform(actions, side: .client, key: key, entry: entry)
        } else {
            var nict = SIPNonInviteClientTransaction(request: request, reliability: peer.reliability)
            let actions = nict.sendRequest()
            let entry = TransactionEntry(.nonInviteClient(nict, peer: peer))
            table[client: key] = entry
            perform(actions, side: .client, key: key, entry: entry)
        }
        return key
    }

    func perform(_ actions: SIPTransactionActions, side: TransactionSide, key: SIPTransactionKey, entry: TransactionEntry) {
        let peer = entry.machine.peer
        for action in actions {
            switch action {
            case .send(let message):
                send(message, to: peer)
            case .deliverRequest(let request):
                if side == .server {
                    if request.method == .ack {
                        acknowledged(request)
                    } else {
                        handleRequest(request, serverKey: key, from: peer)
                    }
                }
            case .deliverResponse(let response):
                handleResponse(response, clientKey: key)
            case .startTimer(let timer, let delay):
                guard let timers else { break }
                let index = Int(timer.rawValue)
                // A re-armed timer replaces the earlier one of its kind.
                timers.cancel(entry.timers.handles[index])
                entry.timers.handles[index] = timers.schedule(after: delay, .transaction(TimerID(transaction: TransactionRef(side: side, key: key), timer: timer)))
            case .cancelTimers(let set):
                guard let timers else { break }
                var bits = set.rawValue
                while bits != 0 {
                    let index = bits.trailingZeroBitCount
                    bits &= bits - 1
                    if index < entry.timers.handles.count { timers.cancel(entry.timers.handles[index]) }
                }
            case .terminate(let reason):
                if let timers {
                    for index in entry.timers.handles.indices { timers.cancel(entry.timers.handles[index]) }
                }
                // Only this entry: the TU may have put another under the key meanwhile.
                if side == .server {
                    if table[server: key] === entry { table[server: key] = nil }
                } else if table[client: key] === entry {
                    table[client: key] = nil
                }
                if reason != .normal, side == .client {
                    clientFailed(entry.machine.request, clientKey: key, reason: reason)
                }
            }
        }
    }

    private func transactionTimerFired(_ id: TimerID) {
        drive(id.transaction.side, id.transaction.key) { $0.timerFired(id.timer) }
    }

    func send(_ message: SIPMessage, to peer: SIPPeer) {
        switch peer {
        case .udp(let address):
            udp?.send(message, to: address)
        case .stream(let id, _):
            sendOnStream(message, id: id)
        case .browser(let id):
            guard let browser = browsers[id] else { return }
            var buffer = ByteBuffer()
            message.serialize(into: &buffer)
            browser.send(Array(buffer: buffer))
        }
    }

    /// Runs `body` after `delay` on the core's loop.
    @discardableResult
    func after(_ delay: Duration, _ body: @escaping () -> Void) -> CoreTimer? {
        guard let timers else { return nil }
        return CoreTimer(timers: timers, handle: timers.schedule(after: delay, .run(body)))
    }

    // MARK: Requests (the TU)

    func handleRequest(_ request: SIPMessage, serverKey: SIPTransactionKey, from peer: SIPPeer) {
        guard let method = request.method else { return }
        let toTag = (try? request.to)?.tag
        if toTag != nil {
            inDialogRequest(request, serverKey: serverKey, from: peer)
            return
        }
        guard Self.knownMethods.contains(method) else {
            respond(to: serverKey, with: withAllow(SIPMessage.response(to: request, statusCode: 501)))
            return
        }
        if case .browser(let id) = peer {
            browserRequest(request, serverKey: serverKey, browser: id)
            return
        }
        guard trunks.inboundTrunk(forSource: peer.ipAddress ?? "") != nil else {
            let address = peer.ipAddress ?? "unknown"
            guard configuration.unknownSource == .reject, refusals.take(address, now: Date()) == nil else {
                // Over the refusal budget: drop silently, and forget the transaction.
                table[server: serverKey] = nil
                return
            }
            logger.info("request from an unknown source refused", metadata: ["peer": "\(peer)", "method": "\(method.rawValue)"])
            respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 403))
            return
        }
        switch method {
        case .invite:
            newCall(request, serverKey: serverKey, from: peer)
        case .options:
            var response = withAllow(SIPMessage.response(to: request, statusCode: 200, toTag: CallBridges.makeTag()))
            response.headers.add(.accept, "application/sdp")
            response.headers.add(.supported, "")
            respond(to: serverKey, with: response)
        case .bye, .info, .update, .prack:
            respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 481))
        default:
            respond(to: serverKey, with: withAllow(SIPMessage.response(to: request, statusCode: 405)))
        }
    }

    /// Whether requests from `peer` go unanswered: in drop mode, a SIP/UDP or TCP source that no
    /// trunk admits (browsers are authorised by their widget session instead).
    func isSilenced(_ peer: SIPPeer) -> Bool {
        guard configuration.unknownSource == .drop else { return false }
        if case .browser = peer { return false }
        return trunks.inboundTrunk(forSource: peer.ipAddress ?? "") == nil
    }

    /// A Via for a request we send to `peer`.
    func via(to peer: SIPPeer) -> String {
        let transport: String
        switch peer {
        case .udp: transport = "UDP"
        case .stream: transport = isSecure(peer) ? "TLS" : "TCP"
        case .browser: transport = "WS"
        }
        let port = isSecure(peer) ? configuration.tlsPort ?? configuration.port : configuration.port
        return SIPVia(transport: transport, host: configuration.advertisedHost, port: port, branch: SIPVia.makeBranch(), parameters: [("rport", nil)]).description
    }

    func withAllow(_ response: SIPMessage) -> SIPMessage {
        var response = response
        response.headers.add(.allow, Self.allowedMethods)
        response.headers.add(.server, configuration.product)
        return response
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
