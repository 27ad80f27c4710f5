/// Why an offer could not be answered, or an offer could not be built.
public enum SDPNegotiationError: Error, Hashable, Sendable {
    /// No offered media description could be accepted: no codec, media type or transport in
    /// common. SIP answers this with `488 Not Acceptable Here`.
    case noCodecInCommon
    /// An offer was requested for a media type with no local codecs.
    case noLocalCodecs(SDPMediaType)
    /// More codecs than free dynamic payload types.
    case payloadTypesExhausted
}

/// The local transport of one answered media description: where this side receives, and the
/// transport attributes that go with it (ICE credentials and candidates, DTLS fingerprint and
/// setup role, SDES crypto, and the sending track's `msid`/`ssrc`).
public struct SDPMediaTransport: Hashable, Sendable {
    public var port: UInt16
    /// A media-level `c=`, when it differs from the session-level one.
    public var connection: SDPConnection?
    public var attributes: SDPAttributeList

    public init(port: UInt16, connection: SDPConnection? = nil, attributes: SDPAttributeList = []) {
        self.port = port
        self.connection = connection
        self.attributes = attributes
    }
}

/// The outcome of answering an offer (RFC 3264 §6) with local capabilities: one decision per
/// offered media description, in the offer's order, from which
/// ``makeAnswer(origin:connection:sessionName:sessionAttributes:transport:)`` builds the answer.
///
/// - Codecs: the intersection of offered and local codecs, under the offer's payload type
///   numbers, in the offer's order unless ``SDPLocalCapabilities/codecOrder`` says otherwise.
///   telephone-event is kept when its clock rate matches an accepted codec.
/// - Direction: the offered direction reversed and limited by the local one (sendonly →
///   recvonly, recvonly → sendonly, inactive → inactive). `c=0.0.0.0` without ICE counts as
///   the offerer not receiving (RFC 2543 hold).
/// - Rejection: a disabled (port 0) offered stream, an unsupported media type or transport,
///   or no codec in common gives port 0 in the answer, keeping every `m=` line in place.
/// - BUNDLE: the answer's group lists the accepted offered tags, in the offer's order; bundled
///   media share the transport of the first of them.
public struct SDPNegotiation: Hashable, Sendable {
    /// Why a media description is rejected in the answer.
    public enum Rejection: Hashable, Sendable {
        /// The offer has port 0 for it.
        case disabledByOfferer
        case unsupportedMediaType
        case unsupportedTransport
        case noCodecInCommon
    }

    /// The decision for one offered media description.
    public struct Media: Hashable, Sendable {
        /// Position of the `m=` line in the offer (and the answer).
        public var index: Int
        public var media: SDPMediaType
        public var transportProtocol: SDPTransportProtocol
        /// The offered `a=mid`.
        public var mid: String?
        /// nil when accepted.
        public var rejection: Rejection?
        /// The accepted formats under the offer's payload type numbers: codecs first, then
        /// supplementary formats such as telephone-event.
        public var formats: [SDPPayloadFormat]
        /// The offerer's direction after taking `c=0.0.0.0` hold into account.
        public var offeredDirection: SDPDirection
        /// The direction written in the answer.
        public var direction: SDPDirection
        /// Where the offerer receives this media.
        public var remoteConnection: SDPConnection?
        public var remotePort: UInt16
        public var rtcpFeedback: [SDPRTCPFeedback]
        public var extensionMaps: [SDPExtensionMap]
        public var isRTCPMultiplexed: Bool
        public var isReducedSizeRTCP: Bool
        public var packetTime: UInt32?
        /// Whether the media is in the answer's BUNDLE group.
        public var isBundled: Bool

        public var isAccepted: Bool { rejection == nil }

        /// The format to send: the first accepted codec that is not supplementary.
        public var primaryFormat: SDPPayloadFormat? {
            formats.first { !$0.codec.isSupplementary }
        }

