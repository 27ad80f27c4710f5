public import SIP

/// The gateway's own offers to the browser once a call is up: the call centre put the call on
/// hold or resumed it, and the browser is told with a re-INVITE of its own (the call centre's
/// re-offer itself is answered at the gateway).
///
/// A re-offer repeats the transport the browser already has (RFC 3264 §8, RFC 8829 §5.2.2): the
/// same `m=` lines in the same order (rejected ones stay rejected), the same ICE credentials and
/// candidate (no ICE restart), the same certificate fingerprint, `a=setup:actpass` as every offer
/// must say (RFC 5763 §5) while the answer keeps the established DTLS association, so its role
/// cannot change (RFC 8842 §5.3). Only the version and the audio direction differ.
extension MediaPlan {
    /// A re-offer of `previous` (the description the gateway last sent the browser) with the
    /// audio at `audioIndex` set to `direction`, as the gateway sees it: `.sendonly` puts the
    /// browser on hold (the call centre may still play music), `.inactive` holds both ways,
    /// `.sendrecv` resumes.
    public static func browserReoffer(
        after previous: SDPSessionDescription, audioIndex: Int, direction: SDPDirection, sessionVersion: UInt64
    ) -> SDPSessionDescription {
        var offer = previous
        offer.origin.sessionVersion = sessionVersion
        offer.attributes.setDirection(nil)
        offer.attributes.replaceSetup(with: .actpass)
        for index in offer.media.indices where !offer.media[index].isDisabled {
            offer.media[index].attributes.replaceSetup(with: .actpass)
            if index == audioIndex { offer.media[index].attributes.setDirection(direction) }
        }
        return offer
    }

    /// Checks the browser's answer to a ``browserReoffer(after:audioIndex:direction:sessionVersion:)``
    /// and returns the direction of its audio, as the browser wrote it.
    ///
    /// - Parameters:
    ///   - browser: the browser's ICE credentials and fingerprint, which an answer cannot change.
    ///   - dtlsRole: the gateway's DTLS role in the association; the browser must keep the other.
    /// - Throws: ``MediaPlanError/unusableAnswer(_:)`` when the answer does not fit the offer,
    ///   rejects the audio, restarts ICE, changes the certificate or the DTLS role.
    public static func checkBrowserReofferAnswer(
        _ answer: SDPSessionDescription, offer: SDPSessionDescription, audioIndex: Int, browser: BrowserOffer, dtlsRole: SDPSetupRole
    ) throws(MediaPlanError) -> SDPDirection {
        guard answer.media.count == offer.media.count, answer.media.indices.contains(audioIndex) else {
            throw .unusableAnswer("the answer's m= lines do not match the offer")
        }
        let audio = answer.media[audioIndex]
        guard audio.media == .audio, !audio.isDisabled else { throw .unusableAnswer("the answer rejects the audio") }
        let ufrag = audio.attributes.iceUsernameFragment ?? answer.attributes.iceUsernameFragment
        let password = audio.attributes.icePassword ?? answer.attributes.icePassword
        guard ufrag == browser.iceUsernameFragment, password == browser.icePassword else {
            throw .unusableAnswer("the answer restarts ICE")
        }
        if let fingerprint = audio.attributes.fingerprints.first ?? answer.attributes.fingerprints.first,
            fingerprint.bytes != browser.fingerprint.bytes || fingerprint.hashFunction.lowercased() != browser.fingerprint.hashFunction.lowercased()
        {
            throw .unusableAnswer("the answer changes the DTLS certificate")
        }
        let expected: SDPSetupRole = dtlsRole == .active ? .passive : .active
        if let setup = audio.attributes.setup ?? answer.attributes.setup, setup != expected {
            throw .unusableAnswer("the answer changes the DTLS role to \(setup.rawValue)")
        }
        return audio.effectiveDirection(in: answer)
    }
}

extension SDPAttributeList {
    /// Replaces the value of an `a=setup` line, if there is one.
    fileprivate mutating func replaceSetup(with role: SDPSetupRole) {
        guard let index = elements.firstIndex(where: { $0.name == "setup" }) else { return }
        elements[index] = SDPAttribute(name: "setup", value: role.rawValue)
    }
}
