public import SIP
public import SRTP

/// How the SIP leg's media is carried, as the trunk says.
public enum CalleeMediaSecurity: String, Hashable, Sendable {
    /// Plain RTP/AVP, no `a=crypto` (the default).
    case plainRTP
    /// SRTP keyed with SDES (RFC 4568): the offer is `RTP/SAVP` with `a=crypto`, and an answer
    /// without acceptable crypto fails the call. Nothing is ever sent in clear on such a leg.
    case sdesSRTP
}

/// The SDES keys the gateway offers the call centre on one `m=` line (RFC 4568 §5.1.1): one
/// `a=crypto` per suite in order of preference, each with its own random key, and the checks of
/// the call centre's answer and re-offers.
///
/// Keys never reach logs: ``SRTPMasterKey`` describes itself by profile only.
public struct SDESOffer: Hashable, Sendable {
    /// One offered `a=crypto`: its tag and the key the gateway protects with if it is chosen.
    public struct Entry: Hashable, Sendable {
        public var tag: UInt32
        public var key: SRTPMasterKey

        public init(tag: UInt32, key: SRTPMasterKey) {
            self.tag = tag
            self.key = key
        }
    }

    public var entries: [Entry]

    /// The suites offered, in order: `AES_CM_128_HMAC_SHA1_80` (which every SDES peer has),
    /// then `AEAD_AES_128_GCM` (RFC 7714).
    public static let suites: [SRTPProfile] = [.aes128CMHMACSHA1_80, .aeadAES128GCM]

    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// Fresh random keys, tags 1, 2, … in the order of `suites`.
    public static func random(suites: [SRTPProfile] = SDESOffer.suites) throws(SRTPError) -> SDESOffer {
        var entries: [Entry] = []
        for (index, suite) in suites.enumerated() {
            entries.append(Entry(tag: UInt32(index + 1), key: try SRTPMasterKey.random(profile: suite)))
        }
        return SDESOffer(entries: entries)
    }

    /// The `a=crypto` lines of the offer.
    public var attributes: SDPAttributeList {
        var attributes = SDPAttributeList()
        for entry in entries {
            attributes.append(Self.crypto(tag: entry.tag, key: entry.key))
        }
        return attributes
    }

    /// `a=crypto:<tag> <suite> inline:<base64 key||salt>`.
    static func crypto(tag: UInt32, key: SRTPMasterKey) -> SDPCrypto {
        SDPCrypto(
            tag: tag, suite: key.profile.sdesSuiteName,
            keyParameters: [SDPCrypto.KeyParameter(inline: SDPCryptoInlineKey(keySaltBytes: key.keyAndSalt))]
        )
    }

    /// The session keys from the call centre's answer on this `m=` line: `RTP/SAVP`, exactly one
    /// `a=crypto` (RFC 4568 §5.1.2) whose tag is one offered, with that entry's suite and a key
    /// of the suite's length, without MKI or session parameters (none were offered).
    ///
    /// - Throws: ``MediaPlanError/unacceptableCrypto(_:)`` naming what is wrong (never the key).
    public func keys(fromAnswer media: SDPMediaDescription) throws(MediaPlanError) -> SRTPKeys {
        guard media.transportProtocol.matches(.rtpSAVP) else {
            throw .unacceptableCrypto("the call centre answered \(media.transportProtocol.rawValue), SRTP (RTP/SAVP) is required")
        }
        let lines = media.attributes.values(SDPCrypto.attributeName)
        guard lines.count == 1, let line = lines.first else {
            throw .unacceptableCrypto(lines.isEmpty ? "no a=crypto in the answer" : "\(lines.count) a=crypto lines in the answer, one expected")
        }
        let crypto: SDPCrypto
        do {
            crypto = try SDPCrypto(attributeValue: line[...])
        } catch {
            throw .unacceptableCrypto("unparsable a=crypto in the answer")
        }
        guard let entry = entries.first(where: { $0.tag == crypto.tag }) else {
            throw .unacceptableCrypto("the answer's a=crypto tag \(crypto.tag) was not offered")
        }
        guard crypto.suite == entry.key.profile.sdesSuiteName else {
            throw .unacceptableCrypto("the answer's suite \(crypto.suite) is not the one offered with tag \(crypto.tag)")
        }
        let remote = try Self.remoteKey(crypto, profile: entry.key.profile)
        do {
            return try SRTPKeys(profile: entry.key.profile, local: entry.key, remote: remote)
        } catch {
            throw .unacceptableCrypto("the answer's key does not fit \(crypto.suite)")
        }
    }

