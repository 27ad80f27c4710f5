public import SIP
import WebRTC

/// A browser that adds, removes or changes its video during a call: unlike a hold or an ICE
/// restart, which the gateway answers itself, this needs the call centre, so the browser's
/// re-offer becomes a re-offer of the gateway's own to the call centre
/// (``calleeReoffer(for:)``), and the call centre's answer becomes the browser's
/// (``answerBrowserAfterCallee(_:)``).
extension BrowserCallMedia {
    /// Whether the browser's re-offer changes its video from what was agreed: a video stream
    /// added or dropped, moved to another `m=` line, or turned on or off. Only for widgets
    /// that allow video, once the call is answered.
    public func browserReofferChangesVideo(_ reoffer: SDPSessionDescription) -> Bool {
        guard allowsVideo, answered != nil, pendingBrowserOffer == nil, let browser = try? BrowserOffer(reoffer) else { return false }
        let agreed = answered?.plan.video != nil ? offer.video : nil
        switch (browser.video, agreed) {
        case (nil, nil): return false
        case (nil, _?), (_?, nil): return true
        case (let video?, let agreed?): return video.mid != agreed.mid || video.direction != agreed.direction
        }
    }

    /// The gateway's re-offer to the call centre for the browser's `reoffer`: the same audio
    /// port and codecs, and the browser's video on the SIP leg's video port (bound now if this
    /// is the first video of the call), or a rejected `m=video` once the browser drops it.
    /// The browser's offer waits until ``answerBrowserAfterCallee(_:)`` or
    /// ``abandonCalleeReoffer()``.
    public func calleeReoffer(for reoffer: SDPSessionDescription) throws -> SDPSessionDescription {
        var browser = try BrowserOffer(reoffer)
        if !allowsVideo { browser.video = nil }
        if browser.video != nil, videoPort == nil {
            videoPort = try plane.openVideo(for: self)
        }
        calleeSessionVersion += 1
        // On an SRTP leg, streams already keyed are offered with their suite and the gateway's
        // key only, so its outbound streams go on; a new video gets the whole choice.
        let plan = answered?.plan
        let audioSDES = plan?.calleeSRTP.map { sdes?.keeping($0.local) } ?? sdes
        let videoOffer = plan?.video?.calleeSRTP.map { videoSDES?.keeping($0.local) } ?? videoSDES
        var description = try MediaPlan.calleeOffer(
            for: browser, codecs: calleeCodecs, host: calleeOffer.origin.unicastAddress, port: calleeOffer.media.first?.port ?? 0,
            sessionID: calleeOffer.origin.sessionID, sessionVersion: calleeSessionVersion, videoPort: browser.video == nil ? nil : videoPort,
            sdes: audioSDES, videoSDES: videoOffer
        )
        if let video = description.media.first(where: { $0.media == .video }) {
            calleeVideoMedia = video
        } else if var previous = calleeVideoMedia {
            // An m= line once offered stays, rejected (RFC 3264 §8.2).
            previous.port = 0
            description.media.append(previous)
        }
        pendingBrowserOffer = browser
        return description
    }

    /// The browser's answer from the call centre's answer to ``calleeReoffer(for:)``; the media
    /// session takes the new plan (and new ICE credentials if the browser restarted ICE).
    public func answerBrowserAfterCallee(_ calleeAnswer: SDPSessionDescription) throws(MediaPlanError) -> SDPSessionDescription {
        guard let browser = pendingBrowserOffer, answered != nil else { throw .unusableAnswer("no re-offer pending") }
        pendingBrowserOffer = nil
        let restart = browser.iceUsernameFragment != offer.iceUsernameFragment || browser.icePassword != offer.icePassword
        if restart {
            let credentials = ICECredentials.random()
            local.iceUsernameFragment = credentials.usernameFragment
            local.icePassword = credentials.password
        }
        let version = browserSessionVersion + 1
        let (answer, plan) = try MediaPlan.browserAnswer(
            for: browser, calleeAnswer: calleeAnswer, local: local, sessionID: sessionID, sessionVersion: version, browserSSRC: browserSSRC,
            browserCNAME: browserCNAME, videoSSRC: browserVideoSSRC, sdes: sdes, videoSDES: videoSDES
        )
        guard let remote = try? ICECredentials(usernameFragment: browser.iceUsernameFragment, password: browser.icePassword),
            let localCredentials = try? ICECredentials(usernameFragment: local.iceUsernameFragment, password: local.icePassword)
        else { throw .unsupportedOffer("invalid ICE credentials") }
        offer = browser
        answered = (calleeAnswer, answer, plan)
        browserSessionVersion = version
        calleeDirection = plan.calleeDirection
        browserLegDirection = answer.media[browser.audioIndex].attributes.direction ?? .sendrecv
        let session = self.session
        session.loop.execute {
            session.update(plan: plan)
            if restart { session.restartICE(local: localCredentials, remote: remote) }
        }
        return answer
    }

    /// The call centre refused the re-offer: the browser's offer is answered as before
    /// (``answerBrowserReoffer(_:)``), its video refused unless it was agreed already.
    public func abandonCalleeReoffer() {
        pendingBrowserOffer = nil
    }
}
