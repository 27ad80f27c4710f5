import Control
import Foundation
import MediaPlane
import NIOCore
import SIP

/// One dialog side of a bridged call, as this gateway sees it.
struct DialogLeg {
    var callID: String
    /// Our tag on this leg (To tag towards the caller, From tag towards the callee).
    var localTag: String
    var remoteTag: String?
    /// The address-of-record header values as this leg uses them (ours first).
    var localAddress: String
    var remoteAddress: String
    /// Where in-dialog requests go (the remote Contact), and the socket address they are sent to.
    var remoteTarget: SIPAnyURI
    var peer: SIPPeer
    var nextCSeq: UInt32
}

enum LegSide: Hashable {
    case caller, callee

    var other: LegSide { self == .caller ? .callee : .caller }
    var party: HangupParty { self == .caller ? .caller : .callee }
}

/// The state of one call through the B2BUA.
///
/// A class: the core updates a call on nearly every message, and as a struct every update copied
/// the whole of it (the call record, both legs, both INVITEs) out of the table and back.
/// Confined to the signalling core's event loop.
final class CallBridge {
    var record: Call
    var caller: DialogLeg
    var callee: DialogLeg
    /// The caller's INVITE server transaction, until it has a final response.
    var callerInvite: SIPTransactionKey?
    var callerInviteRequest: SIPMessage
    /// The INVITE we sent to the callee (latest, after an authentication retry).
    var calleeInvite: SIPTransactionKey?
    var calleeInviteRequest: SIPMessage
    var trunkId: String?
    var triedAuthentication = false
    var cancelWhenProvisional = false
    /// The 2xx sent to the caller, retransmitted until the caller's ACK arrives.
    var answer: SIPMessage?
    var answerRetransmit: CoreTimer?
    /// Ends the call when it reaches the maximum duration.
    var durationLimit: CoreTimer?
    var answerInterval: Duration = .milliseconds(500)
    /// RFC 3262 on the callee leg: which reliable provisional responses were PRACKed.
    var provisionals = SIPReliableProvisionalTracker()
    /// The SDP of a reliable provisional response: the answer, when the 2xx repeats none.
    var earlyAnswer: SessionBody?
    /// The session description last sent to the callee (offered again by a re-INVITE refresh).
    var calleeSDP: SessionBody?
    var calleeAllowsUpdate = false
    /// The session interval the caller's INVITE asked for (RFC 4028), granted in our 2xx.
    var callerSessionInterval: Int?
    var callerSession: ArmedSessionTimer?
    var calleeSession: ArmedSessionTimer?
    /// The media anchored at the gateway (browser calls with a WebRTC offer).
    var media: BrowserCallMedia?
    /// The gateway's re-INVITE telling the browser of hold or resume, until its final response.
    var browserReoffer: PendingBrowserReoffer?
    /// A re-INVITE to the browser waiting to be tried again after a 491 (RFC 3261 §14.1).
    var browserReofferRetry: CoreTimer?
    var browserReofferGlares = 0


    init(
        record: Call, caller: DialogLeg, callee: DialogLeg, callerInvite: SIPTransactionKey?, callerInviteRequest: SIPMessage,
        calleeInvite: SIPTransactionKey?, calleeInviteRequest: SIPMessage, trunkId: String?
    ) {
        self.record = record
        self.caller = caller
        self.callee = callee
        self.callerInvite = callerInvite
        self.callerInviteRequest = callerInviteRequest
        self.calleeInvite = calleeInvite
        self.calleeInviteRequest = calleeInviteRequest
        self.trunkId = trunkId
    }

    func leg(_ side: LegSide) -> DialogLeg { side == .caller ? caller : callee }
}

/// A request relayed across the bridge that waits for the other side's answer.
struct RelayedRequest {
    var callId: String
    var serverKey: SIPTransactionKey
    var towards: LegSide
    /// The interval of a session refresh (RFC 4028) carried by the relayed request, granted in
    /// the 2xx that goes back.
    var sessionInterval: Int? = nil
    /// A re-offer of the gateway's own for a browser's video change: the browser is answered
    /// from the call centre's answer, not with it.
    var videoReoffer = false
}

/// Calls by id, and the indexes that find them from messages.
struct CallBridges {
    var calls: [String: CallBridge] = [:]
    /// (Call-ID, our tag) → call id and side.
    var dialogs: [DialogKey: (callId: String, side: LegSide)] = [:]
    var byCallerInvite: [SIPTransactionKey: String] = [:]
    var byCalleeInvite: [SIPTransactionKey: String] = [:]
    var relays: [SIPTransactionKey: RelayedRequest] = [:]
    /// Session refreshes we sent (UPDATE or re-INVITE), by client transaction: call id.
    var refreshes: [SIPTransactionKey: String] = [:]
    /// Re-INVITEs we sent a browser for hold or resume, by client transaction: call id.
    var browserReoffers: [SIPTransactionKey: String] = [:]
    /// Callers' INVITEs whose destination's name is being resolved.
    var resolving: Set<SIPTransactionKey> = []
    /// Live calls per trunk, shared by every signalling core (a trunk's `maxConcurrentCalls`
    /// counts all of them).
    let activeByTrunk: TrunkCallCounts

