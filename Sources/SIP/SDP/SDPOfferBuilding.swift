extension SDPLocalCapabilities {
    /// A media description offering this side's codecs for `media` (RFC 3264 §5), numbered by
    /// ``assignPayloadTypes(to:)``. Audio also offers each telephone-event whose clock rate
    /// matches an offered codec.
    ///
    /// - Parameters:
    ///   - transportProtocol: defaults to the first of ``transportProtocols``.
    ///   - mid: written as `a=mid` when given.
    ///   - transportAttributes: ICE, DTLS or SDES attributes, written after `a=mid`.
    public func makeOfferMedia(
        _ media: SDPMediaType,
        port: UInt16,
        transportProtocol: SDPTransportProtocol? = nil,
        direction: SDPDirection? = nil,
        mid: String? = nil,
        transportAttributes: SDPAttributeList = []
    ) throws(SDPNegotiationError) -> SDPMediaDescription {
        var codecs = codecs(for: media)
        guard codecs.contains(where: { !$0.isSupplementary }) else { throw .noLocalCodecs(media) }
        if media == .audio {
            let clockRates = Set(codecs.filter { !$0.isSupplementary }.map(\.clockRate))
            codecs += telephoneEvents.filter { clockRates.contains($0.clockRate) }
        }
        let formats = try assignPayloadTypes(to: codecs)
        let transportProtocol = transportProtocol ?? transportProtocols.first ?? .rtpAVP

        var attributes = SDPAttributeList()
        if let mid {
            attributes.append(name: "mid", value: mid)
        }
        attributes.append(contentsOf: transportAttributes)
        for (index, uri) in headerExtensions.enumerated() where index < 14 {
            attributes.append(SDPExtensionMap(id: UInt16(index + 1), uri: uri))
        }
        if supportsRTCPMultiplexing {
            attributes.append(name: "rtcp-mux")
        }
        if supportsReducedSizeRTCP {
            attributes.append(name: "rtcp-rsize")
        }
        for format in formats {
            attributes.append(format.codec.rtpMap(payloadType: format.payloadType))
            if transportProtocol.hasFeedback, !format.codec.isSupplementary {
                for kind in rtcpFeedback {
                    let (type, parameter) = SDPGrammar.splitOnce(kind[...], at: " ")
                    attributes.append(
                        SDPRTCPFeedback(
                            payloadType: .payloadType(format.payloadType),
                            type: String(type),
                            parameter: parameter.map(String.init)
                        )
                    )
                }
            }
            if let parameters = format.codec.formatParameters, !parameters.isEmpty {
                attributes.append(SDPFormatParameters(payloadType: format.payloadType, parameters: parameters))
            }
        }
        if media == .audio, let packetTime {
            attributes.append(name: "ptime", value: String(packetTime))
        }
        attributes.append(name: (direction ?? self.direction).rawValue)
        return SDPMediaDescription(
            media: media,
            port: port,
            transportProtocol: transportProtocol,
            formats: formats.map { String($0.payloadType) },
            attributes: attributes
        )
    }
}

extension SDPSessionDescription {
    /// Increments the origin's session version, as every modified description in a dialog
    /// must (RFC 3264 §8).
    public mutating func incrementVersion() {
        origin.sessionVersion &+= 1
    }

    /// A re-offer of this (previously sent, local) description with a new version and every
    /// active stream set to `direction` (RFC 3264 §8.4): `.sendonly` to put the peer on hold,
    /// `.inactive` when both sides hold, `.sendrecv` to resume. Disabled streams stay as they
    /// are, and a session-level direction is replaced by the media-level ones.
    public func reoffer(direction: SDPDirection) -> SDPSessionDescription {
        var result = self
        result.incrementVersion()
        result.attributes.setDirection(nil)
        for index in result.media.indices where !result.media[index].isDisabled {
            result.media[index].attributes.setDirection(direction)
        }
        return result
    }
}
