/// Character classes of the RFC 3261 grammar, as a 256-entry lookup table.
struct SIPByteClass: OptionSet {
    let rawValue: UInt16

    static let alpha = SIPByteClass(rawValue: 1 << 0)
    static let digit = SIPByteClass(rawValue: 1 << 1)
    static let hex = SIPByteClass(rawValue: 1 << 2)
    /// `token` (RFC 3261 §25.1).
    static let token = SIPByteClass(rawValue: 1 << 3)
    /// `unreserved` = alphanum / mark.
    static let unreserved = SIPByteClass(rawValue: 1 << 4)
    /// `user-unreserved`.
    static let userUnreserved = SIPByteClass(rawValue: 1 << 5)
    /// The extra characters of `password`.
    static let passwordExtra = SIPByteClass(rawValue: 1 << 6)
    /// `param-unreserved`.
    static let paramUnreserved = SIPByteClass(rawValue: 1 << 7)
    /// `hnv-unreserved`.
    static let hnvUnreserved = SIPByteClass(rawValue: 1 << 8)
    /// `word` (Call-ID).
    static let word = SIPByteClass(rawValue: 1 << 9)
    /// `reserved` / `unreserved` / `%` (the characters of `absoluteURI`).
    static let uric = SIPByteClass(rawValue: 1 << 10)
    /// The characters of a URI scheme after its first letter.
    static let scheme = SIPByteClass(rawValue: 1 << 11)
    /// The characters of a hostname or IPv4 address.
    static let hostname = SIPByteClass(rawValue: 1 << 12)

    static let alphanum: SIPByteClass = [.alpha, .digit]
}

enum SIPBytes {
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let quote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let comma: UInt8 = 0x2C
    static let equals: UInt8 = 0x3D
    static let slash: UInt8 = 0x2F
    static let at: UInt8 = 0x40
    static let percent: UInt8 = 0x25
    static let lessThan: UInt8 = 0x3C
    static let greaterThan: UInt8 = 0x3E
    static let leftBracket: UInt8 = 0x5B
    static let rightBracket: UInt8 = 0x5D
    static let question: UInt8 = 0x3F
    static let ampersand: UInt8 = 0x26
    static let dot: UInt8 = 0x2E
    static let star: UInt8 = 0x2A
    static let dash: UInt8 = 0x2D

    /// The classes of each byte. A literal, so that the optimiser emits it as static data and a
    /// lookup is one load (a computed global is reached through `swift_once` on every access);
    /// `SIPByteClassTests` derives it again from the grammar's character lists.
    static let table: [UInt16] = [
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0x00
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0x10
        0x0000, 0x0618, 0x0200, 0x0000, 0x05E0, 0x0608, 0x04E0, 0x0618, 0x0610, 0x0610, 0x0618, 0x0FE8, 0x0460, 0x1E18, 0x1E18, 0x07A0,  // 0x20
        0x1E1E, 0x1E1E, 0x1E1E, 0x1E1E, 0x1E1E, 0x1E1E, 0x1E1E, 0x1E1E, 0x1E1E, 0x1E1E, 0x0780, 0x0420, 0x0200, 0x0460, 0x0200, 0x0720,  // 0x30
        0x0400, 0x1E1D, 0x1E1D, 0x1E1D, 0x1E1D, 0x1E1D, 0x1E1D, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19,  // 0x40
        0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x0380, 0x0200, 0x0380, 0x0000, 0x0618,  // 0x50
        0x0208, 0x1E1D, 0x1E1D, 0x1E1D, 0x1E1D, 0x1E1D, 0x1E1D, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19,  // 0x60
        0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x1E19, 0x0200, 0x0000, 0x0200, 0x0618, 0x0000,  // 0x70
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0x80
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0x90
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0xA0
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0xB0
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0xC0
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0xD0
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0xE0
        0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  // 0xF0
    ]

    @inline(__always)
    static func isMember(_ byte: UInt8, _ cls: SIPByteClass) -> Bool {
        table[Int(byte)] & cls.rawValue != 0
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
    }

    static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)
}

