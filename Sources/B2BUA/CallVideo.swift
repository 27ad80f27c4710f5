import MediaPlane
import NIOCore
import SIP

/// Video from the browser of an anchored call: a re-INVITE that adds, drops or turns the
/// camera on or off is not answered at the gateway like a hold, because the call centre must
/// agree. The gateway re-offers to the call centre (the same audio, the browser's video on the
/// SIP leg's video port) and answers the browser from the call centre's answer. When the call
/// centre refuses, the browser is answered at the gateway without the change, and the call
/// goes on as it was.
extension SignallingCore {
    /// Starts the call centre's side of a browser re-INVITE that changes the video. Returns
    /// false when it does not (then it is answered as any other re-offer).
    func relayBrowserVideoReoffer(_ request: SIPMessage, serverKey: SIPTransactionKey, callId: String, sessionInterval: Int?) -> Bool {
        guard let media = bridges.calls[callId]?.media, request.method == .invite, request.body.readableBytes > 0,
            let offer = try? SDPSessionDescription(parsing: request.body.readableBytesView), media.browserReofferChangesVideo(offer)
        else { return false }
        let reoffer: SDPSessionDescription
        do {
            reoffer = try media.calleeReoffer(for: offer)
        } catch {
            logger.info("the browser's video cannot be offered to the call centre", metadata: ["call": "\(callId)", "reason": "\(error)"])
            return false
        }
        guard let key = sendInDialog(
            .invite, on: .callee, of: callId, body: ByteBuffer(string: reoffer.serialized()), contentType: "application/sdp",
            extraHeaders: [(.allow, Self.allowedMethods)]
        ) else {
            media.abandonCalleeReoffer()
            return false
        }
        bridges.relays[key] = RelayedRequest(
            callId: callId, serverKey: serverKey, towards: .callee, sessionInterval: sessionInterval, videoReoffer: true
        )
        logger.info(
            "re-INVITE to the call centre for the browser's video",
            metadata: ["call": "\(callId)", "video": "\(reoffer.media.contains { $0.media == .video && !$0.isDisabled })"]
        )
        return true
    }

    /// The call centre's final response to a re-offer of ``relayBrowserVideoReoffer``: the
    /// browser gets the answer made from it, or, after a refusal, the gateway's own answer.
    func browserVideoReofferAnswered(_ response: SIPMessage, status: Int, relay: RelayedRequest, original: SIPMessage) {
        guard let media = bridges.calls[relay.callId]?.media else { return }
        if (200...299).contains(status), response.body.readableBytes > 0,
            let description = try? SDPSessionDescription(parsing: response.body.readableBytesView)
        {
            do {
                let answer = try media.answerBrowserAfterCallee(description)
                guard let leg = bridges.calls[relay.callId]?.caller else { return }
                var ok = SIPMessage.response(to: original, statusCode: 200, toTag: leg.localTag)
                ok.headers.add(.contact, contact(towards: leg.peer))
                ok.headers.add(.allow, Self.allowedMethods)
                ok.headers.add(.contentType, "application/sdp")
                ok.body = ByteBuffer(string: answer.serialized())
                if let interval = relay.sessionInterval {
                    ok.headers.add(.require, "timer")
                    ok.headers.add(.sessionExpires, SIPSessionExpires(interval: interval, refresher: .uac).description)
                }
                respond(to: relay.serverKey, with: ok)
                logger.info(
                    "the call centre answered the browser's video",
                    metadata: ["call": "\(relay.callId)", "video": "\(media.plan?.video != nil)"]
                )
                return
            } catch {
                logger.warning("the call centre's answer for the video cannot be used", metadata: ["call": "\(relay.callId)", "reason": "\(error)"])
            }
        } else {
            logger.info("the call centre refused the browser's video", metadata: ["call": "\(relay.callId)", "status": "\(status)"])
        }
        media.abandonCalleeReoffer()
        if !answerReoffer(original, serverKey: relay.serverKey, side: .caller, callId: relay.callId, sessionInterval: relay.sessionInterval) {
            respond(to: relay.serverKey, with: SIPMessage.response(to: original, statusCode: 488))
        }
    }
}