    struct DialogKey: Hashable {
        var callID: String
        var localTag: String
    }

    static func makeTag() -> String {
        var generator = SIPRandom()
        return String(generator.next() as UInt64, radix: 36) + String(generator.next() as UInt32, radix: 36)
    }

    mutating func insert(_ bridge: CallBridge) {
        calls[bridge.record.id] = bridge
        dialogs[DialogKey(callID: bridge.caller.callID, localTag: bridge.caller.localTag)] = (bridge.record.id, .caller)
        dialogs[DialogKey(callID: bridge.callee.callID, localTag: bridge.callee.localTag)] = (bridge.record.id, .callee)
        if let key = bridge.callerInvite { byCallerInvite[key] = bridge.record.id }
        if let key = bridge.calleeInvite { byCalleeInvite[key] = bridge.record.id }
    }

    /// The caller's INVITE got its final response: a CANCEL can no longer end the call, and the
    /// INVITE's key leaves the index (kept, it would outlive the call).
    mutating func finishCallerInvite(of bridge: CallBridge) {
        if let key = bridge.callerInvite { byCallerInvite[key] = nil }
        bridge.callerInvite = nil
    }

    mutating func remove(_ id: String) {
        guard let bridge = calls.removeValue(forKey: id) else { return }
        bridge.media?.close()
        bridge.answerRetransmit?.cancel()
        bridge.durationLimit?.cancel()
        bridge.callerSession?.task?.cancel()
        bridge.calleeSession?.task?.cancel()
        bridge.browserReofferRetry?.cancel()
        if !refreshes.isEmpty { refreshes = refreshes.filter { $0.value != id } }
        if !browserReoffers.isEmpty { browserReoffers = browserReoffers.filter { $0.value != id } }
        dialogs[DialogKey(callID: bridge.caller.callID, localTag: bridge.caller.localTag)] = nil
        dialogs[DialogKey(callID: bridge.callee.callID, localTag: bridge.callee.localTag)] = nil
        if let key = bridge.callerInvite { byCallerInvite[key] = nil }
        if let key = bridge.calleeInvite { byCalleeInvite[key] = nil }
        if let trunk = bridge.trunkId { activeByTrunk.release(trunk) }
    }
}

extension SignallingCore {
    // MARK: New calls

    func newCall(_ invite: SIPMessage, serverKey: SIPTransactionKey, from peer: SIPPeer) {
        guard let source = trunks.inboundTrunk(forSource: peer.ipAddress ?? ""), let inbound = source.inbound else {
            respond(to: serverKey, with: SIPMessage.response(to: invite, statusCode: 403))
            return
        }
        bridgeCall(invite, serverKey: serverKey, from: peer, source: CallSource(kind: .trunk, trunkId: source.id), destination: inbound.destination)
    }

