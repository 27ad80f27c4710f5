import Testing
@testable import SIP

@Suite("DNS messages (RFC 1035) and SRV ordering (RFC 2782)")
struct DNSMessageTests {
    /// A response to `_sip._udp.callcentre.test SRV` with two SRV answers (the second name
    /// compressed), and an A record for the first target in the additional section.
    static let srvResponse: [UInt8] = {
        var bytes: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 1]
        let question = bytes.count
        bytes += [4] + Array("_sip".utf8) + [4] + Array("_udp".utf8) + [10] + Array("CallCentre".utf8) + [4] + Array("test".utf8) + [0]
        bytes += [0, 33, 0, 1]
        // answer 1: pointer to the question name; priority 10, weight 60, port 5070, target a.callcentre.test
        bytes += [0xC0, UInt8(question), 0, 33, 0, 1, 0, 0, 0, 30]
        let target = bytes.count + 2 + 6
        bytes += [0, 6 + 2 + 2]  // rdlength: 6, the label "a", a pointer
        bytes += [0, 10, 0, 60, 0x13, 0xCE, 1, UInt8(ascii: "a"), 0xC0, UInt8(question + 10)]
        // answer 2: priority 20, weight 0, port 5080, target "." (root)
        bytes += [0xC0, UInt8(question), 0, 33, 0, 1, 0, 0, 0, 30, 0, 7, 0, 20, 0, 0, 0x13, 0xD8, 0]
        // additional: A for a.callcentre.test (pointer to the target name) = 127.0.0.1
        bytes += [0xC0, UInt8(target), 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 127, 0, 0, 1]
        return bytes
    }()

    @Test func queryEncodesNameTypeAndRecursionDesired() throws {
        let query = try DNSMessage.query(id: 0xBEEF, name: "_sip._tcp.example.com.", type: .srv)
        #expect(Array(query[0..<12]) == [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
        let parsed = try DNSMessage(parsing: query)
        #expect(parsed.id == 0xBEEF && !parsed.isResponse)
        #expect(parsed.questions == [DNSQuestion(name: "_sip._tcp.example.com", type: .srv)])
    }

    @Test(arguments: ["", "a..b", String(repeating: "x", count: 64) + ".test", Array(repeating: "abcdefghi", count: 26).joined(separator: ".")])
    func queryRejectsBadNames(name: String) {
        #expect(throws: DNSParseError.self) { try DNSMessage.query(id: 1, name: name, type: .a) }
    }

    @Test func parsesSRVAnswersWithCompressionAndAdditionalRecords() throws {
        let message = try DNSMessage(parsing: Self.srvResponse)
        #expect(message.id == 0x1234 && message.isResponse && !message.isTruncated && message.responseCode == 0)
        #expect(message.questions.first?.name == "_sip._udp.callcentre.test")
        #expect(message.answers.map(\.data) == [
            .srv(DNSServiceRecord(priority: 10, weight: 60, port: 5070, target: "a.callcentre.test")),
            .srv(DNSServiceRecord(priority: 20, weight: 0, port: 5080, target: "")),
        ])
        #expect(message.answers.first?.name == "_sip._udp.callcentre.test" && message.answers.first?.ttl == 30)
        #expect(message.additionals == [DNSResourceRecord(name: "a.callcentre.test", type: .a, ttl: 5, data: .a([127, 0, 0, 1]))])
    }

    @Test func everyTruncationIsATypedError() {
        for length in 0..<Self.srvResponse.count {
            #expect(throws: DNSParseError.self) { try DNSMessage(parsing: Array(Self.srvResponse.prefix(length))) }
        }
    }

    @Test func compressionLoopsAndForwardPointersAreRejected() {
        // The question name is a pointer to itself.
        let selfLoop: [UInt8] = [0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSParseError(.badName, "compression pointer does not point backwards")) { try DNSMessage(parsing: selfLoop) }
        // A pointer forward into the record that follows.
        let forward: [UInt8] = [0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 18, 0, 1, 0, 1, 1, 65, 0]
        #expect(throws: DNSParseError.self) { try DNSMessage(parsing: forward) }
        // Reserved label type 0b01.
        let reserved: [UInt8] = [0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0, 0, 1, 0, 1]
        #expect(throws: DNSParseError(.badLabel, "reserved label type")) { try DNSMessage(parsing: reserved) }
    }

    @Test func recordDataMustMatchItsType() {
        var header: [UInt8] = [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]
        header += [1, UInt8(ascii: "h"), 0]
        let shortA = header + [0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]
        #expect(throws: DNSParseError(.badRecord, "an A record has 4 octets")) { try DNSMessage(parsing: shortA) }
        let shortSRV = header + [0, 33, 0, 1, 0, 0, 0, 1, 0, 5, 0, 1, 0, 1, 0]
        #expect(throws: DNSParseError.self) { try DNSMessage(parsing: shortSRV) }
        // An SRV whose target runs past its RDLENGTH.
        let overlong = header + [0, 33, 0, 1, 0, 0, 0, 1, 0, 7, 0, 1, 0, 1, 0, 80, 1, UInt8(ascii: "x"), 0]
        #expect(throws: DNSParseError(.badRecord, "RDATA length does not match its content")) { try DNSMessage(parsing: overlong) }
        let aaaa = header + [0, 28, 0, 1, 0, 0, 0, 1, 0, 16] + Array(repeating: 0, count: 15) + [1]
        #expect((try? DNSMessage(parsing: aaaa))?.answers.first?.data == .aaaa(Array(repeating: 0, count: 15) + [1]))
    }

    @Test func randomBytesNeverTrap() {
        var generator = SeededGenerator(state: 42)
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...80, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.count > 12, Bool.random(using: &generator) { bytes.replaceSubrange(4..<8, with: [0, 1, 0, 3]) }
            _ = try? DNSMessage(parsing: bytes)
        }
        // And every single-byte corruption of a valid response.
        for position in Self.srvResponse.indices {
            for value: UInt8 in [0, 0x3F, 0x40, 0xC0, 0xFF] {
                var bytes = Self.srvResponse
                bytes[position] = value
                _ = try? DNSMessage(parsing: bytes)
            }
        }
    }

    @Test func srvOrderIsByPriorityThenWeight() {
        let records = [
            DNSServiceRecord(priority: 20, weight: 0, port: 1, target: "late"),
            DNSServiceRecord(priority: 10, weight: 90, port: 2, target: "heavy"),
            DNSServiceRecord(priority: 10, weight: 10, port: 3, target: "light"),
            DNSServiceRecord(priority: 5, weight: 0, port: 4, target: ""),
        ]
        var generator = SeededGenerator(state: 7)
        var heavyFirst = 0
        for _ in 0..<1_000 {
            let order = DNSServiceRecord.ordered(records, using: &generator)
            #expect(order.map(\.priority) == [10, 10, 20])
            #expect(Set(order.prefix(2).map(\.target)) == ["heavy", "light"])
            if order.first?.target == "heavy" { heavyFirst += 1 }
        }
        #expect((820...980).contains(heavyFirst), "weight 90 of 100 came first \(heavyFirst) times in 1000")
    }
}


