/// Turns bytes into an ``SDPSessionDescription``: splits lines (CRLF or LF), enforces the
/// limits, validates characters and UTF-8, then parses each `<type>=<value>` line in the
/// context of the session or the current media description.
struct SDPSessionDescriptionParser {
    let limits: SDPParsingLimits

    private struct Line {
        var number: Int
        var type: Character
        var value: Substring
    }

    func parse(_ bytes: [UInt8]) throws(SDPParseError) -> SDPSessionDescription {
        guard bytes.count <= limits.maximumBytes else {
            throw SDPParseError(.inputTooLarge(limit: limits.maximumBytes))
        }
        let lines = try splitLines(bytes)
        guard let first = lines.first else { throw SDPParseError(.emptyInput) }
        guard first.type == "v" else { throw SDPParseError(.missingVersion, line: first.number) }
        guard first.value == "0" else { throw SDPParseError(.unsupportedVersion, line: first.number) }

        var builder = Builder()
        for line in lines.dropFirst() {
            do throws(SDPParseError) {
                try builder.consume(line.type, line.value, lineNumber: line.number, limits: limits)
            } catch {
                throw SDPParseError(error.kind, line: line.number)
            }
        }
        return try builder.finish()
    }

    /// Splits on LF, dropping one CR before it; checks sizes and characters; skips blank lines.
    private func splitLines(_ bytes: [UInt8]) throws(SDPParseError) -> [Line] {
        var lines: [Line] = []
        var start = 0
        var number = 0
        while start < bytes.count {
            number += 1
            guard number <= limits.maximumLines else {
                throw SDPParseError(.tooManyLines(limit: limits.maximumLines))
            }
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") {
                end += 1
            }
            let next = end + 1
            if end > start, bytes[end - 1] == UInt8(ascii: "\r") {
                end -= 1
            }
            defer { start = next }
            if end == start {
                continue
            }
            guard end - start <= limits.maximumLineLength else {
                throw SDPParseError(.lineTooLong(limit: limits.maximumLineLength), line: number)
            }
            let content = bytes[start..<end]
            // Text fields may hold any UTF-8 except NUL, CR and LF (RFC 8866 §9); other
            // control characters are never legitimate either, so reject them all but HTAB.
            for byte in content where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                throw SDPParseError(.invalidCharacter, line: number)
            }
            guard let text = String(validating: content, as: UTF8.self) else {
                throw SDPParseError(.invalidCharacter, line: number)
            }
            let utf8 = Array(text.utf8.prefix(2))
            guard utf8.count == 2, utf8[1] == UInt8(ascii: "="),
                utf8[0] >= UInt8(ascii: "a"), utf8[0] <= UInt8(ascii: "z")
            else {
                throw SDPParseError(.malformedLine, line: number)
            }
            let valueStart = text.utf8.index(text.startIndex, offsetBy: 2)
            lines.append(Line(number: number, type: Character(Unicode.Scalar(utf8[0])), value: text[valueStart...]))
        }
        return lines
    }

    /// Accumulates fields line by line.
    private struct Builder {
        var origin: SDPOrigin?
        var sessionName: String?
        var information: String?
        var uri: String?
        var emails: [String] = []
        var phoneNumbers: [String] = []
        var connection: SDPConnection?
        var bandwidths: [SDPBandwidth] = []
        var timing: [SDPTiming] = []
        var timeZoneAdjustments: [SDPTimeZoneAdjustment]?
        var encryptionKey: String?
        var attributes = SDPAttributeList()
        var media: [SDPMediaDescription] = []
        var mediaLineNumbers: [Int] = []

        mutating func consume(
            _ type: Character,
            _ value: Substring,
            lineNumber: Int,
            limits: SDPParsingLimits
        ) throws(SDPParseError) {
            if type == "m" {
                guard media.count < limits.maximumMediaDescriptions else {
                    throw SDPParseError(.tooManyMediaDescriptions(limit: limits.maximumMediaDescriptions))
                }
                media.append(try Self.parseMediaLine(value))
                mediaLineNumbers.append(lineNumber)
                return
            }
            if media.isEmpty {
                try consumeSessionLine(type, value)
            } else {
                try consumeMediaLine(type, value, into: &media[media.count - 1])
            }
        }

        private mutating func consumeSessionLine(_ type: Character, _ value: Substring) throws(SDPParseError) {
            switch type {
            case "v":
                throw SDPParseError(.duplicateField("v"))
            case "o":
                guard origin == nil else { throw SDPParseError(.duplicateField("o")) }
                origin = try SDPOrigin(parsing: value)
            case "s":
                guard sessionName == nil else { throw SDPParseError(.duplicateField("s")) }
                sessionName = String(value)
            case "i":
                guard information == nil else { throw SDPParseError(.duplicateField("i")) }
                information = String(value)
            case "u":
                guard uri == nil else { throw SDPParseError(.duplicateField("u")) }
                uri = String(value)
            case "e":
                emails.append(String(value))
            case "p":
                phoneNumbers.append(String(value))
            case "c":
                guard connection == nil else { throw SDPParseError(.duplicateField("c")) }
                connection = try SDPConnection(parsing: value)
            case "b":
                bandwidths.append(try SDPBandwidth(parsing: value))
            case "t":
                timing.append(try SDPTiming(parsing: value))
            case "r":
                guard !timing.isEmpty else { throw SDPParseError(.misplacedField("r")) }
                timing[timing.count - 1].repeats.append(try SDPRepeatTime(parsing: value))
            case "z":
                guard timeZoneAdjustments == nil else { throw SDPParseError(.duplicateField("z")) }
                timeZoneAdjustments = try SDPTimeZoneAdjustment.parseList(value)
            case "k":
                guard encryptionKey == nil else { throw SDPParseError(.duplicateField("k")) }
                encryptionKey = String(value)
            case "a":
                attributes.elements.append(try Self.parseAttribute(value))
            default:
                throw SDPParseError(.unknownLineType(type))
            }
        }

        private func consumeMediaLine(
            _ type: Character,
            _ value: Substring,
            into description: inout SDPMediaDescription
        ) throws(SDPParseError) {
            switch type {
            case "i":
                guard description.title == nil else { throw SDPParseError(.duplicateField("i")) }
                description.title = String(value)
            case "c":
                description.connections.append(try SDPConnection(parsing: value))
            case "b":
                description.bandwidths.append(try SDPBandwidth(parsing: value))
            case "k":
                guard description.encryptionKey == nil else { throw SDPParseError(.duplicateField("k")) }
                description.encryptionKey = String(value)
            case "a":
                description.attributes.elements.append(try Self.parseAttribute(value))
            case "v", "o", "s", "u", "e", "p", "t", "r", "z":
                throw SDPParseError(.misplacedField(type))
            default:
                throw SDPParseError(.unknownLineType(type))
            }
        }

        /// `<media> <port>[/<number of ports>] <proto> <fmt> ...`
        static func parseMediaLine(_ value: Substring) throws(SDPParseError) -> SDPMediaDescription {
            let fields = SDPGrammar.fields(value)
            guard fields.count >= 3, SDPGrammar.isToken(fields[0]) else {
                throw SDPParseError(.invalidMediaLine)
            }
            let (portText, countText) = SDPGrammar.splitOnce(fields[1], at: "/")
            guard let port = SDPGrammar.decimal(portText, as: UInt16.self) else {
                throw SDPParseError(.invalidPort)
            }
            var portCount: UInt16?
            if let countText {
                guard let count = SDPGrammar.decimal(countText, as: UInt16.self), count > 0 else {
                    throw SDPParseError(.invalidPort)
                }
                portCount = count
            }
            let proto = fields[2]
            guard proto.utf8.allSatisfy({ SDPGrammar.isTokenCharacter($0) || $0 == UInt8(ascii: "/") }) else {
                throw SDPParseError(.invalidMediaLine)
            }
            let transportProtocol = SDPTransportProtocol(rawValue: String(proto))
            let formats = fields.dropFirst(3)
            for format in formats {
                if transportProtocol.isRTP {
                    guard let payloadType = SDPGrammar.decimal(format, as: UInt8.self), payloadType <= 127 else {
                        throw SDPParseError(.invalidFormat)
                    }
                } else if !SDPGrammar.isVisibleString(format) {
                    throw SDPParseError(.invalidFormat)
                }
            }
            return SDPMediaDescription(
                media: SDPMediaType(rawValue: String(fields[0])),
                port: port,
                portCount: portCount,
                transportProtocol: transportProtocol,
                formats: formats.map(String.init)
            )
        }

        /// `<name>[:<value>]`, checking known attributes against their grammar.
        static func parseAttribute(_ text: Substring) throws(SDPParseError) -> SDPAttribute {
            let (name, value) = SDPGrammar.splitOnce(text, at: ":")
            let attribute = SDPAttribute(name: String(name), value: value.map(String.init))
            try SDPAttributeList.validate(attribute)
            return attribute
        }

        func finish() throws(SDPParseError) -> SDPSessionDescription {
            guard let origin else { throw SDPParseError(.missingField("o")) }
            guard let sessionName else { throw SDPParseError(.missingField("s")) }
            guard !timing.isEmpty else { throw SDPParseError(.missingField("t")) }
            // RFC 8866 §5.7: every media needs a connection, at session or media level. A
            // disabled stream is exempt, since many implementations omit it there.
            if connection == nil {
                for (index, description) in media.enumerated()
                where description.connections.isEmpty && !description.isDisabled {
                    throw SDPParseError(.missingField("c"), line: mediaLineNumbers[index])
                }
            }
            return SDPSessionDescription(
                origin: origin,
                sessionName: sessionName,
                information: information,
                uri: uri,
                emails: emails,
                phoneNumbers: phoneNumbers,
                connection: connection,
                bandwidths: bandwidths,
                timing: timing,
                timeZoneAdjustments: timeZoneAdjustments ?? [],
                encryptionKey: encryptionKey,
                attributes: attributes,
                media: media
            )
        }
    }
}