    /// Starts the callee leg for a caller's INVITE and pairs the two.
    func bridgeCall(
        _ invite: SIPMessage, serverKey: SIPTransactionKey, from peer: SIPPeer, source: CallSource, destination: String,
        extraHeaders: [(SIPHeaderName, String)] = [], contextJSON: String? = nil, contextVerified: Bool? = nil,
        userAgent: String? = nil, callId presetCallId: String? = nil, resolved: ResolvedTarget? = nil
    ) {
        // A browser that left while its destination was being looked up has no call to make.
        if resolved != nil, case .browser(let id) = peer, browsers[id] == nil { return }
        if resolved == nil {
            if let refusal = sessionExtensionRefusal(invite) {
                respond(to: serverKey, with: refusal)
                return
            }
            // The caller hears "Trying" at once rather than after the transaction's 200 ms.
            respond(to: serverKey, with: SIPMessage.tryingResponse(to: invite))
        }

        guard let target = resolved ?? resolve(destination: destination) else {
            if resolved == nil,
                lookUp(destination: destination, for: invite, serverKey: serverKey, then: { [self] target in
                    bridgeCall(
                        invite, serverKey: serverKey, from: peer, source: source, destination: destination, extraHeaders: extraHeaders,
                        contextJSON: contextJSON, contextVerified: contextVerified, userAgent: userAgent, callId: presetCallId,
                        resolved: target
                    )
                })
            {
                // The INVITE goes out once the name is resolved; the caller has its 100 meanwhile.
                return
            }
            logger.warning("destination cannot be reached", metadata: ["destination": "\(destination)"])
            respond(to: serverKey, with: SIPMessage.response(to: invite, statusCode: 502))
            return
        }
        // The trunk's place is taken here (every core counts against the same limit) and given
        // back when the call is removed, or below if it never starts.
        if let trunk = target.trunk, !bridges.activeByTrunk.reserve(trunk.id, limit: trunk.maxConcurrentCalls) {
            var busy = SIPMessage.response(to: invite, statusCode: 503, toTag: CallBridges.makeTag())
            busy.headers.add(.retryAfter, "5")
            respond(to: serverKey, with: busy)
            return
        }
        guard let from = try? invite.from, let to = try? invite.to, let callerCallID = invite.callID,
            let contact = (try? invite.contacts)?.addresses.first
        else {
            if let trunk = target.trunk { bridges.activeByTrunk.release(trunk.id) }
            respond(to: serverKey, with: SIPMessage.response(to: invite, statusCode: 400))
            return
        }

        let now = Date()
        let callId = presetCallId ?? Identifier.make(Call.idPrefix, millis: UInt64(now.timeIntervalSince1970 * 1000))
        let host = configuration.advertisedHost
        let calleeTag = CallBridges.makeTag()
        let callerTag = CallBridges.makeTag()
        let user = from.sipURI?.user ?? "anonymous"
        var presentedFrom = SIPNameAddress(displayName: from.displayName, uri: .sip(Self.localURI(user: user, host: host, port: configuration.port)))
        presentedFrom.parameters.set("tag", calleeTag)
        let calleeTo = SIPNameAddress(uri: target.uri)

        var headers = SIPHeaders()
        headers.add(.via, via(to: target.peer))
        headers.add(.maxForwards, String(max(0, ((try? invite.maxForwards) ?? 70) - 1)))
        headers.add(.from, presentedFrom.description)
        headers.add(.to, calleeTo.description)
        let calleeCallID = configuration.shard.makeCallID(host: host)
        headers.add(.callID, calleeCallID)
        headers.add(.cseq, SIPCSeq(sequence: 1, method: .invite).description)
        headers.add(.contact, self.contact(towards: target.peer))
        headers.add(.allow, Self.allowedMethods)
        headers.add(.supported, "100rel, timer")
        headers.add("X-Switchboard-Call-Id", callId)
        headers.add(.callInfo, "<\(configuration.httpBaseURL)/v1/calls/\(callId)>;purpose=info")
        headers.add(.userAgent, configuration.product)
        for (name, value) in extraHeaders { headers.add(name, value) }
        var calleeBody = invite.body
        var media: BrowserCallMedia?
        switch calleeOffer(for: invite, from: peer, callId: callId, trunk: target.trunk) {
        case .passThrough:
            if let type = invite.headers[.contentType] { headers.add(.contentType, type) }
        case .anchored(let anchored, let body):
            media = anchored
            calleeBody = body
            headers.add(.contentType, "application/sdp")
        case .refused(let status, let reason):
            if let trunk = target.trunk { bridges.activeByTrunk.release(trunk.id) }
            respond(to: serverKey, with: SIPMessage.response(to: invite, statusCode: status, reasonPhrase: reason, toTag: callerTag))
            return
        }
        let outbound = SIPMessage.request(method: .invite, uri: .sip(target.uri), headers: headers, body: calleeBody)

        let record = Call(
            id: callId, status: .initiated, source: source,
            from: from.uri.description, to: to.uri.description, destination: target.uri.description,
            contextJSON: contextJSON, contextVerified: contextVerified, userAgent: userAgent, createdAt: now
        )
        let callerLeg = DialogLeg(
            callID: callerCallID, localTag: callerTag, remoteTag: from.tag,
            localAddress: Self.tagged(to, tag: callerTag), remoteAddress: invite.headers[.from] ?? from.description,
            remoteTarget: contact.uri, peer: peer, nextCSeq: 1
        )
        let calleeLeg = DialogLeg(
            callID: calleeCallID, localTag: calleeTag, remoteTag: nil,
            localAddress: presentedFrom.description, remoteAddress: calleeTo.description,
            remoteTarget: .sip(target.uri), peer: target.peer, nextCSeq: 2
        )
        let bridge = CallBridge(
            record: record, caller: callerLeg, callee: calleeLeg, callerInvite: serverKey, callerInviteRequest: invite,
            calleeInvite: nil, calleeInviteRequest: outbound, trunkId: target.trunk?.id
        )
        bridge.calleeSDP = SessionBody(of: outbound)
        bridge.media = media
        if case .accept(let interval) = SIPSessionTimer.check(request: invite) { bridge.callerSessionInterval = interval }
        callLog.record(record)
        if media != nil { callLog.expectMediaReport(callId: callId) }
        guard let clientKey = startClient(outbound, to: target.peer) else {
            if let trunk = target.trunk { bridges.activeByTrunk.release(trunk.id) }
            media?.close()
            respond(to: serverKey, with: SIPMessage.response(to: invite, statusCode: 500))
            return
        }
        bridge.calleeInvite = clientKey
        bridges.insert(bridge)
        logger.debug("call bridged", metadata: ["call": "\(callId)", "to": "\(target.uri)"])
    }