        /// The accepted telephone-event format, if any.
        public var telephoneEventFormat: SDPPayloadFormat? {
            formats.first { $0.codec.isTelephoneEvent }
        }

        /// Whether the offerer put this stream on hold (it no longer wants to receive).
        public var isHeldByOfferer: Bool { offeredDirection.isHold }
    }

    public var media: [Media]
    /// The BUNDLE group for the answer, if the offer had one and any of its media is accepted.
    public var bundleGroup: SDPGroup?
    /// The offered formats per media description, echoed on rejected `m=` lines.
    private var offeredFormats: [[String]]

    /// The accepted media descriptions.
    public var acceptedMedia: [Media] { media.filter(\.isAccepted) }

    /// Negotiates `offer` against `capabilities`.
    ///
    /// - Throws: ``SDPNegotiationError/noCodecInCommon`` when the offer has active media but
    ///   none of it can be accepted.
    public init(offer: SDPSessionDescription, capabilities: SDPLocalCapabilities) throws(SDPNegotiationError) {
        let offeredBundle = capabilities.supportsBundle ? offer.attributes.bundleGroup : nil
        var decisions: [Media] = []
        decisions.reserveCapacity(offer.media.count)
        for (index, description) in offer.media.enumerated() {
            decisions.append(Self.negotiate(description, at: index, in: offer, bundle: offeredBundle, capabilities))
        }
        let hasActiveOffer = decisions.contains { $0.rejection != .disabledByOfferer }
        if hasActiveOffer, !decisions.contains(where: \.isAccepted) {
            throw .noCodecInCommon
        }
        var bundleGroup: SDPGroup?
        if let offeredBundle {
            let tags = offeredBundle.identificationTags.filter { tag in
                decisions.contains { $0.isAccepted && $0.mid == tag }
            }
            if !tags.isEmpty {
                bundleGroup = SDPGroup(semantics: SDPGroup.bundle, identificationTags: tags)
                for index in decisions.indices where decisions[index].isAccepted {
                    if let mid = decisions[index].mid, tags.contains(mid) {
                        decisions[index].isBundled = true
                    }
                }
            }
        }
        self.media = decisions
        self.bundleGroup = bundleGroup
        self.offeredFormats = offer.media.map(\.formats)
    }

    private static func negotiate(
        _ offered: SDPMediaDescription,
        at index: Int,
        in offer: SDPSessionDescription,
        bundle: SDPGroup?,
        _ capabilities: SDPLocalCapabilities
    ) -> Media {
        let offeredDirection = offered.effectiveDirection(in: offer)
        let mid = offered.attributes.mid
        var decision = Media(
            index: index,
            media: offered.media,
            transportProtocol: offered.transportProtocol,
            mid: mid,
            rejection: nil,
            formats: [],
            offeredDirection: offeredDirection,
            direction: .inactive,
            remoteConnection: offered.effectiveConnection(in: offer),
            remotePort: offered.port,
            rtcpFeedback: [],
            extensionMaps: [],
            isRTCPMultiplexed: false,
            isReducedSizeRTCP: false,
            packetTime: nil,
            isBundled: false
        )

        // RFC 9143 §7.2: a bundle-only stream has port 0 but is not disabled.
        let isBundleOnly =
            offered.attributes.contains("bundle-only") && mid.map { bundle?.identificationTags.contains($0) ?? false }
            ?? false
        if offered.isDisabled, !isBundleOnly {
            decision.rejection = .disabledByOfferer
            return decision
        }
        let localCodecs = capabilities.codecs(for: offered.media)
        guard !localCodecs.isEmpty else {
            decision.rejection = .unsupportedMediaType
            return decision
        }
        guard offered.transportProtocol.isRTP, capabilities.supports(offered.transportProtocol) else {
            decision.rejection = .unsupportedTransport
            return decision
        }

        let formats = acceptedFormats(offered.payloadFormats, local: localCodecs, media: offered.media, capabilities)
        guard !formats.isEmpty else {
            decision.rejection = .noCodecInCommon
            return decision
        }
        decision.formats = formats
        decision.direction = offeredDirection.answer(local: capabilities.direction)
        decision.isRTCPMultiplexed = capabilities.supportsRTCPMultiplexing && offered.attributes.isRTCPMultiplexed
        decision.isReducedSizeRTCP = capabilities.supportsReducedSizeRTCP && offered.attributes.isReducedSizeRTCP
        decision.packetTime = offered.media == .audio ? capabilities.packetTime : nil

        let acceptedTypes = Set(formats.map(\.payloadType))
        var feedback: [SDPRTCPFeedback] = []
        for entry in offered.attributes.rtcpFeedback where capabilities.rtcpFeedback.contains(entry.feedback) {
            switch entry.payloadType {
            case .all:
                feedback.append(entry)
            case .payloadType(let payloadType) where acceptedTypes.contains(payloadType):
                feedback.append(entry)
            case .payloadType:
                break
            }
        }
        decision.rtcpFeedback = feedback
        decision.extensionMaps = offered.attributes.extensionMaps.compactMap { map in
            guard capabilities.headerExtensions.contains(map.uri) else { return nil }
            return SDPExtensionMap(id: map.id, direction: map.direction?.reversed, uri: map.uri)
        }
        return decision
    }

