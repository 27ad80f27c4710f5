/// Small lexical helpers shared by the SDP field and attribute parsers (RFC 8866 §9 grammar).
enum SDPGrammar {
    /// Parses an unsigned decimal number made only of ASCII digits (no sign, no spaces),
    /// returning nil on anything else or on overflow.
    static func decimal<Number: FixedWidthInteger & UnsignedInteger>(
        _ text: Substring,
        as type: Number.Type = Number.self
    ) -> Number? {
        guard !text.isEmpty else { return nil }
        var result: Number = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (multiplied, overflowA) = result.multipliedReportingOverflow(by: 10)
            let (added, overflowB) = multiplied.addingReportingOverflow(Number(byte - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            result = added
        }
        return result
    }

    static func decimal<Number: FixedWidthInteger & UnsignedInteger>(
        _ text: String,
        as type: Number.Type = Number.self
    ) -> Number? {
        decimal(text[...], as: type)
    }

    /// The space-separated fields of a value. Runs of spaces count as one separator, which
    /// tolerates sloppy generators without changing the meaning of any well-formed line.
    static func fields(_ text: Substring) -> [Substring] {
        text.split(separator: " ", omittingEmptySubsequences: true)
    }

    /// RFC 8866 `token-char`.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21, 0x23...0x27, 0x2A...0x2B, 0x2D...0x2E, 0x30...0x39, 0x41...0x5A, 0x5E...0x7E:
            return true
        default:
            return false
        }
    }

    /// A non-empty RFC 8866 `token`.
    static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenCharacter)
    }

    /// Non-empty, printable, no spaces: what SDP calls a `non-ws-string` restricted to visible
    /// characters (identifiers such as mid, msid or hostnames).
    static func isVisibleString(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F }
    }

    /// RFC 8839 `ice-char`: ALPHA / DIGIT / "+" / "/".
    static func isICECharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    static func isICEString(_ text: Substring, maximumLength: Int) -> Bool {
        !text.isEmpty && text.utf8.count <= maximumLength && text.utf8.allSatisfy(isICECharacter)
    }

    /// Splits `text` once at the first occurrence of `separator`.
    static func splitOnce(_ text: Substring, at separator: Character) -> (Substring, Substring?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (text[..<index], text[text.index(after: index)...])
    }

    /// `text` without leading and trailing spaces and tabs.
    static func trimmingSpaces(_ text: Substring) -> Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }),
            let last = text.lastIndex(where: { !isBlank($0) })
        else {
            return text[text.endIndex...]
        }
        return text[first...last]
    }

    /// ASCII case-insensitive equality, for protocol names and encoding names.
    static func equalsIgnoringCase(_ lhs: some StringProtocol, _ rhs: some StringProtocol) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        return zip(lhs.utf8, rhs.utf8).allSatisfy { lowercased($0) == lowercased($1) }
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte + 32 : byte
    }
}