    struct ResolvedTarget {
        var uri: SIPURI
        var peer: SIPPeer
        var trunk: Trunk?
    }

    /// A destination (SIP URI or trunk id) as a URI and a socket address. Hosts must be IP
    /// literals or `localhost`.
    func resolve(destination: String) -> ResolvedTarget? {
        var trunk: Trunk?
        var text = destination
        if destination.hasPrefix(Destination.trunkPrefix + "_") {
            guard let found = trunks.trunk(id: destination) else { return nil }
            trunk = found
            text = found.uri
        }
        guard let uri = try? SIPURI(text) else { return nil }
        var host = uri.host
        if host.hasPrefix("[") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" { host = "127.0.0.1" }
        guard let address = try? SocketAddress(ipAddress: host, port: uri.port ?? uri.defaultPort) else { return nil }
        let useTCP = trunk?.transport == .tcp || uri.transport == "tcp"
        // TLS for a TLS trunk, a sips: URI and ;transport=tls (RFC 3261 §26.2, RFC 5630).
        if trunk?.transport == .tls || uri.scheme == .sips || uri.transport == "tls" {
            guard let peer = outboundSecureStream(to: address, uri: uri, trunk: trunk) else { return nil }
            return ResolvedTarget(uri: uri, peer: peer, trunk: trunk)
        }
        return ResolvedTarget(uri: uri, peer: useTCP ? outboundStream(to: address) : .udp(address), trunk: trunk)
    }

    static func localURI(user: String, host: String, port: Int) -> SIPURI {
        // Built from parts we control; the parse cannot fail for a valid host.
        (try? SIPURI("sip:\(user)@\(host):\(port)")) ?? (try! SIPURI("sip:b2bua@127.0.0.1"))
    }

    static func tagged(_ address: SIPNameAddress, tag: String) -> String {
        var address = address
        if address.tag == nil { address.parameters.set("tag", tag) }
        return address.description
    }

    // MARK: Responses from the callee

    func handleResponse(_ response: SIPMessage, clientKey: SIPTransactionKey) {
        if let relay = bridges.relays[clientKey] {
            relayedResponse(response, relay: relay, clientKey: clientKey)
            return
        }
        if let callId = bridges.refreshes[clientKey] {
            refreshAnswered(response, clientKey: clientKey, callId: callId)
            return
        }
        if let callId = bridges.browserReoffers[clientKey] {
            browserReofferAnswered(response, clientKey: clientKey, callId: callId)
            return
        }
        // The 200 to a PRACK of ours ends there; nothing crosses the bridge.
        if (try? response.cseq)?.method == .prack { return }
        guard let callId = bridges.byCalleeInvite[clientKey], var bridge = bridges.calls[callId], let status = response.statusCode else { return }
        switch status {
        case 100:
            return
        case 101...199:
            if bridge.cancelWhenProvisional {
                bridge.cancelWhenProvisional = false
                bridges.calls[callId] = bridge
                cancelCallee(of: callId)
                return
            }
            if let tag = (try? response.to)?.tag { bridge.callee.remoteTag = tag }
            switch bridge.provisionals.receive(response) {
            case .ignore:
                bridges.calls[callId] = bridge
                return
            case .acknowledge(let rack):
                bridges.calls[callId] = bridge
                sendPRACK(for: response, rack: rack, callId: callId)
                guard let updated = bridges.calls[callId] else { return }
                bridge = updated
                if response.body.readableBytes > 0 { bridge.earlyAnswer = SessionBody(of: response) }
            case .unreliable:
                break
            }
            if bridge.record.status == .initiated {
                bridge.record.status = .ringing
                callLog.record(bridge.record)
            }
            bridges.calls[callId] = bridge
            if let key = bridge.callerInvite {
                respond(to: key, with: towardsCaller(response, bridge: bridge))
            }
        case 200...299:
            calleeAnswered(response, callId: callId)
        default:
            calleeFailed(status: status, response: response, callId: callId)
        }
    }

