/// An XML-RPC value (<http://xmlrpc.com/spec.md>), with the `nil` and `i8` extensions.
///
/// What the decoder accepts and the encoder writes for each case:
/// - `int`: reads `<int>`, `<i4>`, `<i8>` and `<ex:i8>` (any value in `Int`'s range, whichever
///   element); writes `<int>` when the value fits in 32 bits, `<i8>` otherwise.
/// - `bool`: `<boolean>` with `0` or `1`.
/// - `string`: `<string>`, or text directly inside `<value>` (no type element).
/// - `double`: `<double>` in decimal or exponent notation; NaN and infinities are rejected on
///   input and cannot be written (the encoder writes them as `0.0`). Written in plain decimal
///   notation with the shortest digits that read back to the same `Double`.
/// - `dateTime`: `<dateTime.iso8601>`, see ``XMLRPCDateTime``.
/// - `base64`: `<base64>`, whitespace inside tolerated.
/// - `array`, `structure`: `<array><data>` and `<struct>`, nested at most ``XMLRPCLimits/maxDepth`` deep.
/// - `nil`: `<nil/>` and `<ex:nil/>`.
///
/// Text is UTF-8. Characters XML 1.0 forbids (C0 controls other than tab, LF and CR, U+FFFE,
/// U+FFFF) cannot be carried: the encoder writes U+FFFD in their place; CR is written as `&#13;`
/// so it survives the parser's line-end normalisation.
public enum XMLRPCValue: Sendable, Equatable {
    case int(Int)
    case bool(Bool)
    case string(String)
    case double(Double)
    case dateTime(XMLRPCDateTime)
    case base64([UInt8])
    case array([XMLRPCValue])
    case structure(XMLRPCStruct)
    case `nil`
}

extension XMLRPCValue {
    public var intValue: Int? { if case .int(let value) = self { value } else { nil } }
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    public var doubleValue: Double? { if case .double(let value) = self { value } else { nil } }
    public var dateTimeValue: XMLRPCDateTime? { if case .dateTime(let value) = self { value } else { nil } }
    public var base64Value: [UInt8]? { if case .base64(let value) = self { value } else { nil } }
    public var arrayValue: [XMLRPCValue]? { if case .array(let value) = self { value } else { nil } }
    public var structValue: XMLRPCStruct? { if case .structure(let value) = self { value } else { nil } }
    public var isNil: Bool { if case .nil = self { true } else { false } }
}

extension XMLRPCValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: XMLRPCValue...) { self = .array(elements) }
}

/// An XML-RPC `<struct>`: members in document order.
///
/// Names are unique: the decoder faults (-32600) on a struct that repeats a member name, and
/// ``init(_:)`` and the subscript setter keep one member per name (a later value replaces the
/// earlier one in its place). `members` can still be assigned duplicates directly; the encoder
/// writes what is there. Equality compares the members in order.
public struct XMLRPCStruct: Sendable, Equatable {
    public var members: [(name: String, value: XMLRPCValue)]

    public init(_ members: [(String, XMLRPCValue)] = []) {
        self.members = []
        self.members.reserveCapacity(members.count)
        var positions: [String: Int] = [:]
        for (name, value) in members {
            if let position = positions[name] {
                self.members[position].value = value
            } else {
                positions[name] = self.members.count
                self.members.append((name: name, value: value))
            }
        }
    }

    /// The member called `name`; setting `nil` removes it, setting a value replaces the
    /// member's value in place or appends a new member.
    public subscript(name: String) -> XMLRPCValue? {
        get { members.first(where: { $0.name == name })?.value }
        set {
            guard let index = members.firstIndex(where: { $0.name == name }) else {
                if let newValue { members.append((name: name, value: newValue)) }
                return
            }
            if let newValue {
                members[index].value = newValue
                var later = index + 1
                while later < members.count {
                    if members[later].name == name { members.remove(at: later) } else { later += 1 }
                }
            } else {
                members.removeAll(where: { $0.name == name })
            }
        }
    }

    public var names: [String] { members.map(\.name) }
    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }

    public static func == (lhs: XMLRPCStruct, rhs: XMLRPCStruct) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (left, right) in zip(lhs.members, rhs.members) where left.name != right.name || left.value != right.value {
            return false
        }
        return true
    }
}

extension XMLRPCStruct: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, XMLRPCValue)...) { self.init(elements) }
}

/// An XML-RPC method call: `<methodCall>` with its `<methodName>` and `<params>`.
public struct XMLRPCMethodCall: Sendable, Equatable {
    public var methodName: String
    public var params: [XMLRPCValue]

    public init(methodName: String, params: [XMLRPCValue] = []) {
        self.methodName = methodName
        self.params = params
    }
}

/// An XML-RPC fault: what a `<fault>` carries, and what the decoder throws. The codes are the
/// usual "specification for fault code interoperability" ones; the decoder uses `parseError`
/// (not well-formed XML), `unsupportedEncoding`, `invalidCharacter` and `invalidRequest`
/// (well-formed but not XML-RPC, a DOCTYPE, or over a limit).
public struct XMLRPCFault: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    public static let parseError = -32700
    public static let unsupportedEncoding = -32701
    public static let invalidCharacter = -32702
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603

    public var description: String { "XML-RPC fault \(code): \(message)" }
}

/// Bounds on what the decoder accepts. A document over `maxDocumentBytes` is refused before it
/// is parsed; depth (nested arrays and structs), element count and the length of any one text
/// (string, name, base64, number) are checked while the tree is walked. All give -32600.
public struct XMLRPCLimits: Sendable {
    public var maxDocumentBytes = 1 << 20
    public var maxDepth = 32
    public var maxElements = 100_000
    public var maxStringBytes = 1 << 20

    public init() {}
}
