/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`
/// (RFC 8866 §6.6).
public struct SDPRTPMap: SDPAttributeValue, Hashable {
    public static let attributeName = "rtpmap"

    /// 0...127.
    public var payloadType: UInt8
    /// The media subtype as written, such as `opus`, `PCMU`, `telephone-event`.
    public var encodingName: String
    public var clockRate: UInt32
    /// For audio, the channel count; absent means one channel.
    public var encodingParameters: String?

    public init(payloadType: UInt8, encodingName: String, clockRate: UInt32, encodingParameters: String? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.encodingParameters = encodingParameters
    }

    /// The audio channel count: the encoding parameters as a number, or 1 when absent.
    public var channels: UInt8? {
        guard let encodingParameters else { return 1 }
        return SDPGrammar.decimal(encodingParameters, as: UInt8.self)
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(attributeValue)
        guard fields.count == 2, let payloadType = SDPGrammar.decimal(fields[0], as: UInt8.self), payloadType <= 127
        else {
            throw .invalidAttribute(Self.attributeName)
        }
        let parts = fields[1].split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3,
            SDPGrammar.isToken(parts[0]),
            let clockRate = SDPGrammar.decimal(parts[1], as: UInt32.self), clockRate > 0
        else {
            throw .invalidAttribute(Self.attributeName)
        }
        if parts.count == 3 {
            guard SDPGrammar.isToken(parts[2]) else { throw .invalidAttribute(Self.attributeName) }
            self.encodingParameters = String(parts[2])
        } else {
            self.encodingParameters = nil
        }
        self.payloadType = payloadType
        self.encodingName = String(parts[0])
        self.clockRate = clockRate
    }

    public var attributeValue: String {
        var result = "\(payloadType) \(encodingName)/\(clockRate)"
        if let encodingParameters {
            result += "/\(encodingParameters)"
        }
        return result
    }
}

/// `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15).
public struct SDPFormatParameters: SDPAttributeValue, Hashable {
    public static let attributeName = "fmtp"

    /// The format the parameters apply to; for RTP, a payload type number.
    public var format: String
    /// The parameters exactly as written, such as `minptime=10;useinbandfec=1` or `0-16`.
    public var parameters: String

    public init(format: String, parameters: String) {
        self.format = format
        self.parameters = parameters
    }

    public init(payloadType: UInt8, parameters: String) {
        self.init(format: String(payloadType), parameters: parameters)
    }

    /// The format as an RTP payload type, if it is one.
    public var payloadType: UInt8? {
        SDPGrammar.decimal(format, as: UInt8.self).flatMap { $0 <= 127 ? $0 : nil }
    }

    /// The `;`-separated `key=value` parameters, in order, with surrounding spaces removed.
    /// Keys without `=` (such as the `0-16` event list of telephone-event) have a nil value.
    public var parameterList: [(key: String, value: String?)] {
        parameters.split(separator: ";").compactMap { item in
            let trimmed = SDPGrammar.trimmingSpaces(item)
            guard !trimmed.isEmpty else { return nil }
            let (key, value) = SDPGrammar.splitOnce(trimmed, at: "=")
            return (String(key), value.map(String.init))
        }
    }

    /// The value of one `key=value` parameter; keys compare case-insensitively, as media type
    /// parameter names do.
    public func value(forKey key: String) -> String? {
        parameterList.first { SDPGrammar.equalsIgnoringCase($0.key, key) }?.value ?? nil
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let (format, rest) = SDPGrammar.splitOnce(attributeValue, at: " ")
        guard SDPGrammar.isToken(format) else { throw .invalidAttribute(Self.attributeName) }
        self.format = String(format)
        self.parameters = rest.map(String.init) ?? ""
    }

    public var attributeValue: String {
        parameters.isEmpty ? format : "\(format) \(parameters)"
    }
}
