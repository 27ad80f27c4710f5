/// DNS messages (RFC 1035 §4), as far as locating SIP servers needs them (RFC 3263): queries for
/// one name and type, and responses with A, AAAA, CNAME and SRV (RFC 2782) records. Parsing is
/// bounds-checked throughout and rejects bad input with a ``DNSParseError``; it never traps.
public struct DNSMessage: Sendable, Hashable {
    public var id: UInt16
    public var isResponse: Bool
    public var isTruncated: Bool
    /// The response code (RFC 1035 §4.1.1): 0 no error, 2 server failure, 3 no such name.
    public var responseCode: UInt8
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    public var additionals: [DNSResourceRecord]

    public static let noError: UInt8 = 0
    public static let nameError: UInt8 = 3

    public init(
        id: UInt16, isResponse: Bool, isTruncated: Bool = false, responseCode: UInt8 = 0, questions: [DNSQuestion],
        answers: [DNSResourceRecord] = [], authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []
    ) {
        self.id = id
        self.isResponse = isResponse
        self.isTruncated = isTruncated
        self.responseCode = responseCode
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A recursive query (RD set) for one name and type, class IN.
    public static func query(id: UInt16, name: String, type: DNSRecordType) throws(DNSParseError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(18 + name.utf8.count)
        bytes.appendUInt16(id)
        bytes.appendUInt16(0x0100)  // standard query, recursion desired
        bytes.appendUInt16(1)
        bytes.appendUInt16(0)
        bytes.appendUInt16(0)
        bytes.appendUInt16(0)
        try DNSName.encode(name, into: &bytes)
        bytes.appendUInt16(type.rawValue)
        bytes.appendUInt16(DNSRecordClass.internet)
        return bytes
    }

    /// Parses a whole message.
    public init(parsing bytes: [UInt8]) throws(DNSParseError) {
        var reader = DNSReader(bytes)
        let id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        let questionCount = try reader.readUInt16()
        let answerCount = try reader.readUInt16()
        let authorityCount = try reader.readUInt16()
        let additionalCount = try reader.readUInt16()
        var questions: [DNSQuestion] = []
        for _ in 0..<questionCount {
            let name = try reader.readName()
            let type = try reader.readUInt16()
            let recordClass = try reader.readUInt16()
            questions.append(DNSQuestion(name: name, type: DNSRecordType(rawValue: type), recordClass: recordClass))
        }
        func records(_ count: UInt16) throws(DNSParseError) -> [DNSResourceRecord] {
            var result: [DNSResourceRecord] = []
            for _ in 0..<count { result.append(try reader.readRecord()) }
            return result
        }
        let answers = try records(answerCount)
        let authorities = try records(authorityCount)
        let additionals = try records(additionalCount)
        self.init(
            id: id, isResponse: flags & 0x8000 != 0, isTruncated: flags & 0x0200 != 0, responseCode: UInt8(flags & 0x000F),
            questions: questions, answers: answers, authorities: authorities, additionals: additionals
        )
    }
}

/// A record type; the ones this module reads have names, any other keeps its number.
public struct DNSRecordType: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let srv = DNSRecordType(rawValue: 33)

    public var description: String {
        switch rawValue {
        case 1: "A"
        case 5: "CNAME"
        case 28: "AAAA"
        case 33: "SRV"
        default: "TYPE\(rawValue)"
        }
    }
}

enum DNSRecordClass {
    static let internet: UInt16 = 1
}

public struct DNSQuestion: Sendable, Hashable {
    /// The name, lowercased, without the trailing dot.
    public var name: String
    public var type: DNSRecordType
    public var recordClass: UInt16

    public init(name: String, type: DNSRecordType, recordClass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

public struct DNSResourceRecord: Sendable, Hashable {
    /// The owner name, lowercased, without the trailing dot.
    public var name: String
    public var type: DNSRecordType
    public var recordClass: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: String, type: DNSRecordType, recordClass: UInt16 = 1, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }
}

public enum DNSRecordData: Sendable, Hashable {
    /// Four address bytes.
    case a([UInt8])
    /// Sixteen address bytes.
    case aaaa([UInt8])
    case cname(String)
    case srv(DNSServiceRecord)
    /// Any other type: the raw RDATA.
    case other([UInt8])
}

/// An SRV record's data (RFC 2782).
public struct DNSServiceRecord: Sendable, Hashable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    /// The target host, lowercased, without the trailing dot; "" (the root) means the service
    /// is not offered at this domain.
    public var target: String

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }

    /// The RFC 2782 order in which to try targets: ascending priority, and within a priority a
    /// weighted random order (zero weights first get the smallest chance). Records whose target
    /// is "." are dropped.
    public static func ordered(_ records: [DNSServiceRecord], using generator: inout some RandomNumberGenerator) -> [DNSServiceRecord] {
        let usable = records.filter { !$0.target.isEmpty }
        var result: [DNSServiceRecord] = []
        result.reserveCapacity(usable.count)
        for priority in Set(usable.map(\.priority)).sorted() {
            // Zero-weight records first, as RFC 2782 asks before the running-sum selection.
            var pool = usable.filter { $0.priority == priority }.sorted { ($0.weight == 0 ? 0 : 1) < ($1.weight == 0 ? 0 : 1) }
            while !pool.isEmpty {
                let total = pool.reduce(0) { $0 + Int($1.weight) }
                let pick = total == 0 ? 0 : Int.random(in: 0...total, using: &generator)
                var running = 0
                var chosen = pool.count - 1
                for (index, record) in pool.enumerated() {
                    running += Int(record.weight)
                    if running >= pick {
                        chosen = index
                        break
                    }
                }
                result.append(pool.remove(at: chosen))
            }
        }
        return result
    }
}