    /// The answer's formats: common codecs (ordered and capped as configured), then the
    /// supplementary formats that fit them.
    private static func acceptedFormats(
        _ offered: [SDPPayloadFormat],
        local: [SDPCodec],
        media: SDPMediaType,
        _ capabilities: SDPLocalCapabilities
    ) -> [SDPPayloadFormat] {
        func answerCodec(offered: SDPCodec, local: SDPCodec) -> SDPCodec {
            var codec = offered
            codec.formatParameters = local.formatParameters ?? offered.formatParameters
            return codec
        }

        var primaries: [(format: SDPPayloadFormat, rank: Int)] = []
        for format in offered where !format.codec.isSupplementary {
            guard let rank = local.firstIndex(where: { !$0.isSupplementary && $0.matches(format.codec) }) else {
                continue
            }
            let codec = answerCodec(offered: format.codec, local: local[rank])
            primaries.append((SDPPayloadFormat(payloadType: format.payloadType, codec: codec), rank))
        }
        if capabilities.codecOrder == .local {
            // Stable: equal ranks keep the offer's order.
            primaries = primaries.enumerated()
                .sorted { ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset) }
                .map(\.element)
        }
        if let limit = capabilities.maximumCodecsPerMedia {
            primaries = Array(primaries.prefix(Swift.max(limit, 0)))
        }
        guard !primaries.isEmpty else { return [] }

