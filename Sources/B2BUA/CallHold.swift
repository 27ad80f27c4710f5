import Foundation
import MediaPlane
import NIOCore
import SIP

/// The gateway's re-INVITE to a browser, while it waits for the browser's final response.
struct PendingBrowserReoffer {
    var key: SIPTransactionKey
    var offer: SDPSessionDescription
    /// The WebSocket it went out on.
    var peer: SIPPeer
    /// The call centre's re-INVITE adding video that waits for the browser's answer.
    var videoUpgrade: PendingCalleeVideoUpgrade? = nil
}

/// A call centre's re-INVITE that adds video, answered once the browser has answered.
struct PendingCalleeVideoUpgrade {
    var serverKey: SIPTransactionKey
    var request: SIPMessage
    var sessionInterval: Int?
}

/// Hold and resume from the call centre, told to the browser of an anchored call.
///
/// The call centre's re-offer is answered at the gateway (``answerReoffer``); when it changes
/// the audio direction, the browser gets a re-INVITE of the gateway's own with the direction
/// mirrored (``BrowserCallMedia/browserReoffer()``), so the widget shows the hold. The browser
/// leg's failures never end the call: a refusal, an unusable answer or no answer at all is
/// logged, and the call goes on as it is.
extension SignallingCore {
    /// How often a re-INVITE to the browser is tried again after 491 Request Pending.
    static let maxBrowserReofferGlares = 5

    /// Sends the browser a re-INVITE when the call centre's direction differs from what the
    /// browser last agreed to, unless one is pending or waiting for a retry, the browser's own
    /// INVITE is not complete yet (no ACK), or its WebSocket is gone (then its ICE-restart
    /// re-INVITE on a new one comes first, and this runs again at its ACK).
    func relayHoldToBrowser(callId: String) {
        guard let bridge = bridges.calls[callId], let media = bridge.media, media.needsBrowserReoffer,
            bridge.record.answeredAt != nil, !bridge.record.status.isFinal, bridge.answer == nil,
            bridge.browserReoffer == nil, bridge.browserReofferRetry == nil,
            case .browser(let id) = bridge.caller.peer, browsers[id] != nil,
            let offer = media.browserReoffer()
        else { return }
        let direction = offer.media.indices.contains(media.offer.audioIndex) ? offer.media[media.offer.audioIndex].attributes.direction : nil
        guard let key = sendInDialog(
            .invite, on: .caller, of: callId, body: ByteBuffer(string: offer.serialized()), contentType: "application/sdp",
            extraHeaders: [(.allow, Self.allowedMethods)]
        ) else { return }
        bridges.calls[callId]?.browserReoffer = PendingBrowserReoffer(key: key, offer: offer, peer: bridge.caller.peer)
        bridges.browserReoffers[key] = callId
        logger.info(
            "re-INVITE to the browser for the call centre's direction",
            metadata: ["call": "\(callId)", "direction": "\(direction?.rawValue ?? "sendrecv")"]
        )
    }

    /// The browser answered our re-INVITE.
    func browserReofferAnswered(_ response: SIPMessage, clientKey: SIPTransactionKey, callId: String) {
        guard let status = response.statusCode, status >= 200 else { return }
        guard let bridge = bridges.calls[callId] else {
            bridges.browserReoffers[clientKey] = nil
            return
        }
        if (200...299).contains(status) {
            // Every 2xx is ACKed (retransmissions too); the entry goes with the call.
            if let contact = (try? response.contacts)?.addresses.first { bridge.caller.remoteTarget = contact.uri }
            sendAck(for: response, on: bridge.caller)
        } else {
            bridges.browserReoffers[clientKey] = nil
        }
        guard let pending = bridge.browserReoffer, pending.key == clientKey else {
            bridges.calls[callId] = bridge
            return
        }
        bridge.browserReoffer = nil
        if let upgrade = pending.videoUpgrade {
            bridges.calls[callId] = bridge
            browserAnsweredVideoUpgrade(response, status: status, upgrade: upgrade, callId: callId)
            return
        }
        var agreed = false
        switch status {
        case 200...299:
            do {
                guard let media = bridge.media, response.body.readableBytes > 0 else { throw MediaPlanError.unusableAnswer("no SDP in the 2xx") }
                let answer: SDPSessionDescription
                do {
                    answer = try SDPSessionDescription(parsing: response.body.readableBytesView)
                } catch {
                    throw MediaPlanError.unusableAnswer("malformed SDP")
                }
                let direction = try media.browserAnswered(answer, to: pending.offer)
                bridge.browserReofferGlares = 0
                agreed = true
                logger.info("the browser answered the re-INVITE", metadata: ["call": "\(callId)", "direction": "\(direction.rawValue)"])
            } catch {
                logger.warning(
                    "the browser's answer to the re-INVITE cannot be used; the call goes on",
                    metadata: ["call": "\(callId)", "reason": "\(error)"]
                )
            }
        case 491 where bridge.browserReofferGlares < Self.maxBrowserReofferGlares:
            // Glare: the browser renegotiates too. Not the owner of the Call-ID (the browser
            // chose it), the gateway tries again after 0 to 2 s (RFC 3261 §14.1).
            bridge.browserReofferGlares += 1
            let delay = Duration.milliseconds(Int.random(in: 0...200) * 10)
            bridge.browserReofferRetry = after(delay) { [self] in
                bridges.calls[callId]?.browserReofferRetry = nil
                relayHoldToBrowser(callId: callId)
            }
            logger.debug("re-INVITE glare with the browser", metadata: ["call": "\(callId)", "retry": "\(delay)"])
        default:
            logger.warning(
                "the browser refused the re-INVITE; the call goes on",
                metadata: ["call": "\(callId)", "status": "\(status)"]
            )
        }
        bridges.calls[callId] = bridge
        // The call centre may have changed its mind while the browser was asked.
        if agreed { relayHoldToBrowser(callId: callId) }
    }

    /// Our re-INVITE to the browser timed out or could not be sent.
    func browserReofferFailed(clientKey: SIPTransactionKey, callId: String, reason: SIPTransactionTermination) {
        guard let bridge = bridges.calls[callId], let pending = bridge.browserReoffer, pending.key == clientKey else { return }
        bridge.browserReoffer = nil
        bridges.calls[callId] = bridge
        logger.warning("the browser did not answer the re-INVITE; the call goes on", metadata: ["call": "\(callId)", "reason": "\(reason)"])
        if let upgrade = pending.videoUpgrade { refuseVideoUpgrade(upgrade, callId: callId) }
    }

    /// Forgets the pending re-INVITE to the browser (its WebSocket has gone); its transaction
    /// ends on its own.
    func abandonBrowserReoffer(callId: String) {
        guard let bridge = bridges.calls[callId], let pending = bridge.browserReoffer else { return }
        bridges.browserReoffers[pending.key] = nil
        bridge.browserReoffer = nil
        bridge.browserReofferGlares = 0
        bridges.calls[callId] = bridge
        logger.info("re-INVITE to the browser abandoned with its WebSocket", metadata: ["call": "\(callId)"])
        if let upgrade = pending.videoUpgrade { refuseVideoUpgrade(upgrade, callId: callId) }
    }
}