    /// A response copied across the bridge to the caller: the caller's transaction headers,
    /// our tag and Contact, the callee's body.
    func towardsCaller(_ response: SIPMessage, bridge: CallBridge) -> SIPMessage {
        let status = response.statusCode ?? 500
        var relayed = SIPMessage.response(
            to: bridge.callerInviteRequest, statusCode: status, reasonPhrase: response.reasonPhrase, toTag: bridge.caller.localTag
        )
        relayed.headers.add(.contact, contact(towards: bridge.caller.peer))
        relayed.headers.add(.server, configuration.product)
        if status < 300 || status == 488 {
            relayed.headers.add(.allow, Self.allowedMethods)
            if let media = bridge.media, status < 300 {
                // The browser gets the gateway's WebRTC answer; the callee's SDP stays on its leg.
                if let body = try? browserBody(for: response, media: media), body.readableBytes > 0 {
                    relayed.headers.add(.contentType, "application/sdp")
                    relayed.body = body
                }
            } else {
                if let type = response.headers[.contentType] { relayed.headers.add(.contentType, type) }
                relayed.body = response.body
            }
        }
        return relayed
    }

    private func calleeAnswered(_ response: SIPMessage, callId: String) {
        guard let bridge = bridges.calls[callId] else { return }
        let firstAnswer = bridge.record.answeredAt == nil && !bridge.record.status.isFinal
        if let tag = (try? response.to)?.tag { bridge.callee.remoteTag = tag }
        if let contact = (try? response.contacts)?.addresses.first { bridge.callee.remoteTarget = contact.uri }
        if let to = response.headers[.to] { bridge.callee.remoteAddress = to }
        sendAck(forAnswer: response, bridge: bridge)
        guard firstAnswer else {
            bridges.calls[callId] = bridge
            return
        }
        if let media = bridge.media, response.body.readableBytes > 0 {
            do {
                _ = try browserBody(for: response, media: media)
            } catch {
                bridges.calls[callId] = bridge
                refuseUnbridgeableAnswer(callId: callId, reason: error)
                return
            }
        }
        bridge.record.status = .inProgress
        bridge.record.answeredAt = Date()
        bridge.record.sipCode = response.statusCode
        callLog.record(bridge.record)
        var answered = response
        if answered.body.readableBytes == 0, let early = bridge.earlyAnswer {
            // The answer came in a reliable provisional response (RFC 3262 §5); the caller got
            // that one unreliably, so the 2xx carries it again.
            answered.body = early.body
            if let type = early.contentType { answered.headers.replace(.contentType, with: type) }
        }
        var answer = towardsCaller(answered, bridge: bridge)
        if let interval = bridge.callerSessionInterval {
            answer.headers.add(.require, "timer")
            answer.headers.add(.sessionExpires, SIPSessionExpires(interval: interval, refresher: .uac).description)
        }
        bridge.answer = answer
        if let key = bridge.callerInvite {
            respond(to: key, with: answer)
            bridges.finishCallerInvite(of: bridge)
        }
        bridge.durationLimit = after(configuration.maxCallDuration) { [self] in
            hangup(callId: callId, by: .system, cause: "maximum call duration reached")
        }
        bridges.calls[callId] = bridge
        scheduleAnswerRetransmission(callId)
        startSessionTimers(callId: callId, calleeAnswer: response)
    }

    /// The ACK for a callee's 2xx: a new transaction-less request in the dialog (§13.2.2.4).
    private func sendAck(forAnswer response: SIPMessage, bridge: CallBridge) {
        var leg = bridge.callee
        if let to = response.headers[.to] { leg.remoteAddress = to }
        sendAck(for: response, on: leg)
    }

    /// An ACK for a 2xx to an INVITE we sent on `leg`, with the response's CSeq number.
    func sendAck(for response: SIPMessage, on leg: DialogLeg) {
        guard let cseq = try? response.cseq else { return }
        var headers = SIPHeaders()
        headers.add(.via, via(to: leg.peer))
        headers.add(.maxForwards, "70")
        headers.add(.from, leg.localAddress)
        headers.add(.to, leg.remoteAddress)
        headers.add(.callID, leg.callID)
        headers.add(.cseq, SIPCSeq(sequence: cseq.sequence, method: .ack).description)
        send(.request(method: .ack, uri: leg.remoteTarget, headers: headers), to: leg.peer)
    }

    /// RFC 3261 §13.3.1.4: the 2xx goes again at T1, 2·T1 … T2 until the ACK, for 64·T1.
    private func scheduleAnswerRetransmission(_ callId: String) {
        guard let bridge = bridges.calls[callId], bridge.answer != nil else { return }
        let interval = bridge.answerInterval
        bridge.answerRetransmit = after(interval) { [self] in
            guard let bridge = bridges.calls[callId], let answer = bridge.answer else { return }
            send(answer, to: bridge.caller.peer)
            bridge.answerInterval = min(bridge.answerInterval * 2, .seconds(4))
            let elapsed = bridge.record.answeredAt.map { Date().timeIntervalSince($0) } ?? 0
            bridges.calls[callId] = bridge
            if elapsed > 32 {
                // No ACK within 64·T1: the caller is gone.
                hangup(callId: callId, by: .system, cause: "no ACK for the answer")
            } else {
                scheduleAnswerRetransmission(callId)
            }
        }
        bridges.calls[callId] = bridge
    }