        var result = primaries.map(\.format)
        let clockRates = Set(result.map(\.codec.clockRate))
        let primaryTypes = Set(result.map(\.payloadType))
        let supplementaryCandidates = media == .audio ? capabilities.telephoneEvents + local : local
        for format in offered where format.codec.isSupplementary {
            let localCodec = supplementaryCandidates.first { $0.isSupplementary && $0.matches(format.codec) }
            guard let localCodec else {
                continue
            }
            let codec = format.codec
            let fits: Bool
            if codec.isTelephoneEvent || codec.isNamed("CN") {
                fits = clockRates.contains(codec.clockRate)
            } else if codec.isNamed("rtx") || codec.isNamed("red") {
                // rtx names its codec with apt=<pt>; red lists its redundant payload types.
                let parameters = SDPFormatParameters(
                    format: String(format.payloadType),
                    parameters: codec.formatParameters ?? ""
                )
                let referenced =
                    codec.isNamed("rtx")
                    ? parameters.value(forKey: "apt")
                    : codec.formatParameters?.split(separator: "/").first.map(String.init)
                fits = referenced.flatMap { SDPGrammar.decimal($0, as: UInt8.self) }.map(primaryTypes.contains) ?? false
            } else {
                fits = true
            }
            if fits {
                let keepOffered = codec.isNamed("rtx") || codec.isNamed("red")
                result.append(
                    SDPPayloadFormat(
                        payloadType: format.payloadType,
                        codec: keepOffered ? codec : answerCodec(offered: codec, local: localCodec)
                    )
                )
            }
        }
        return result
    }

    /// Builds the answer.
    ///
    /// - Parameters:
    ///   - origin: this side's `o=`; increment its version for every new answer in a dialog.
    ///   - connection: the session-level `c=`, where this side receives media.
    ///   - sessionAttributes: extra session-level attributes (`ice-lite`, a session-level
    ///     `fingerprint`, `msid-semantic`), written after the BUNDLE group.
    ///   - transport: called for each accepted media description, in order, for its port and
    ///     transport attributes. Bundled media after the first use the first one's port.
    public func makeAnswer(
        origin: SDPOrigin,
        connection: SDPConnection,
        sessionName: String = "-",
        sessionAttributes: SDPAttributeList = [],
        transport: (Media) -> SDPMediaTransport
    ) -> SDPSessionDescription {
        var attributes = SDPAttributeList()
        if let bundleGroup {
            attributes.append(bundleGroup)
        }
        attributes.append(contentsOf: sessionAttributes)

        var bundlePort: UInt16?
        var descriptions: [SDPMediaDescription] = []
        descriptions.reserveCapacity(media.count)
        for decision in media {
            guard decision.isAccepted else {
                descriptions.append(rejectedDescription(decision))
                continue
            }
            let local = transport(decision)
            var port = local.port
            if decision.isBundled {
                if let bundlePort {
                    port = bundlePort
                } else {
                    bundlePort = port
                }
            }
            descriptions.append(acceptedDescription(decision, port: port, transport: local))
        }
        return SDPSessionDescription(
            origin: origin,
            sessionName: sessionName,
            connection: connection,
            attributes: attributes,
            media: descriptions
        )
    }

    private func rejectedDescription(_ decision: Media) -> SDPMediaDescription {
        var attributes = SDPAttributeList()
        if let mid = decision.mid {
            attributes.append(name: "mid", value: mid)
        }
        return SDPMediaDescription(
            media: decision.media,
            port: 0,
            transportProtocol: decision.transportProtocol,
            formats: offeredFormats[decision.index],
            attributes: attributes
        )
    }

    private func acceptedDescription(
        _ decision: Media,
        port: UInt16,
        transport: SDPMediaTransport
    ) -> SDPMediaDescription {
        var attributes = SDPAttributeList()
        if let mid = decision.mid {
            attributes.append(name: "mid", value: mid)
        }
        attributes.append(contentsOf: transport.attributes)
        for map in decision.extensionMaps {
            attributes.append(map)
        }
        if decision.isRTCPMultiplexed {
            attributes.append(name: "rtcp-mux")
        }
        if decision.isReducedSizeRTCP {
            attributes.append(name: "rtcp-rsize")
        }
        for format in decision.formats {
            attributes.append(format.codec.rtpMap(payloadType: format.payloadType))
            for entry in decision.rtcpFeedback where entry.payloadType == .payloadType(format.payloadType) {
                attributes.append(entry)
            }
            if let parameters = format.codec.formatParameters, !parameters.isEmpty {
                attributes.append(SDPFormatParameters(payloadType: format.payloadType, parameters: parameters))
            }
        }
        for entry in decision.rtcpFeedback where entry.payloadType == .all {
            attributes.append(entry)
        }
        if let packetTime = decision.packetTime {
            attributes.append(name: "ptime", value: String(packetTime))
        }
        attributes.append(name: decision.direction.rawValue)
        return SDPMediaDescription(
            media: decision.media,
            port: port,
            transportProtocol: decision.transportProtocol,
            formats: decision.formats.map { String($0.payloadType) },
            connections: transport.connection.map { [$0] } ?? [],
            attributes: attributes
        )
    }
}
