import Testing

@testable import SIP

/// The byte-class table against the character lists of RFC 3261 §25.1 it encodes.
@Suite("SIP byte classes")
struct SIPByteClassTests {
    /// The table derived from the grammar, as the literal in `SIPBytes` must read.
    static func derived() -> [UInt16] {
        var table = [UInt16](repeating: 0, count: 256)
        func add(_ characters: String, _ cls: SIPByteClass) {
            for byte in characters.utf8 { table[Int(byte)] |= cls.rawValue }
        }
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] |= SIPByteClass.alpha.rawValue }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] |= SIPByteClass.alpha.rawValue }
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") {
            table[Int(byte)] |= SIPByteClass.digit.rawValue | SIPByteClass.hex.rawValue
        }
        add("abcdefABCDEF", .hex)
        let alphanumBits = SIPByteClass.alphanum.rawValue
        for index in 0..<256 where table[index] & alphanumBits != 0 {
            table[index] |= SIPByteClass.token.rawValue | SIPByteClass.unreserved.rawValue
                | SIPByteClass.word.rawValue | SIPByteClass.uric.rawValue | SIPByteClass.scheme.rawValue
                | SIPByteClass.hostname.rawValue
        }
        add("-.!%*_+`'~", .token)  // token
        add("-_.!~*'()", .unreserved)  // mark
        add("&=+$,;?/", .userUnreserved)  // user-unreserved
        add("&=+$,", .passwordExtra)  // password
        add("[]/:&+$", .paramUnreserved)  // param-unreserved
        add("[]/?:+$", .hnvUnreserved)  // hnv-unreserved
        add("-.!%*_+`'~()<>:\\\"/[]?{}", .word)  // word
        add(";/?:@&=+$,-_.!~*'()%", .uric)  // reserved / unreserved / escaped
        add("+-.", .scheme)  // scheme
        add("-.", .hostname)  // hostname, IPv4address
        return table
    }

    @Test("the literal table is the one the grammar gives, byte for byte")
    func tableMatchesGrammar() {
        let derived = Self.derived()
        #expect(SIPBytes.table.count == 256)
        for byte in 0..<256 {
            #expect(SIPBytes.table[byte] == derived[byte], "byte 0x\(String(byte, radix: 16))")
        }
    }

    @Test("spot checks of the classes")
    func spotChecks() {
        #expect(SIPBytes.isMember(UInt8(ascii: "a"), .token))
        #expect(SIPBytes.isMember(UInt8(ascii: "~"), .token))
        #expect(!SIPBytes.isMember(UInt8(ascii: "@"), .token))
        #expect(SIPBytes.isMember(UInt8(ascii: "@"), .uric))
        #expect(SIPBytes.isMember(UInt8(ascii: "{"), .word))
        #expect(!SIPBytes.isMember(0x80, .word))
        #expect(SIPBytes.isMember(UInt8(ascii: "F"), .hex) && !SIPBytes.isMember(UInt8(ascii: "G"), .hex))
    }
}