/// A cursor over UTF-8 bytes with the small set of moves the SIP grammar needs.
struct SIPScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    let end: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, start: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.index = start
        self.end = end ?? bytes.count
    }

    var isAtEnd: Bool { index >= end }

    @inline(__always)
    func peek() -> UInt8? { index < end ? bytes[index] : nil }

    @inline(__always)
    func peek(offset: Int) -> UInt8? { index + offset < end ? bytes[index + offset] : nil }

    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        if index < end, bytes[index] == byte {
            index += 1
            return true
        }
        return false
    }

    @discardableResult
    mutating func skipWhitespace() -> Bool {
        let start = index
        while index < end, SIPBytes.isWhitespace(bytes[index]) { index += 1 }
        return index > start
    }

    mutating func scan(_ cls: SIPByteClass) -> Range<Int> {
        let start = index
        while index < end, SIPBytes.isMember(bytes[index], cls) { index += 1 }
        return start..<index
    }

    /// Scans characters of `cls` and `%` HEX HEX escapes; fails on a broken escape.
    mutating func scanEscaped(_ cls: SIPByteClass) -> Range<Int>? {
        let start = index
        while index < end {
            let byte = bytes[index]
            if byte == SIPBytes.percent {
                guard let high = peek(offset: 1), SIPBytes.hexValue(high) != nil,
                      let low = peek(offset: 2), SIPBytes.hexValue(low) != nil
                else { return nil }
                index += 3
            } else if SIPBytes.isMember(byte, cls) {
                index += 1
            } else {
                break
            }
        }
        return start..<index
    }

    /// Scans a `quoted-string` including its quotes. Returns nil when it is unterminated or
    /// contains a character `qdtext` and `quoted-pair` do not allow.
    mutating func scanQuotedString() -> Range<Int>? {
        let start = index
        guard consume(SIPBytes.quote) else { return nil }
        while index < end {
            let byte = bytes[index]
            switch byte {
            case SIPBytes.quote:
                index += 1
                return start..<index
            case SIPBytes.backslash:
                guard let next = peek(offset: 1), next <= 0x7F, next != SIPBytes.cr, next != SIPBytes.lf else {
                    return nil
                }
                index += 2
            case SIPBytes.space, SIPBytes.tab, 0x21, 0x23...0x5B, 0x5D...0x7E, 0x80...0xFF:
                index += 1
            default:
                return nil
            }
        }
        return nil
    }

    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[range])
    }

    func error(_ detail: String) -> SIPParseError {
        SIPParseError(.malformedValue, detail)
    }
}

extension StringProtocol {
    /// Runs `body` over the UTF-8 bytes of the string, keeping the typed error.
    func withSIPBytes<T>(_ body: (UnsafeBufferPointer<UInt8>) throws(SIPParseError) -> T) throws(SIPParseError) -> T {
        var text = String(self)
        let result: Result<T, SIPParseError> = text.withUTF8 { buffer in
            Result { () throws(SIPParseError) -> T in try body(buffer) }
        }
        return try result.get()
    }
}

enum SIPGrammar {
    /// `IPv4address` with each octet at most 255.
    static func isIPv4(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var parts = 0
        var digits = 0
        var value = 0
        for byte in bytes {
            if byte == SIPBytes.dot {
                guard digits > 0 else { return false }
                parts += 1
                digits = 0
                value = 0
            } else if SIPBytes.isMember(byte, .digit) {
                digits += 1
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                guard digits <= 3, value <= 255 else { return false }
            } else {
                return false
            }
        }
        return parts == 3 && digits > 0
    }

