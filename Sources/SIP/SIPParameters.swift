/// One `name[=value]` parameter of a URI or header field value.
public struct SIPParameter: Sendable, Hashable {
    /// The name as written.
    public var name: String
    /// The value as written (a quoted value keeps its quotes); nil for a valueless parameter.
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

/// An ordered list of parameters with case-insensitive lookup by name.
public struct SIPParameters: Sendable, Hashable, RandomAccessCollection, ExpressibleByArrayLiteral, CustomStringConvertible {
    public private(set) var elements: [SIPParameter]

    public init() { elements = [] }

    public init(_ elements: [SIPParameter]) { self.elements = elements }

    public init(arrayLiteral elements: (String, String?)...) {
        self.elements = elements.map { SIPParameter(name: $0.0, value: $0.1) }
    }

    public var startIndex: Int { elements.startIndex }
    public var endIndex: Int { elements.endIndex }
    public subscript(position: Int) -> SIPParameter { elements[position] }

    /// The first parameter with this name (case-insensitive), if any.
    public subscript(name: String) -> SIPParameter? {
        firstIndex(named: name).map { elements[$0] }
    }

    /// Whether a parameter with this name (case-insensitive) is present.
    public func contains(_ name: String) -> Bool { firstIndex(named: name) != nil }

    /// The value of the first parameter with this name; nil if absent or valueless.
    public func value(for name: String) -> String? { self[name]?.value ?? nil }

    /// The value without surrounding quotes and with quoted-pairs resolved.
    public func unquotedValue(for name: String) -> String? {
        value(for: name).map(SIPQuoting.unquote)
    }

    /// Sets (replacing the first occurrence) or appends a parameter.
    public mutating func set(_ name: String, _ value: String? = nil) {
        if let index = firstIndex(named: name) {
            elements[index].value = value
        } else {
            elements.append(SIPParameter(name: name, value: value))
        }
    }

    /// Appends a parameter without looking for an existing one.
    public mutating func append(_ name: String, _ value: String? = nil) {
        elements.append(SIPParameter(name: name, value: value))
    }

    /// Removes every parameter with this name.
    public mutating func remove(_ name: String) {
        elements.removeAll { Self.equalNames($0.name, name) }
    }

    /// `;name=value;flag` as it appears on the wire.
    public var description: String {
        var output = ""
        for element in elements {
            output += ";"
            output += element.name
            if let value = element.value {
                output += "="
                output += value
            }
        }
        return output
    }

    func firstIndex(named name: String) -> Int? {
        elements.firstIndex { Self.equalNames($0.name, name) }
    }

    static func equalNames(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.utf8, right = rhs.utf8
        guard left.count == right.count else { return false }
        return zip(left, right).allSatisfy { SIPBytes.lowercased($0) == SIPBytes.lowercased($1) }
    }
}

enum SIPQuoting {
    /// Removes the quotes of a `quoted-string` and resolves quoted-pairs; other text is returned
    /// unchanged.
    static func unquote(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.first == SIPBytes.quote, bytes.last == SIPBytes.quote else { return text }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 1
        while index < bytes.count - 1 {
            if bytes[index] == SIPBytes.backslash, index + 1 < bytes.count - 1 {
                output.append(bytes[index + 1])
                index += 2
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Encloses text in quotes, escaping `"` and `\` and the control characters quoted-pair
    /// allows. CR and LF cannot be carried and become spaces.
    static func quote(_ text: String) -> String {
        var output: [UInt8] = [SIPBytes.quote]
        output.reserveCapacity(text.utf8.count + 2)
        for byte in text.utf8 {
            switch byte {
            case SIPBytes.cr, SIPBytes.lf:
                output.append(SIPBytes.space)
            case SIPBytes.quote, SIPBytes.backslash, 0x00...0x08, 0x0B, 0x0C, 0x0E...0x1F, 0x7F:
                output.append(SIPBytes.backslash)
                output.append(byte)
            default:
                output.append(byte)
            }
        }
        output.append(SIPBytes.quote)
        return String(decoding: output, as: UTF8.self)
    }
}

extension SIPScanner {
    /// `*( SEMI generic-param )`, with `gen-value = token / host / quoted-string`.
    /// Stops before anything that is not a `;`.
    mutating func scanGenericParameters() throws(SIPParseError) -> SIPParameters {
        var parameters = SIPParameters()
        while true {
            let mark = index
            skipWhitespace()
            guard consume(SIPBytes.semicolon) else {
                index = mark
                return parameters
            }
            skipWhitespace()
            let name = scan(.token)
            guard !name.isEmpty else { throw error("empty parameter") }
            let afterName = index
            skipWhitespace()
            var value: String?
            if consume(SIPBytes.equals) {
                skipWhitespace()
                value = try scanGenericValue()
            } else {
                index = afterName
            }
            parameters.append(string(name), value)
        }
    }

    mutating func scanGenericValue() throws(SIPParseError) -> String {
        guard let first = peek() else { throw error("missing parameter value") }
        if first == SIPBytes.quote {
            guard let range = scanQuotedString() else { throw error("unterminated quoted string") }
            return string(range)
        }
        if first == SIPBytes.leftBracket {
            let start = index
            while index < end, bytes[index] != SIPBytes.rightBracket { index += 1 }
            guard consume(SIPBytes.rightBracket), SIPGrammar.isHost(slice(start..<index)) else {
                throw error("invalid IPv6 reference")
            }
            return string(start..<index)
        }
        let range = scan(.token)
        guard !range.isEmpty else { throw error("missing parameter value") }
        return string(range)
    }
}
