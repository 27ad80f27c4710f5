/// Writes XML-RPC documents: `<?xml version="1.0"?>`, UTF-8, no insignificant white space.
public enum XMLRPCEncoder {
    /// `<methodCall>` of `name` with `params`.
    public static func methodCall(_ name: String, params: [XMLRPCValue]) -> [UInt8] {
        var writer = Writer()
        writer.raw("<methodCall><methodName>")
        writer.text(name)
        writer.raw("</methodName><params>")
        for param in params {
            writer.raw("<param>")
            writer.value(param)
            writer.raw("</param>")
        }
        writer.raw("</params></methodCall>\n")
        return writer.bytes
    }

    /// A successful `<methodResponse>` carrying `value` as its single param.
    public static func response(_ value: XMLRPCValue) -> [UInt8] {
        var writer = Writer()
        writer.raw("<methodResponse><params><param>")
        writer.value(value)
        writer.raw("</param></params></methodResponse>\n")
        return writer.bytes
    }

    /// A `<methodResponse>` carrying `<fault>` with the struct `faultCode` (int), `faultString` (string).
    public static func fault(_ fault: XMLRPCFault) -> [UInt8] {
        var writer = Writer()
        writer.raw("<methodResponse><fault>")
        writer.value(.structure(XMLRPCStruct([("faultCode", .int(fault.code)), ("faultString", .string(fault.message))])))
        writer.raw("</fault></methodResponse>\n")
        return writer.bytes
    }

    /// One `<value>` element, for callers that assemble their own documents.
    public static func value(_ value: XMLRPCValue) -> [UInt8] {
        var writer = Writer(header: false)
        writer.value(value)
        return writer.bytes
    }

    /// The text of a `<double>`: plain decimal notation (no exponent), the shortest digits that
    /// read back to `value`. Non-finite values, which XML-RPC cannot carry, give `0.0`.
    public static func doubleText(_ value: Double) -> String {
        guard value.isFinite else { return "0.0" }
        let text = value.magnitude.description
        let sign = value.sign == .minus ? "-" : ""
        guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return sign + text }
        let mantissa = text[..<e]
        guard let exponent = Int(text[text.index(after: e)...]) else { return sign + text }
        let digits = Array(mantissa.filter { $0 != "." })
        let point = (mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count) + exponent
        if point <= 0 {
            return sign + "0." + String(repeating: "0", count: -point) + String(digits)
        } else if point >= digits.count {
            return sign + String(digits) + String(repeating: "0", count: point - digits.count) + ".0"
        } else {
            return sign + String(digits[..<point]) + "." + String(digits[point...])
        }
    }
}

struct Writer {
    var bytes: [UInt8] = []

    init(header: Bool = true) {
        bytes.reserveCapacity(256)
        if header { raw("<?xml version=\"1.0\"?>\n") }
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Character data: `&`, `<`, `>` escaped, CR as a character reference (the parser would
    /// turn a raw one into LF), characters XML 1.0 forbids replaced with U+FFFD.
    mutating func text(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            var index = 0
            let count = utf8.count
            while index < count {
                let byte = utf8[index]
                switch byte {
                case UInt8(ascii: "&"): raw("&amp;")
                case UInt8(ascii: "<"): raw("&lt;")
                case UInt8(ascii: ">"): raw("&gt;")
                case 0x0D: raw("&#13;")
                case 0x09, 0x0A: bytes.append(byte)
                case 0x00..<0x20: bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
                case 0xEF where index + 2 < count && utf8[index + 1] == 0xBF && (utf8[index + 2] == 0xBE || utf8[index + 2] == 0xBF):
                    bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    index += 2
                default: bytes.append(byte)
                }
                index += 1
            }
        }
    }

    mutating func ascii(_ string: String) {
        bytes.append(contentsOf: string.utf8)
    }

    mutating func value(_ value: XMLRPCValue) {
        raw("<value>")
        switch value {
        case .int(let int):
            if let small = Int32(exactly: int) {
                raw("<int>")
                ascii(String(small))
                raw("</int>")
            } else {
                raw("<i8>")
                ascii(String(int))
                raw("</i8>")
            }
        case .bool(let bool):
            bool ? raw("<boolean>1</boolean>") : raw("<boolean>0</boolean>")
        case .string(let string):
            raw("<string>")
            text(string)
            raw("</string>")
        case .double(let double):
            raw("<double>")
            ascii(XMLRPCEncoder.doubleText(double))
            raw("</double>")
        case .dateTime(let dateTime):
            raw("<dateTime.iso8601>")
            bytes.append(contentsOf: dateTime.iso8601Bytes)
            raw("</dateTime.iso8601>")
        case .base64(let data):
            raw("<base64>")
            Base64.encode(data, into: &bytes)
            raw("</base64>")
        case .array(let elements):
            raw("<array><data>")
            for element in elements { self.value(element) }
            raw("</data></array>")
        case .structure(let structure):
            raw("<struct>")
            for member in structure.members {
                raw("<member><name>")
                text(member.name)
                raw("</name>")
                self.value(member.value)
                raw("</member>")
            }
            raw("</struct>")
        case .nil:
            raw("<nil/>")
        }
        raw("</value>")
    }
}

enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode(_ data: [UInt8], into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (data.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= data.count {
            let chunk = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
            out.append(alphabet[Int(chunk >> 18 & 63)])
            out.append(alphabet[Int(chunk >> 12 & 63)])
            out.append(alphabet[Int(chunk >> 6 & 63)])
            out.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        switch data.count - index {
        case 1:
            let chunk = UInt32(data[index]) << 16
            out.append(alphabet[Int(chunk >> 18 & 63)])
            out.append(alphabet[Int(chunk >> 12 & 63)])
            out.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "=")])
        case 2:
            let chunk = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8
            out.append(alphabet[Int(chunk >> 18 & 63)])
            out.append(alphabet[Int(chunk >> 12 & 63)])
            out.append(alphabet[Int(chunk >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        default:
            break
        }
    }

    /// Decodes standard base64, skipping XML white space; padding optional, but when present
    /// it ends the text and completes the last group. Nil for anything else.
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var accumulator: UInt32 = 0
        var sextets = 0
        var padding = 0
        for byte in text {
            if isXMLSpace(byte) { continue }
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0 else { return nil }
            let value = reverse[Int(byte)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            sextets += 1
            if sextets == 4 {
                out.append(UInt8(truncatingIfNeeded: accumulator >> 16))
                out.append(UInt8(truncatingIfNeeded: accumulator >> 8))
                out.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator = 0
                sextets = 0
            }
        }
        switch sextets {
        case 0:
            guard padding == 0 else { return nil }
        case 2:
            guard padding == 0 || padding == 2 else { return nil }
            out.append(UInt8(truncatingIfNeeded: accumulator >> 4))
        case 3:
            guard padding == 0 || padding == 1 else { return nil }
            out.append(UInt8(truncatingIfNeeded: accumulator >> 10))
            out.append(UInt8(truncatingIfNeeded: accumulator >> 2))
        default:
            return nil
        }
        return out
    }
}
