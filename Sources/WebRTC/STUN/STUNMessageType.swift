/// The class of a STUN message (RFC 8489 §5): request, indication, success or error response.
public enum STUNMessageClass: UInt8, Sendable, Hashable, CaseIterable {
    /// Asks for a response.
    case request = 0b00
    /// Needs no response (a keepalive).
    case indication = 0b01
    /// Answers a request successfully.
    case successResponse = 0b10
    /// Answers a request with ERROR-CODE.
    case errorResponse = 0b11
}

/// A STUN method: the 12-bit number that says what a message does (RFC 8489 §18.2).
public struct STUNMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The method number, 0x000–0xFFF.
    public let rawValue: UInt16

    /// A method from its number; only the low 12 bits are kept.
    public init(rawValue: UInt16) {
        self.rawValue = rawValue & 0x0FFF
    }

    /// Binding (0x001), the only method ICE uses.
    public static let binding = STUNMethod(rawValue: 0x001)

    /// `Binding`, or the method number in hex.
    public var description: String {
        self == .binding ? "Binding" : "method 0x" + String(rawValue, radix: 16)
    }
}

/// The message type of a STUN header: a method and a class, interleaved in 14 bits.
public struct STUNMessageType: Sendable, Hashable, CustomStringConvertible {
    /// What the message does.
    public var method: STUNMethod
    /// Request, indication, success or error response.
    public var messageClass: STUNMessageClass

    /// A message type from its method and class.
    public init(method: STUNMethod, messageClass: STUNMessageClass) {
        self.method = method
        self.messageClass = messageClass
    }

    /// The type of a header field value; nil when one of the two top bits is set.
    @inlinable
    public init?(rawValue: UInt16) {
        guard rawValue & 0xC000 == 0 else { return nil }
        let method = (rawValue & 0x000F) | ((rawValue & 0x00E0) >> 1) | ((rawValue & 0x3E00) >> 2)
        let classBits = ((rawValue & 0x0010) >> 4) | ((rawValue & 0x0100) >> 7)
        self.method = STUNMethod(rawValue: method)
        self.messageClass = STUNMessageClass(rawValue: UInt8(classBits)) ?? .request
    }

    /// The 16-bit header field value.
    @inlinable
    public var rawValue: UInt16 {
        let m = method.rawValue
        let c = UInt16(messageClass.rawValue)
        return (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 0b01) << 4) | ((c & 0b10) << 7)
    }

    /// Binding request.
    public static let bindingRequest = STUNMessageType(method: .binding, messageClass: .request)
    /// Binding indication (a keepalive).
    public static let bindingIndication = STUNMessageType(method: .binding, messageClass: .indication)
    /// Binding success response.
    public static let bindingSuccess = STUNMessageType(method: .binding, messageClass: .successResponse)
    /// Binding error response.
    public static let bindingError = STUNMessageType(method: .binding, messageClass: .errorResponse)

    /// The method and class, for logs.
    public var description: String { "\(method) \(messageClass)" }
}