    func calleeFailed(status: Int, response: SIPMessage, callId: String) {
        guard let bridge = bridges.calls[callId] else { return }
        if (status == 401 || status == 407), !bridge.triedAuthentication, let trunkId = bridge.trunkId,
            let trunk = trunks.trunk(id: trunkId), let credentials = trunks.credentials(of: trunk),
            let retry = authenticatedRetry(of: bridge.calleeInviteRequest, to: bridge.callee.peer, challenge: response, status: status, credentials: credentials)
        {
            bridge.triedAuthentication = true
            bridge.calleeInviteRequest = retry
            if let cseq = try? retry.cseq { bridge.callee.nextCSeq = max(bridge.callee.nextCSeq, cseq.sequence + 1) }
            if let old = bridge.calleeInvite { bridges.byCalleeInvite[old] = nil }
            bridges.calls[callId] = bridge
            guard let key = startClient(retry, to: bridge.callee.peer) else { return }
            bridge.calleeInvite = key
            bridges.byCalleeInvite[key] = callId
            bridges.calls[callId] = bridge
            return
        }
        guard !bridge.record.status.isFinal else {
            bridges.remove(callId)
            return
        }
        let callerCode: Int
        switch status {
        case 408, 480: callerCode = 480
        case 500...599 where status != 503: callerCode = 502
        default: callerCode = status
        }
        bridge.record.status = CallStatus.forFailure(code: status)
        bridge.record.sipCode = status
        bridge.record.hangupBy = .callee
        bridge.record.hangupCause = response.reasonPhrase
        bridge.record.endedAt = Date()
        callLog.record(bridge.record)
        if let key = bridge.callerInvite {
            var relayed = SIPMessage.response(to: bridge.callerInviteRequest, statusCode: callerCode, toTag: bridge.caller.localTag)
            relayed.headers.add(.server, configuration.product)
            if callerCode != status { relayed.headers.add(.reason, "SIP;cause=\(status)") }
            respond(to: key, with: relayed)
        }
        bridges.remove(callId)
    }

    /// A client transaction ended without a final response (timeout or transport error).
    func clientFailed(_ request: SIPMessage, clientKey: SIPTransactionKey, reason: SIPTransactionTermination) {
        if let relay = bridges.relays.removeValue(forKey: clientKey) {
            if relay.videoReoffer, let original = table[server: relay.serverKey]?.machine.request {
                browserVideoReofferAnswered(SIPMessage.response(to: request, statusCode: 408), status: 408, relay: relay, original: original)
                return
            }
            respond(to: relay.serverKey, with: SIPMessage.response(to: table[server: relay.serverKey]?.machine.request ?? request, statusCode: 408))
            return
        }
        if let callId = bridges.refreshes.removeValue(forKey: clientKey) {
            hangup(callId: callId, by: .system, cause: "session refresh failed")
            return
        }
        if let callId = bridges.browserReoffers.removeValue(forKey: clientKey) {
            browserReofferFailed(clientKey: clientKey, callId: callId, reason: reason)
            return
        }
        guard request.method == .invite, let callId = bridges.byCalleeInvite[clientKey], let bridge = bridges.calls[callId],
            bridge.record.answeredAt == nil
        else { return }
        calleeFailed(status: 408, response: SIPMessage.response(statusCode: 408, reasonPhrase: reason == .timeout ? "Request Timeout" : "Transport Error"), callId: callId)
    }

    /// A 2xx that no transaction matched: a retransmitted answer; ACK it again.
    func strayResponse(_ response: SIPMessage, from peer: SIPPeer) {
        guard let status = response.statusCode, (200...299).contains(status), (try? response.cseq)?.method == .invite,
            let callID = response.callID, let tag = (try? response.from)?.tag,
            let (callId, side) = bridges.dialogs[CallBridges.DialogKey(callID: callID, localTag: tag)], side == .callee,
            let bridge = bridges.calls[callId]
        else { return }
        sendAck(forAnswer: response, bridge: bridge)
    }

    /// An ACK for a 2xx: from the caller, it stops the answer's retransmission.
    func acknowledged(_ ack: SIPMessage) {
        guard let callID = ack.callID, let tag = (try? ack.to)?.tag,
            let (callId, side) = bridges.dialogs[CallBridges.DialogKey(callID: callID, localTag: tag)], side == .caller,
            let bridge = bridges.calls[callId]
        else { return }
        bridge.answer = nil
        bridge.answerRetransmit?.cancel()
        bridge.answerRetransmit = nil
        bridges.calls[callId] = bridge
        // The browser's INVITE (or re-INVITE) is complete: a hold it has not heard of can go now.
        relayHoldToBrowser(callId: callId)
    }

    // MARK: Cancel and hang-up

