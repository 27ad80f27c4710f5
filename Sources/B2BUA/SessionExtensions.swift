import Foundation
import NIOCore
import SIP

/// A message body with its type: a session description as it crossed the bridge.
struct SessionBody {
    var body: ByteBuffer
    var contentType: String?

    init(body: ByteBuffer, contentType: String?) {
        self.body = body
        self.contentType = contentType
    }

    /// The body of `message`; nil when it has none.
    init?(of message: SIPMessage) {
        guard message.body.readableBytes > 0 else { return nil }
        self.init(body: message.body, contentType: message.headers[.contentType])
    }
}

/// A leg's session timer (RFC 4028) and the task that acts on it.
struct ArmedSessionTimer {
    var timer: SIPSessionTimer
    var task: CoreTimer?
}

/// What to do with an in-dialog INVITE or UPDATE after looking at its session timer.
enum SessionRefreshHandling {
    /// Answered here (a pure refresh, or a refusal).
    case answered
    /// Relay it; grant this interval in the 2xx that comes back.
    case relay(sessionInterval: Int?)
}

/// Reliable provisional responses (RFC 3262) from the callee, and session timers (RFC 4028) on
/// both legs.
extension SignallingCore {
    static let supportedExtensions = ["timer"]

    /// The answer to a caller's INVITE that the gateway refuses for its extensions: 420 for a
    /// required extension it does not support (it never sends reliable provisional responses,
    /// so `Require: 100rel` is one), 422 for a session interval below Min-SE, 400 for a
    /// malformed Session-Expires.
    func sessionExtensionRefusal(_ invite: SIPMessage) -> SIPMessage? {
        // Most INVITEs require nothing: no tag is made and no list parsed for them.
        if invite.headers.contains(.require),
            let refusal = try? invite.badExtensionResponse(supported: Self.supportedExtensions, toTag: CallBridges.makeTag())
        {
            var refusal = refusal
            refusal.headers.add(.server, configuration.product)
            return refusal
        }
        return sessionTimerRefusal(invite, toTag: CallBridges.makeTag())
    }

    /// 422 (with Min-SE) or 400 for a request whose Session-Expires cannot be granted.
    func sessionTimerRefusal(_ request: SIPMessage, toTag: @autoclosure () -> String?) -> SIPMessage? {
        switch SIPSessionTimer.check(request: request) {
        case .tooSmall:
            var response = SIPMessage.response(to: request, statusCode: 422, toTag: toTag())
            response.headers.add(.minSE, String(SIPSessionTimer.minimumInterval))
            response.headers.add(.server, configuration.product)
            return response
        case .malformed:
            return SIPMessage.response(to: request, statusCode: 400, reasonPhrase: "Bad Session-Expires", toTag: toTag())
        case .none, .accept:
            return nil
        }
    }

    // MARK: PRACK

    /// PRACKs a reliable provisional response of the callee in its early dialog: To with the
    /// callee's tag, Request-URI from its Contact, through a non-INVITE client transaction.
    func sendPRACK(for response: SIPMessage, rack: String, callId: String) {
        guard let bridge = bridges.calls[callId] else { return }
        if let to = response.headers[.to] { bridge.callee.remoteAddress = to }
        if let contact = (try? response.contacts)?.addresses.first { bridge.callee.remoteTarget = contact.uri }
        bridges.calls[callId] = bridge
        sendInDialog(.prack, on: .callee, of: callId, extraHeaders: [(.rack, rack)])
    }

    // MARK: Session timers

    /// At the answer: the callee's 2xx decides the callee leg's timer, the caller's INVITE the
    /// caller leg's.
    func startSessionTimers(callId: String, calleeAnswer: SIPMessage) {
        guard let bridge = bridges.calls[callId] else { return }
        bridge.calleeAllowsUpdate = calleeAnswer.headers.listContainsToken(.allow, "UPDATE")
        bridges.calls[callId] = bridge
        if let timer = SIPSessionTimer.forAnswer(calleeAnswer) {
            arm(timer, on: .callee, callId: callId)
        }
        if let interval = bridge.callerSessionInterval {
            arm(SIPSessionTimer(interval: interval, role: .watcher), on: .caller, callId: callId)
        }
    }

    func arm(_ timer: SIPSessionTimer, on side: LegSide, callId: String, after delay: Duration? = nil) {
        guard let bridge = bridges.calls[callId] else { return }
        let task = after(delay ?? timer.delay) { [self] in sessionTimerFired(on: side, callId: callId) }
        let armed = ArmedSessionTimer(timer: timer, task: task)
        if side == .caller {
            bridge.callerSession?.task?.cancel()
            bridge.callerSession = armed
        } else {
            bridge.calleeSession?.task?.cancel()
            bridge.calleeSession = armed
        }
        bridges.calls[callId] = bridge
    }

    private func sessionTimerFired(on side: LegSide, callId: String) {
        guard let bridge = bridges.calls[callId], let armed = side == .caller ? bridge.callerSession : bridge.calleeSession else { return }
        switch armed.timer.role {
        case .watcher:
            logger.info("session timer expired", metadata: ["call": "\(callId)", "leg": "\(side)"])
            hangup(callId: callId, by: .system, cause: "session timer expired")
        case .refresher:
            sendRefresh(callId: callId)
        }
    }

