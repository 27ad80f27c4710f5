/// One header field: its name and its unfolded value.
public struct SIPHeaderField: Sendable, Hashable {
    public var name: SIPHeaderName
    /// The value with folding replaced by single spaces and outer whitespace removed.
    public private(set) var value: String

    /// CR and LF cannot occur in a value on the wire; they are replaced by spaces so a value
    /// can never inject a header line.
    public init(name: SIPHeaderName, value: String) {
        self.name = name
        self.value = Self.sanitized(value)
    }

    init(name: SIPHeaderName, validatedValue: String) {
        self.name = name
        self.value = validatedValue
    }

    static func sanitized(_ value: String) -> String {
        // Every field a message is built with passes here: scan its bytes in place rather than
        // through the view's generic iterator.
        let clean = value.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 == SIPBytes.cr || $0 == SIPBytes.lf }
        } ?? !value.utf8.contains { $0 == SIPBytes.cr || $0 == SIPBytes.lf }
        guard !clean else { return value }
        return String(decoding: value.utf8.map { $0 == SIPBytes.cr || $0 == SIPBytes.lf ? SIPBytes.space : $0 }, as: UTF8.self)
    }
}

/// The header fields of a message, in order. Lookups are case-insensitive and treat compact
/// forms as their long names; repeated fields stay separate entries.
public struct SIPHeaders: Sendable, Hashable, RandomAccessCollection, ExpressibleByArrayLiteral {
    public private(set) var fields: [SIPHeaderField]

    public init() { fields = [] }

    public init(_ fields: [SIPHeaderField]) { self.fields = fields }

    public init(arrayLiteral elements: (SIPHeaderName, String)...) {
        fields = elements.map { SIPHeaderField(name: $0.0, value: $0.1) }
    }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> SIPHeaderField { fields[position] }

    /// The value of the first field with this name.
    public subscript(name: SIPHeaderName) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// The values of every field with this name, in order (not split at commas).
    public func values(for name: SIPHeaderName) -> [String] {
        fields.compactMap { $0.name == name ? $0.value : nil }
    }

    public func contains(_ name: SIPHeaderName) -> Bool { fields.contains { $0.name == name } }

    /// Whether a comma-separated token list header (`Allow`, `Supported`...) names `token`, in any
    /// of its fields, compared case-insensitively (ASCII). No allocation per element.
    public func listContainsToken(_ name: SIPHeaderName, _ token: String) -> Bool {
        let wanted = Array(token.utf8)
        for field in fields where field.name == name {
            var utf8 = field.value.utf8[...]
            while !utf8.isEmpty {
                let end = utf8.firstIndex(of: UInt8(ascii: ",")) ?? utf8.endIndex
                var element = utf8[utf8.startIndex..<end]
                while let first = element.first, first == 0x20 || first == 0x09 { element.removeFirst() }
                while let last = element.last, last == 0x20 || last == 0x09 { element.removeLast() }
                if element.count == wanted.count, zip(element, wanted).allSatisfy({ Self.lowercased($0) == Self.lowercased($1) }) {
                    return true
                }
                utf8 = end == utf8.endIndex ? utf8[end...] : utf8[utf8.index(after: end)...]
            }
        }
        return false
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    public func count(of name: SIPHeaderName) -> Int { fields.reduce(0) { $1.name == name ? $0 + 1 : $0 } }

    /// The elements of a comma-separated list header across all its fields, e.g. every Via
    /// hop. Commas inside quoted strings and `<...>` do not split.
    public func listValues(for name: SIPHeaderName) throws(SIPParseError) -> [String] {
        var result: [String] = []
        for field in fields where field.name == name {
            do throws(SIPParseError) {
                result += try SIPHeaders.splitList(field.value)
            } catch {
                throw error.inHeader(name)
            }
        }
        return result
    }

    public mutating func add(_ name: SIPHeaderName, _ value: String) {
        fields.append(SIPHeaderField(name: name, value: value))
    }

    public mutating func insert(_ name: SIPHeaderName, _ value: String, at index: Int) {
        fields.insert(SIPHeaderField(name: name, value: value), at: Swift.max(0, Swift.min(index, fields.count)))
    }

    /// Replaces every field with this name by one field holding `value`, at the position of the
    /// first one (or at the end).
    public mutating func replace(_ name: SIPHeaderName, with value: String) {
        replace(name, with: [value])
    }

    /// Replaces every field with this name by one field per value, at the position of the first
    /// one (or at the end).
    public mutating func replace(_ name: SIPHeaderName, with values: [String]) {
        let position = fields.firstIndex { $0.name == name } ?? fields.count
        var kept = fields[..<position].filter { $0.name != name }
        let insertAt = kept.count
        kept += fields[position...].filter { $0.name != name }
        kept.insert(contentsOf: values.map { SIPHeaderField(name: name, value: $0) }, at: insertAt)
        fields = kept
    }

    public mutating func remove(_ name: SIPHeaderName) {
        fields.removeAll { $0.name == name }
    }

    mutating func append(validated field: SIPHeaderField) {
        fields.append(field)
    }

    /// Splits a list value at commas outside quoted strings and angle brackets. An empty value
    /// is an empty list; an empty element is an error.
    static func splitList(_ value: String) throws(SIPParseError) -> [String] {
        try value.withSIPBytes { (bytes) throws(SIPParseError) -> [String] in
            var elements: [String] = []
            var start = 0
            var index = 0
            var inQuotes = false
            var inAngle = false
            func emit(_ end: Int) throws(SIPParseError) {
                var lower = start, upper = end
                while lower < upper, SIPBytes.isWhitespace(bytes[lower]) { lower += 1 }
                while upper > lower, SIPBytes.isWhitespace(bytes[upper - 1]) { upper -= 1 }
                guard lower < upper else { throw SIPParseError(.malformedValue, "empty list element") }
                elements.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[lower..<upper]), as: UTF8.self))
            }
            while index < bytes.count {
                let byte = bytes[index]
                if inQuotes {
                    if byte == SIPBytes.backslash {
                        index += 1
                    } else if byte == SIPBytes.quote {
                        inQuotes = false
                    }
                } else if byte == SIPBytes.quote {
                    inQuotes = true
                } else if byte == SIPBytes.lessThan {
                    inAngle = true
                } else if byte == SIPBytes.greaterThan {
                    inAngle = false
                } else if byte == SIPBytes.comma, !inAngle {
                    try emit(index)
                    start = index + 1
                }
                index += 1
            }
            guard !inQuotes else { throw SIPParseError(.malformedValue, "unterminated quoted string") }
            if elements.isEmpty, bytes.allSatisfy(SIPBytes.isWhitespace) { return [] }
            try emit(bytes.count)
            return elements
        }
    }
}