    func callerCancelled(inviteKey: SIPTransactionKey) {
        if bridges.resolving.remove(inviteKey) != nil, let invite = table[server: inviteKey]?.machine.request {
            respond(to: inviteKey, with: SIPMessage.response(to: invite, statusCode: 487, toTag: CallBridges.makeTag()))
            return
        }
        guard let callId = bridges.byCallerInvite[inviteKey], let bridge = bridges.calls[callId], !bridge.record.status.isFinal else { return }
        bridge.record.status = .canceled
        bridge.record.hangupBy = .caller
        bridge.record.hangupCause = "caller cancelled"
        bridge.record.sipCode = 487
        bridge.record.endedAt = Date()
        callLog.record(bridge.record)
        respond(to: inviteKey, with: SIPMessage.response(to: bridge.callerInviteRequest, statusCode: 487, toTag: bridge.caller.localTag))
        bridges.finishCallerInvite(of: bridge)
        bridges.calls[callId] = bridge
        cancelCallee(of: callId)
    }

    /// CANCEL towards the callee, once it has sent a provisional response (§9.1).
    func cancelCallee(of callId: String) {
        guard let bridge = bridges.calls[callId], let key = bridge.calleeInvite,
            case .inviteClient(let ict, _)? = table[client: key]?.machine
        else { return }
        guard ict.canSendCancel else {
            bridge.cancelWhenProvisional = true
            bridges.calls[callId] = bridge
            return
        }
        if let cancel = try? SIPMessage.cancel(for: bridge.calleeInviteRequest) {
            _ = startClient(cancel, to: bridge.callee.peer)
        }
    }

    /// Ends a call from this side: CANCEL/487 before the answer, BYE to both legs after.
    func hangup(callId: String, by party: HangupParty, cause: String) {
        guard let bridge = bridges.calls[callId] else { return }
        if bridge.record.answeredAt == nil {
            guard !bridge.record.status.isFinal else { return }
            bridge.record.status = .canceled
            bridge.record.hangupBy = party
            bridge.record.hangupCause = cause
            bridge.record.endedAt = Date()
            callLog.record(bridge.record)
            if let key = bridge.callerInvite {
                respond(to: key, with: SIPMessage.response(to: bridge.callerInviteRequest, statusCode: 487, toTag: bridge.caller.localTag))
                bridges.finishCallerInvite(of: bridge)
            }
            bridges.calls[callId] = bridge
            cancelCallee(of: callId)
            return
        }
        bridge.record.status = .completed
        bridge.record.hangupBy = party
        bridge.record.hangupCause = cause
        bridge.record.endedAt = Date()
        callLog.record(bridge.record)
        bridges.calls[callId] = bridge
        sendInDialog(.bye, on: .caller, of: callId)
        sendInDialog(.bye, on: .callee, of: callId)
        bridges.remove(callId)
    }

    /// Sends a new request inside the dialog of one leg.
    @discardableResult
    func sendInDialog(
        _ method: SIPMethod, on side: LegSide, of callId: String, body: ByteBuffer = ByteBuffer(), contentType: String? = nil,
        extraHeaders: [(SIPHeaderName, String)] = []
    ) -> SIPTransactionKey? {
        guard let bridge = bridges.calls[callId] else { return nil }
        var leg = bridge.leg(side)
        var headers = SIPHeaders()
        headers.add(.via, via(to: leg.peer))
        headers.add(.maxForwards, "70")
        headers.add(.from, leg.localAddress)
        headers.add(.to, leg.remoteAddress)
        headers.add(.callID, leg.callID)
        headers.add(.cseq, SIPCSeq(sequence: leg.nextCSeq, method: method).description)
        if method == .invite || method == .update {
            headers.add(.contact, contact(towards: leg.peer))
        }
        for (name, value) in extraHeaders { headers.add(name, value) }
        if let contentType { headers.add(.contentType, contentType) }
        leg.nextCSeq += 1
        if side == .caller { bridge.caller = leg } else { bridge.callee = leg }
        if side == .callee, body.readableBytes > 0 { bridge.calleeSDP = SessionBody(body: body, contentType: contentType) }
        bridges.calls[callId] = bridge
        return startClient(.request(method: method, uri: leg.remoteTarget, headers: headers, body: body), to: leg.peer)
    }

    // MARK: In-dialog requests