public struct DNSParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The message ends inside a field.
        case truncated
        /// A label is longer than 63 octets, or uses the reserved label types.
        case badLabel
        /// A name is longer than 255 octets, or compression pointers do not end.
        case badName
        /// RDATA does not match its type (an A record that is not 4 octets, ...).
        case badRecord
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "DNS \(code): \(detail)" }
}

enum DNSName {
    static let maximumLength = 255

    /// Writes `name` as labels; a trailing dot is allowed, empty labels (and so the root,
    /// which no query here asks for) are not.
    static func encode(_ name: String, into bytes: inout [UInt8]) throws(DNSParseError) {
        var text = Substring(name)
        if text.hasSuffix(".") { text = text.dropLast() }
        var length = 1
        for label in text.split(separator: ".", omittingEmptySubsequences: false) {
            let utf8 = Array(label.utf8)
            guard !utf8.isEmpty, utf8.count <= 63 else { throw DNSParseError(.badLabel, "a label must have 1 to 63 octets") }
            length += utf8.count + 1
            guard length <= maximumLength else { throw DNSParseError(.badName, "a name must not exceed 255 octets") }
            bytes.append(UInt8(utf8.count))
            bytes.append(contentsOf: utf8)
        }
        bytes.append(0)
    }
}

/// Bounds-checked reads over a message.
struct DNSReader {
    let bytes: [UInt8]
    var index: Int = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func readUInt8() throws(DNSParseError) -> UInt8 {
        guard index < bytes.count else { throw DNSParseError(.truncated, "message ends early") }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func readUInt16() throws(DNSParseError) -> UInt16 {
        let high = try readUInt8()
        let low = try readUInt8()
        return UInt16(high) << 8 | UInt16(low)
    }

    mutating func readUInt32() throws(DNSParseError) -> UInt32 {
        let high = try readUInt16()
        let low = try readUInt16()
        return UInt32(high) << 16 | UInt32(low)
    }

    mutating func readBytes(_ count: Int) throws(DNSParseError) -> [UInt8] {
        guard count >= 0, count <= bytes.count - index else { throw DNSParseError(.truncated, "message ends early") }
        defer { index += count }
        return Array(bytes[index..<index + count])
    }

    /// A possibly compressed name (RFC 1035 §4.1.4). Pointers must point backwards, which
    /// also rules out loops.
    mutating func readName() throws(DNSParseError) -> String {
        var labels: [String] = []
        var length = 1
        var position = index
        var resumeAt: Int?
        var lowestTarget = index
        while true {
            guard position < bytes.count else { throw DNSParseError(.truncated, "name ends early") }
            let byte = bytes[position]
            switch byte & 0xC0 {
            case 0x00:
                position += 1
                if byte == 0 {
                    index = resumeAt ?? position
                    return labels.joined(separator: ".")
                }
                let count = Int(byte)
                guard count <= bytes.count - position else { throw DNSParseError(.truncated, "label ends early") }
                length += count + 1
                guard length <= DNSName.maximumLength else { throw DNSParseError(.badName, "name longer than 255 octets") }
                labels.append(String(decoding: bytes[position..<position + count], as: UTF8.self).lowercased())
                position += count
            case 0xC0:
                guard position + 1 < bytes.count else { throw DNSParseError(.truncated, "pointer ends early") }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < lowestTarget else { throw DNSParseError(.badName, "compression pointer does not point backwards") }
                if resumeAt == nil { resumeAt = position + 2 }
                lowestTarget = target
                position = target
            default:
                throw DNSParseError(.badLabel, "reserved label type")
            }
        }
    }

    mutating func readRecord() throws(DNSParseError) -> DNSResourceRecord {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let recordClass = try readUInt16()
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        guard length <= bytes.count - index else { throw DNSParseError(.truncated, "RDATA ends early") }
        let end = index + length
        let data: DNSRecordData
        switch type {
        case .a:
            guard length == 4 else { throw DNSParseError(.badRecord, "an A record has 4 octets") }
            data = .a(try readBytes(4))
        case .aaaa:
            guard length == 16 else { throw DNSParseError(.badRecord, "an AAAA record has 16 octets") }
            data = .aaaa(try readBytes(16))
        case .cname:
            data = .cname(try readName())
        case .srv:
            guard length >= 7 else { throw DNSParseError(.badRecord, "an SRV record has at least 7 octets") }
            let priority = try readUInt16()
            let weight = try readUInt16()
            let port = try readUInt16()
            data = .srv(DNSServiceRecord(priority: priority, weight: weight, port: port, target: try readName()))
        default:
            data = .other(try readBytes(length))
        }
        guard index == end else { throw DNSParseError(.badRecord, "RDATA length does not match its content") }
        return DNSResourceRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
    }
}

extension [UInt8] {
    fileprivate mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }
}