    /// `hostname` = *( domainlabel "." ) toplabel [ "." ].
    static func isHostname(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        var end = bytes.count
        if bytes[end - 1] == SIPBytes.dot { end -= 1 }
        guard end > 0 else { return false }
        var labelStart = 0
        var index = 0
        var lastLabelStart = 0
        while index <= end {
            if index == end || bytes[index] == SIPBytes.dot {
                let length = index - labelStart
                guard length > 0, length <= 63 else { return false }
                let first = bytes[labelStart]
                let last = bytes[index - 1]
                guard SIPBytes.isMember(first, .alphanum), SIPBytes.isMember(last, .alphanum) else { return false }
                for position in labelStart..<index {
                    let byte = bytes[position]
                    guard SIPBytes.isMember(byte, .alphanum) || byte == SIPBytes.dash else { return false }
                }
                lastLabelStart = labelStart
                labelStart = index + 1
            }
            index += 1
        }
        return SIPBytes.isMember(bytes[lastLabelStart], .alpha)
    }

    /// `IPv6address` (RFC 3261 §25.1, which follows RFC 2373).
    static func isIPv6(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 2, bytes.count <= 45 else { return false }
        var groups = 0
        var sawDoubleColon = false
        var index = 0
        let count = bytes.count
        if bytes[0] == SIPBytes.colon {
            guard bytes[1] == SIPBytes.colon else { return false }
            sawDoubleColon = true
            index = 2
            if index == count { return true }
        }
        while index < count {
            // One group: hex4, or a trailing IPv4address.
            let groupStart = index
            while index < count, SIPBytes.isMember(bytes[index], .hex) { index += 1 }
            if index < count, bytes[index] == SIPBytes.dot {
                // Embedded IPv4 must be the last element.
                guard isIPv4(UnsafeBufferPointer(rebasing: bytes[groupStart..<count])) else { return false }
                groups += 2
                index = count
                break
            }
            let length = index - groupStart
            guard length >= 1, length <= 4 else { return false }
            groups += 1
            if index == count { break }
            guard bytes[index] == SIPBytes.colon else { return false }
            index += 1
            if index < count, bytes[index] == SIPBytes.colon {
                guard !sawDoubleColon else { return false }
                sawDoubleColon = true
                index += 1
                if index == count { break }
            } else if index == count {
                return false
            }
        }
        return sawDoubleColon ? groups <= 7 : groups == 8
    }

    /// `host` as it appears in URIs and Via: hostname, IPv4address or IPv6reference.
    static func isHost(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first else { return false }
        if first == SIPBytes.leftBracket {
            guard bytes.count > 2, bytes[bytes.count - 1] == SIPBytes.rightBracket else { return false }
            return isIPv6(UnsafeBufferPointer(rebasing: bytes[1..<(bytes.count - 1)]))
        }
        return isIPv4(bytes) || isHostname(bytes)
    }

    /// Parses `1*DIGIT` into an integer no larger than `limit`.
    static func decimal(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for byte in bytes {
            guard SIPBytes.isMember(byte, .digit) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            guard value <= limit else { return nil }
        }
        return value
    }

    /// Decodes `%HH` escapes. Returns nil for a broken escape or a result that is not UTF-8.
    static func unescape(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.contains(SIPBytes.percent) else {
            return String(validating: bytes, as: UTF8.self)
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == SIPBytes.percent {
                guard index + 2 < bytes.count,
                      let high = SIPBytes.hexValue(bytes[index + 1]),
                      let low = SIPBytes.hexValue(bytes[index + 2])
                else { return nil }
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(byte)
                index += 1
            }
        }
        return String(validating: decoded, as: UTF8.self)
    }

    /// Escapes every byte that is not in `allowed` as `%HH`.
    static func escape(_ text: String, allowed: SIPByteClass) -> String {
        var needsEscaping = false
        for byte in text.utf8 where !SIPBytes.isMember(byte, allowed) {
            needsEscaping = true
            break
        }
        guard needsEscaping else { return text }
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            if SIPBytes.isMember(byte, allowed) {
                output.append(byte)
            } else {
                output.append(SIPBytes.percent)
                output.append(SIPBytes.hexDigits[Int(byte >> 4)])
                output.append(SIPBytes.hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// True when every byte is a `token` character and there is at least one.
    static func isToken(_ text: some StringProtocol) -> Bool {
        var count = 0
        for byte in text.utf8 {
            guard SIPBytes.isMember(byte, .token) else { return false }
            count += 1
        }
        return count > 0
    }
}