    func inDialogRequest(_ request: SIPMessage, serverKey: SIPTransactionKey, from peer: SIPPeer) {
        guard let method = request.method, let callID = request.callID, let tag = (try? request.to)?.tag,
            let (callId, side) = bridges.dialogs[CallBridges.DialogKey(callID: callID, localTag: tag)],
            var bridge = bridges.calls[callId]
        else {
            respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 481))
            return
        }
        // The remote side's CSeq space is its own; the other leg gets ours.
        var leg = bridge.leg(side)
        if case .browser(let id) = peer, leg.peer != peer {
            // A browser that reconnected its WebSocket takes its call over only with the same
            // widget session.
            guard let endpoint = browsers[id], endpoint.session.id == bridge.record.source.sessionId else {
                respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 481))
                return
            }
        }
        if side == .caller, method == .invite, let pending = bridge.browserReoffer {
            guard pending.peer != peer else {
                // Both ends re-INVITE at once (RFC 3261 §14.2): the browser tries again later.
                respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 491, toTag: leg.localTag))
                return
            }
            // Sent on a WebSocket that has gone; the browser is back on another one.
            abandonBrowserReoffer(callId: callId)
            bridge = bridges.calls[callId] ?? bridge
        }
        leg.peer = peer
        if side == .caller { bridge.caller = leg } else { bridge.callee = leg }
        bridges.calls[callId] = bridge
        switch method {
        case .bye:
            respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 200))
            guard !bridge.record.status.isFinal else { return }
            bridge.record.status = .completed
            bridge.record.hangupBy = side.party
            bridge.record.hangupCause = "BYE"
            bridge.record.endedAt = Date()
            callLog.record(bridge.record)
            bridges.calls[callId] = bridge
            sendInDialog(.bye, on: side.other, of: callId)
            bridges.remove(callId)
        case .invite, .update, .info:
            var sessionInterval: Int?
            if method != .info {
                switch sessionRefresh(request, serverKey: serverKey, side: side, callId: callId) {
                case .answered: return
                case .relay(let interval): sessionInterval = interval
                }
                // Media anchored here: a re-offer is answered on the leg it came on; a hold or
                // resume from the call centre then goes to the browser in a re-INVITE of ours.
                if side == .caller, bridge.media != nil,
                    relayBrowserVideoReoffer(request, serverKey: serverKey, callId: callId, sessionInterval: sessionInterval)
                {
                    return
                }
                if side == .callee, bridge.media != nil,
                    offerCalleeVideoToBrowser(request, serverKey: serverKey, callId: callId, sessionInterval: sessionInterval)
                {
                    return
                }
                if bridge.media != nil, answerReoffer(request, serverKey: serverKey, side: side, callId: callId, sessionInterval: sessionInterval) {
                    if side == .callee { relayHoldToBrowser(callId: callId) }
                    return
                }
            }
            guard let key = sendInDialog(method, on: side.other, of: callId, body: request.body, contentType: request.headers[.contentType]) else {
                respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 500))
                return
            }
            bridges.relays[key] = RelayedRequest(callId: callId, serverKey: serverKey, towards: side.other, sessionInterval: sessionInterval)
        case .prack:
            // We never send reliable provisional responses, so no PRACK matches one (RFC 3262 §3).
            respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 481))
        case .options:
            respond(to: serverKey, with: withAllow(SIPMessage.response(to: request, statusCode: 200)))
        default:
            let status = Self.knownMethods.contains(method) ? 405 : 501
            respond(to: serverKey, with: withAllow(SIPMessage.response(to: request, statusCode: status)))
        }
    }

    /// The other side answered a relayed in-dialog request: pass the answer back.
    func relayedResponse(_ response: SIPMessage, relay: RelayedRequest, clientKey: SIPTransactionKey) {
        guard let status = response.statusCode, status >= 101 else { return }
        guard let original = table[server: relay.serverKey]?.machine.request, let bridge = bridges.calls[relay.callId] else {
            if status >= 200 { bridges.relays[clientKey] = nil }
            return
        }
        if status >= 200 { bridges.relays[clientKey] = nil }
        if (200...299).contains(status), response.method == nil, (try? response.cseq)?.method == .invite {
            // ACK the re-INVITE's 2xx on the leg it came from.
            var ackLeg = bridge.leg(relay.towards)
            if let contact = (try? response.contacts)?.addresses.first { ackLeg.remoteTarget = contact.uri }
            sendAck(for: response, on: ackLeg)
        }
        if relay.videoReoffer {
            if status >= 200 { browserVideoReofferAnswered(response, status: status, relay: relay, original: original) }
            return
        }
        let answerLeg = bridge.leg(relay.towards.other)
        var relayed = SIPMessage.response(to: original, statusCode: status, reasonPhrase: response.reasonPhrase, toTag: answerLeg.localTag)
        relayed.headers.add(.server, configuration.product)
        if status < 300 {
            relayed.headers.add(.contact, contact(towards: answerLeg.peer))
            if let type = response.headers[.contentType] { relayed.headers.add(.contentType, type) }
            relayed.body = response.body
        }
        if (200...299).contains(status) {
            sessionRefreshAnswered(&relayed, relay: relay)
        }
        respond(to: relay.serverKey, with: relayed)
    }
}