    /// The call centre's key from one of its `a=crypto` lines for `profile`: one inline key of
    /// the profile's length, no MKI, no session parameters.
    static func remoteKey(_ crypto: SDPCrypto, profile: SRTPProfile) throws(MediaPlanError) -> SRTPMasterKey {
        guard crypto.sessionParameters.isEmpty else {
            throw .unacceptableCrypto("unsupported session parameters \(crypto.sessionParameters.joined(separator: " "))")
        }
        guard crypto.keyParameters.count == 1, let parameter = crypto.keyParameters.first, parameter.method == "inline",
            let inline = parameter.inlineKey
        else {
            throw .unacceptableCrypto("one inline key expected in a=crypto")
        }
        guard inline.mki == nil else { throw .unacceptableCrypto("keys with an MKI are not supported") }
        guard let bytes = inline.keySaltBytes, bytes.count == profile.keyAndSaltLength else {
            throw .unacceptableCrypto("the \(profile.sdesSuiteName) key must be \(profile.keyAndSaltLength) bytes")
        }
        do {
            return try SRTPMasterKey(profile: profile, keyAndSalt: bytes)
        } catch {
            throw .unacceptableCrypto("the \(profile.sdesSuiteName) key must be \(profile.keyAndSaltLength) bytes")
        }
    }

    /// The entries of this offer whose key is `key`: what a re-offer of the gateway's own
    /// carries for a stream whose suite and key are agreed (the outbound stream goes on).
    public func keeping(_ key: SRTPMasterKey) -> SDESOffer {
        let kept = entries.filter { $0.key == key }
        return kept.isEmpty ? self : SDESOffer(entries: kept)
    }

    /// The answer to a new stream the call centre offers (video it adds): its first `a=crypto`
    /// with a suite of this offer that is acceptable, answered with this offer's key for that
    /// suite. nil when the stream is not `RTP/SAVP` or has no acceptable crypto.
    public func answer(_ media: SDPMediaDescription) -> (crypto: SDPCrypto, keys: SRTPKeys)? {
        guard media.transportProtocol.matches(.rtpSAVP) else { return nil }
        for line in media.attributes.values(SDPCrypto.attributeName) {
            guard let crypto = try? SDPCrypto(attributeValue: line[...]),
                let entry = entries.first(where: { $0.key.profile.sdesSuiteName == crypto.suite }),
                let remote = try? Self.remoteKey(crypto, profile: entry.key.profile),
                let keys = try? SRTPKeys(profile: entry.key.profile, local: entry.key, remote: remote)
            else { continue }
            return (Self.crypto(tag: crypto.tag, key: entry.key), keys)
        }
        return nil
    }

    /// The answer to a re-offer from the call centre that keeps the call's SRTP: the first
    /// acceptable `a=crypto` of `media` with the suite in use. The gateway answers it with its
    /// own key unchanged (its outbound stream goes on); the call centre's key may be new.
    ///
    /// - Returns: the answer's `a=crypto` and the session keys, or nil when the re-offer is not
    ///   `RTP/SAVP` or has no acceptable crypto for the suite in use.
    public static func answerReoffer(_ media: SDPMediaDescription, current: SRTPKeys) -> (crypto: SDPCrypto, keys: SRTPKeys)? {
        guard media.transportProtocol.matches(.rtpSAVP) else { return nil }
        for line in media.attributes.values(SDPCrypto.attributeName) {
            guard let crypto = try? SDPCrypto(attributeValue: line[...]), crypto.suite == current.profile.sdesSuiteName,
                let remote = try? remoteKey(crypto, profile: current.profile),
                let keys = try? SRTPKeys(profile: current.profile, local: current.local, remote: remote)
            else { continue }
            return (Self.crypto(tag: crypto.tag, key: current.local), keys)
        }
        return nil
    }
}