    /// Refreshes the callee leg: UPDATE without a body when the callee allows it, otherwise a
    /// re-INVITE offering the session description it last got.
    private func sendRefresh(callId: String) {
        guard let bridge = bridges.calls[callId], let armed = bridge.calleeSession else { return }
        let headers: [(SIPHeaderName, String)] = [
            (.sessionExpires, SIPSessionExpires(interval: armed.timer.interval, refresher: .uac).description),
            (.supported, "timer"),
        ]
        let key: SIPTransactionKey?
        if bridge.calleeAllowsUpdate {
            key = sendInDialog(.update, on: .callee, of: callId, extraHeaders: headers)
        } else {
            let sdp = bridge.calleeSDP
            key = sendInDialog(.invite, on: .callee, of: callId, body: sdp?.body ?? ByteBuffer(), contentType: sdp?.contentType, extraHeaders: headers)
        }
        if let key { bridges.refreshes[key] = callId }
    }

    /// The callee answered one of our refreshes.
    func refreshAnswered(_ response: SIPMessage, clientKey: SIPTransactionKey, callId: String) {
        guard let status = response.statusCode, status >= 200, let bridge = bridges.calls[callId], let armed = bridge.calleeSession else {
            if (response.statusCode ?? 0) >= 200 { bridges.refreshes[clientKey] = nil }
            return
        }
        let method = (try? response.cseq)?.method
        if method != .invite { bridges.refreshes[clientKey] = nil }
        switch status {
        case 200...299:
            if method == .invite {
                // ACK every 2xx of the refresh re-INVITE (retransmissions too); the entry goes with the call.
                var leg = bridge.callee
                if let contact = (try? response.contacts)?.addresses.first { leg.remoteTarget = contact.uri }
                sendAck(for: response, on: leg)
            }
            arm(SIPSessionTimer.forAnswer(response) ?? armed.timer, on: .callee, callId: callId)
        case 408, 481:
            hangup(callId: callId, by: .system, cause: "session refresh failed")
        case 422:
            let minimum = response.headers[.minSE].flatMap { Int($0.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) ?? "") }
            var timer = armed.timer
            timer.interval = max(timer.interval, minimum ?? SIPSessionTimer.minimumInterval)
            arm(timer, on: .callee, callId: callId, after: .zero)
        case 405 where method == .update, 501 where method == .update:
            bridges.calls[callId]?.calleeAllowsUpdate = false
            arm(armed.timer, on: .callee, callId: callId, after: .zero)
        case 491:
            // Glare with a relayed re-INVITE: try again shortly (RFC 3261 §14.1).
            arm(armed.timer, on: .callee, callId: callId, after: .seconds(1))
        default:
            arm(armed.timer, on: .callee, callId: callId)
        }
    }

    /// A re-INVITE or UPDATE inside a dialog: refused if its interval is too small, answered
    /// here if it is an UPDATE without a body (a pure refresh), otherwise relayed. A request
    /// from a leg whose refreshes we watch restarts the watch.
    func sessionRefresh(_ request: SIPMessage, serverKey: SIPTransactionKey, side: LegSide, callId: String) -> SessionRefreshHandling {
        guard let bridge = bridges.calls[callId] else { return .relay(sessionInterval: nil) }
        if let refusal = sessionTimerRefusal(request, toTag: nil) {
            respond(to: serverKey, with: refusal)
            return .answered
        }
        let watched = side == .caller ? bridge.callerSession : bridge.calleeSession
        var grant: Int?
        if case .accept(let interval) = SIPSessionTimer.check(request: request) {
            grant = interval
        } else if let watched, watched.timer.role == .watcher {
            grant = watched.timer.interval
        }
        guard request.method == .update, request.body.readableBytes == 0 else { return .relay(sessionInterval: grant) }
        var response = SIPMessage.response(to: request, statusCode: 200)
        response.headers.add(.contact, "<\(Self.localURI(user: "b2bua", host: configuration.advertisedHost, port: configuration.port))>")
        response.headers.add(.server, configuration.product)
        if let grant {
            response.headers.add(.require, "timer")
            response.headers.add(.sessionExpires, SIPSessionExpires(interval: grant, refresher: .uac).description)
            arm(SIPSessionTimer(interval: grant, role: .watcher), on: side, callId: callId)
        }
        respond(to: serverKey, with: response)
        return .answered
    }

    /// The 2xx to a relayed re-INVITE or UPDATE, on its way back to the leg that sent it.
    func sessionRefreshAnswered(_ response: inout SIPMessage, relay: RelayedRequest) {
        let requester = relay.towards.other
        if requester == .callee, let sdp = SessionBody(of: response) { bridges.calls[relay.callId]?.calleeSDP = sdp }
        guard let interval = relay.sessionInterval else { return }
        response.headers.add(.require, "timer")
        response.headers.add(.sessionExpires, SIPSessionExpires(interval: interval, refresher: .uac).description)
        arm(SIPSessionTimer(interval: interval, role: .watcher), on: requester, callId: relay.callId)
    }
}
