/// `a=rtcp-fb:<payload type or *> <type> [<parameter>]` (RFC 4585 §4.2), such as
/// `96 nack pli`, `111 transport-cc` or `* ccm fir`.
public struct SDPRTCPFeedback: SDPAttributeValue, Hashable {
    public static let attributeName = "rtcp-fb"

    public enum PayloadType: Hashable, Sendable {
        /// `*`: every payload type of the media description.
        case all
        case payloadType(UInt8)
    }

    public var payloadType: PayloadType
    /// `ack`, `nack`, `trr-int`, `ccm`, `goog-remb`, `transport-cc`, ...
    public var type: String
    /// What follows the type, such as `pli` in `nack pli` or `fir` in `ccm fir`.
    public var parameter: String?

    public init(payloadType: PayloadType, type: String, parameter: String? = nil) {
        self.payloadType = payloadType
        self.type = type
        self.parameter = parameter
    }

    /// The feedback kind without the payload type: `nack pli`, `transport-cc`.
    public var feedback: String {
        if let parameter {
            return "\(type) \(parameter)"
        }
        return type
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let (format, rest) = SDPGrammar.splitOnce(attributeValue, at: " ")
        if format == "*" {
            self.payloadType = .all
        } else if let number = SDPGrammar.decimal(format, as: UInt8.self), number <= 127 {
            self.payloadType = .payloadType(number)
        } else {
            throw .invalidAttribute(Self.attributeName)
        }
        guard let rest else { throw .invalidAttribute(Self.attributeName) }
        let (type, parameter) = SDPGrammar.splitOnce(rest, at: " ")
        guard SDPGrammar.isToken(type) else { throw .invalidAttribute(Self.attributeName) }
        self.type = String(type)
        if let parameter {
            guard !parameter.isEmpty else { throw .invalidAttribute(Self.attributeName) }
            self.parameter = String(parameter)
        } else {
            self.parameter = nil
        }
    }

    public var attributeValue: String {
        let format: String
        switch payloadType {
        case .all: format = "*"
        case .payloadType(let number): format = String(number)
        }
        return "\(format) \(feedback)"
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605).
public struct SDPRTCPAddress: SDPAttributeValue, Hashable {
    public static let attributeName = "rtcp"

    public var port: UInt16
    public var connection: SDPConnection?

    public init(port: UInt16, connection: SDPConnection? = nil) {
        self.port = port
        self.connection = connection
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let (portText, rest) = SDPGrammar.splitOnce(attributeValue, at: " ")
        guard let port = SDPGrammar.decimal(portText, as: UInt16.self) else {
            throw .invalidAttribute(Self.attributeName)
        }
        self.port = port
        if let rest {
            do throws(SDPParseError) {
                self.connection = try SDPConnection(parsing: rest)
            } catch {
                throw .invalidAttribute(Self.attributeName)
            }
        } else {
            self.connection = nil
        }
    }

    public var attributeValue: String {
        if let connection {
            return "\(port) \(connection.fieldValue)"
        }
        return String(port)
    }
}
