import NIOCore
import Testing
@testable import WebRTC

@Suite("STUN messages: RFC 5769 vectors")
struct RFC5769Tests {
    let shortTermKey = STUNIntegrityKey.shortTerm(password: RFC5769.password)

    @Test func sampleRequest() throws {
        let bytes = RFC5769.sampleRequest
        #expect(bytes.count == 108)
        let message = try STUNMessage(parsing: bytes)
        #expect(message.type == .bindingRequest)
        #expect(message.transactionID == STUNTransactionID(bytes: RFC5769.transactionID))
        #expect(message.attributes.map(\.type) == [.software, .priority, .iceControlled, .username, .messageIntegrity, .fingerprint])
        #expect(message.software(in: bytes) == "STUN test client")
        #expect(message.username(in: bytes) == RFC5769.username)
        #expect(message.priority == 0x6e00_01ff)
        #expect(message.iceControlled == 0x932f_f9b1_5126_3b36)
        #expect(message.iceControlling == nil)
        #expect(!message.useCandidate)
        #expect(message.unknownComprehensionRequiredCount == 0)
        #expect(message.verifyMessageIntegrity(in: bytes, key: shortTermKey))
        #expect(!message.verifyMessageIntegrity(in: bytes, key: STUNIntegrityKey.shortTerm(password: "VOkJxbRl1RmTxUk/WvJxBr")))
        #expect(message.verifyFingerprint(in: bytes))
    }

    @Test func sampleRequestReencodes() throws {
        let encoded = try STUNMessageWriter.encode(type: .bindingRequest, transactionID: #require(STUNTransactionID(bytes: RFC5769.transactionID)), padding: 0x20) { writer throws(STUNEncodeError) in
            try writer.append(.software, text: "STUN test client")
            try writer.appendPriority(0x6e00_01ff)
            try writer.appendICEControlled(tiebreaker: 0x932f_f9b1_5126_3b36)
            try writer.append(.username, text: RFC5769.username)
            try writer.appendMessageIntegrity(key: shortTermKey)
            try writer.appendFingerprint()
        }
        #expect(encoded == RFC5769.sampleRequest)
    }

    @Test func ipv4Response() throws {
        let bytes = RFC5769.ipv4Response
        #expect(bytes.count == 80)
        let message = try STUNMessage(parsing: bytes)
        #expect(message.type == .bindingSuccess)
        #expect(message.software(in: bytes) == "test vector")
        #expect(message.xorMappedAddress == STUNTransportAddress(ipv4: 0xC000_0201, port: 32853))
        #expect(message.xorMappedAddress?.description == "192.0.2.1:32853")
        #expect(message.verifyMessageIntegrity(in: bytes, key: shortTermKey))
        #expect(message.verifyFingerprint(in: bytes))

        let address = try #require(message.xorMappedAddress)
        let encoded = try STUNMessageWriter.encode(type: message.type, transactionID: message.transactionID, padding: 0x20) { writer throws(STUNEncodeError) in
            try writer.append(.software, text: "test vector")
            try writer.appendXORMappedAddress(address)
            try writer.appendMessageIntegrity(key: shortTermKey)
            try writer.appendFingerprint()
        }
        #expect(encoded == bytes)
    }

    @Test func ipv6Response() throws {
        let bytes = RFC5769.ipv6Response
        #expect(bytes.count == 92)
        let message = try STUNMessage(parsing: bytes)
        #expect(message.type == .bindingSuccess)
        let expected = try #require(STUNTransportAddress(SocketAddress(ipAddress: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853)))
        #expect(message.xorMappedAddress == expected)
        #expect(message.xorMappedAddress?.description == "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
        #expect(try message.xorMappedAddress?.socketAddress() == SocketAddress(ipAddress: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853))
        #expect(message.verifyMessageIntegrity(in: bytes, key: shortTermKey))
        #expect(message.verifyFingerprint(in: bytes))

        let encoded = try STUNMessageWriter.encode(type: .bindingSuccess, transactionID: message.transactionID, padding: 0x20) { writer throws(STUNEncodeError) in
            try writer.append(.software, text: "test vector")
            try writer.appendXORMappedAddress(expected)
            try writer.appendMessageIntegrity(key: shortTermKey)
            try writer.appendFingerprint()
        }
        #expect(encoded == bytes)
    }

    @Test func longTermRequest() throws {
        let bytes = RFC5769.longTermRequest
        #expect(bytes.count == 116)
        let message = try STUNMessage(parsing: bytes)
        #expect(message.type == .bindingRequest)
        #expect(message.username(in: bytes) == RFC5769.longTermUsername)
        #expect(message.attributes.map(\.type) == [.username, .nonce, .realm, .messageIntegrity])
        let nonce = try #require(message.first(.nonce))
        #expect(STUNMessage.value(of: nonce, in: bytes) == Array(RFC5769.nonce.utf8))
        let realm = try #require(message.first(.realm))
        #expect(STUNMessage.value(of: realm, in: bytes) == Array(RFC5769.realm.utf8))
        let key = STUNIntegrityKey.longTerm(username: RFC5769.longTermUsername, realm: RFC5769.realm, password: RFC5769.longTermPassword)
        #expect(message.verifyMessageIntegrity(in: bytes, key: key))
        #expect(!message.verifyMessageIntegrity(in: bytes, key: STUNIntegrityKey.longTerm(username: RFC5769.longTermUsername, realm: RFC5769.realm, password: "TheMatrix")))
        #expect(message.fingerprint == nil)
        #expect(!message.verifyFingerprint(in: bytes))

        let encoded = try STUNMessageWriter.encode(type: .bindingRequest, transactionID: message.transactionID) { writer throws(STUNEncodeError) in
            try writer.append(.username, text: RFC5769.longTermUsername)
            try writer.append(.nonce, text: RFC5769.nonce)
            try writer.append(.realm, text: RFC5769.realm)
            try writer.appendMessageIntegrity(key: key)
        }
        #expect(encoded == bytes)
    }

    @Test(arguments: [RFC5769.sampleRequest, RFC5769.ipv4Response, RFC5769.ipv6Response])
    func anyFlippedBitBreaksTheFingerprint(bytes: [UInt8]) throws {
        let message = try STUNMessage(parsing: bytes)
        let fingerprintOffset = try #require(message.fingerprint).headerOffset
        // Every byte the CRC covers except the length field, which the parser checks itself.
        for index in 0..<fingerprintOffset where index != 2 && index != 3 {
            var tampered = bytes
            tampered[index] ^= 0x01
            guard let reparsed = try? STUNMessage(parsing: tampered) else { continue }
            #expect(!reparsed.verifyFingerprint(in: tampered), "byte \(index)")
            if index < (message.messageIntegrity?.headerOffset ?? 0) {
                #expect(!reparsed.verifyMessageIntegrity(in: tampered, key: shortTermKey), "byte \(index)")
            }
        }
    }
}

@Suite("STUN messages: parser and writer")
struct STUNMessageTests {
    static let transactionID = STUNTransactionID(high: 0x0102_0304, low: 0x0506_0708_090A_0B0C)

    /// A header followed by `body`, with the length field set to `length` (the body's by default).
    static func message(type: UInt16 = 0x0001, cookie: UInt32 = STUNMessage.magicCookie, length: Int? = nil, body: [UInt8] = []) -> [UInt8] {
        let length = length ?? body.count
        var bytes: [UInt8] = [UInt8(type >> 8), UInt8(type & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        bytes += [UInt8(cookie >> 24), UInt8(cookie >> 16 & 0xFF), UInt8(cookie >> 8 & 0xFF), UInt8(cookie & 0xFF)]
        bytes += transactionID.bytes
        return bytes + body
    }

    @Test func crc32CheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func messageTypeInterleaving() {
        #expect(STUNMessageType.bindingRequest.rawValue == 0x0001)
        #expect(STUNMessageType.bindingIndication.rawValue == 0x0011)
        #expect(STUNMessageType.bindingSuccess.rawValue == 0x0101)
        #expect(STUNMessageType.bindingError.rawValue == 0x0111)
        for raw in UInt16(0)...0x3FFF {
            #expect(STUNMessageType(rawValue: raw)?.rawValue == raw)
        }
        #expect(STUNMessageType(rawValue: 0x4001) == nil)
        #expect(STUNMessageType(rawValue: 0x8001) == nil)
        let allocate = STUNMessageType(method: STUNMethod(rawValue: 0x003), messageClass: .errorResponse)
        #expect(allocate.rawValue == 0x0113)
    }

    @Test func transactionIDBytes() {
        #expect(Self.transactionID.bytes == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        #expect(STUNTransactionID(bytes: Self.transactionID.bytes) == Self.transactionID)
        #expect(STUNTransactionID(bytes: [1, 2, 3]) == nil)
        #expect(STUNTransactionID.random() != STUNTransactionID.random())
    }

    @Test(arguments: [
        ([UInt8](), STUNParseError.truncatedHeader(count: 0)),
        (Array(message().prefix(19)), .truncatedHeader(count: 19)),
        (message(type: 0x4001), .reservedTypeBits),
        (message(type: 0x8001), .reservedTypeBits),
        (message(cookie: 0x2112_A443), .wrongMagicCookie(0x2112_A443)),
        (message(length: 2, body: [0, 0]), .lengthNotMultipleOfFour(2)),
        (message(length: 8, body: [0, 0x24, 0, 0]), .lengthMismatch(declared: 8, available: 4)),
        (message(length: 0, body: [0, 0x24, 0, 0]), .lengthMismatch(declared: 0, available: 4)),
        (message(body: [0, 0x24, 0, 8, 0, 0, 0, 0]), .truncatedAttribute(type: 0x0024, offset: 20)),
        (message(body: [0x80, 0x22, 0, 5, 0x61, 0x62, 0x63, 0x64]), .truncatedAttribute(type: 0x8022, offset: 20)),
        (message(body: [0x80, 0x28, 0, 4, 0, 0, 0, 0, 0x80, 0x22, 0, 0]), .attributeAfterFingerprint(offset: 28)),
        (message(body: [0, 0x24, 0, 2, 0, 0, 0, 0]), .invalidAttribute(.priority)),
        (message(body: [0, 0x25, 0, 4, 0, 0, 0, 0]), .invalidAttribute(.useCandidate)),
        (message(body: [0x80, 0x2A, 0, 4, 0, 0, 0, 0]), .invalidAttribute(.iceControlling)),
        (message(body: [0x80, 0x29, 0, 4, 0, 0, 0, 0]), .invalidAttribute(.iceControlled)),
        (message(body: [0, 0x20, 0, 8, 0, 3, 0, 0, 0, 0, 0, 0]), .invalidAttribute(.xorMappedAddress)),
        (message(body: [0, 0x20, 0, 8, 0, 2, 0, 0, 0, 0, 0, 0]), .invalidAttribute(.xorMappedAddress)),
        (message(body: [0, 0x09, 0, 4, 0, 0, 7, 1]), .invalidAttribute(.errorCode)),
        (message(body: [0, 0x09, 0, 4, 0, 0, 4, 100]), .invalidAttribute(.errorCode)),
        (message(body: [0, 0x08, 0, 4, 0, 0, 0, 0]), .invalidAttribute(.messageIntegrity)),
        (message(body: [0, 0x1C, 0, 4, 0, 0, 0, 0]), .invalidAttribute(.messageIntegritySHA256)),
        (message(body: [0x80, 0x28, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]), .invalidAttribute(.fingerprint)),
    ])
    func rejects(bytes: [UInt8], error: STUNParseError) {
        #expect(throws: error) { try STUNMessage(parsing: bytes) }
    }

    @Test func emptyMessageParses() throws {
        let message = try STUNMessage(parsing: Self.message(type: 0x0011))
        #expect(message.type == .bindingIndication)
        #expect(message.transactionID == Self.transactionID)
        #expect(message.attributes.isEmpty)
        #expect(message.length == 20)
    }

    @Test func unknownAttributesAreReportedWhenComprehensionRequired() throws {
        let body: [UInt8] = [0x00, 0x7F, 0, 1, 0xAA, 0, 0, 0, 0xC0, 0x57, 0, 4, 1, 2, 3, 4, 0x00, 0x7F, 0, 0, 0x00, 0x33, 0, 0]
        let message = try STUNMessage(parsing: Self.message(body: body))
        #expect(message.unknownComprehensionRequiredCount == 3)
        #expect(message.unknownComprehensionRequiredAttributes == [STUNAttributeType(rawValue: 0x7F), STUNAttributeType(rawValue: 0x33)])
        #expect(message.attributes.count == 4)
        #expect(message.attributes[0].valueRange == 24..<25)
    }

    @Test func onlyFirstOccurrenceAndNothingAfterIntegrityIsDecoded() throws {
        let bytes = try STUNMessageWriter.encode(type: .bindingRequest, transactionID: Self.transactionID) { writer throws(STUNEncodeError) in
            try writer.appendPriority(1)
            try writer.appendPriority(2)
            try writer.appendMessageIntegrity(key: STUNIntegrityKey.shortTerm(password: "password"))
            try writer.appendICEControlled(tiebreaker: 7)
            try writer.appendUseCandidate()
            try writer.append(STUNAttributeType(rawValue: 0x0042), value: [1])
            try writer.appendFingerprint()
        }
        let message = try STUNMessage(parsing: bytes)
        #expect(message.priority == 1)
        #expect(message.iceControlled == nil)
        #expect(!message.useCandidate)
        #expect(message.unknownComprehensionRequiredCount == 0)
        #expect(message.attributes.count == 7)
        #expect(message.verifyMessageIntegrity(in: bytes, key: STUNIntegrityKey.shortTerm(password: "password")))
        #expect(message.verifyFingerprint(in: bytes))
    }

    @Test func writesAndReadsEveryTypedAttribute() throws {
        let key = STUNIntegrityKey.shortTerm(password: "a-password-of-22-chars")
        let v4 = STUNTransportAddress(ipv4: 0x0A00_0001, port: 5000)
        let bytes = try STUNMessageWriter.encode(type: .bindingError, transactionID: Self.transactionID) { writer throws(STUNEncodeError) in
            try writer.append(.username, text: "abcd:efgh")
            try writer.appendPriority(0x6E7F_00FF)
            try writer.appendUseCandidate()
            try writer.appendICEControlling(tiebreaker: 0x0102_0304_0506_0708)
            try writer.appendXORMappedAddress(v4)
            try writer.appendErrorCode(487, reason: "Role Conflict")
            try writer.appendUnknownAttributes([STUNAttributeType(rawValue: 0x7F)])
            try writer.append(.software, text: "Switchboard")
            try writer.appendMessageIntegrity(key: key)
            try writer.appendMessageIntegritySHA256(key: key)
            try writer.appendFingerprint()
        }
        #expect(bytes.count % 4 == 0)
        let message = try STUNMessage(parsing: bytes)
        #expect(message.type == .bindingError)
        #expect(message.username(in: bytes) == "abcd:efgh")
        #expect(message.priority == 0x6E7F_00FF)
        #expect(message.useCandidate)
        #expect(message.iceControlling == 0x0102_0304_0506_0708)
        #expect(message.xorMappedAddress == v4)
        #expect(message.errorCode?.code == 487)
        #expect(message.errorReason(in: bytes) == "Role Conflict")
        #expect(message.software(in: bytes) == "Switchboard")
        #expect(message.verifyMessageIntegrity(in: bytes, key: key))
        #expect(message.verifyMessageIntegritySHA256(in: bytes, key: key))
        #expect(!message.verifyMessageIntegritySHA256(in: bytes, key: STUNIntegrityKey.shortTerm(password: "another-password-22-ch")))
        #expect(message.verifyFingerprint(in: bytes))
        let unknown = try #require(message.first(.unknownAttributes))
        #expect(STUNMessage.value(of: unknown, in: bytes) == [0x00, 0x7F])
    }

    @Test func writerRejectsWhatDoesNotFit() throws {
        var storage = [UInt8](repeating: 0, count: 27)
        storage.withUnsafeMutableBytes { raw in
            #expect(throws: STUNEncodeError.bufferTooSmall) {
                _ = try STUNMessageWriter(buffer: UnsafeMutableRawBufferPointer(rebasing: raw[0..<19]), type: .bindingRequest, transactionID: Self.transactionID)
            }
            do {
                var writer = try STUNMessageWriter(buffer: raw, type: .bindingRequest, transactionID: Self.transactionID)
                #expect(throws: STUNEncodeError.bufferTooSmall) { try writer.appendPriority(1) }
                #expect(throws: STUNEncodeError.bufferTooSmall) { try writer.appendFingerprint() }
                try writer.appendUseCandidate()
                #expect(writer.count == 24)
                #expect(writer.bytes.count == 24)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        #expect(throws: STUNEncodeError.invalidValue(.errorCode)) {
            _ = try STUNMessageWriter.encode(type: .bindingError, transactionID: Self.transactionID) { writer throws(STUNEncodeError) in
                try writer.appendErrorCode(200, reason: "OK")
            }
        }
        #expect(throws: STUNEncodeError.valueTooLong) {
            _ = try STUNMessageWriter.encode(type: .bindingRequest, transactionID: Self.transactionID, capacity: 70_000) { writer throws(STUNEncodeError) in
                try writer.append(.software, value: [UInt8](repeating: 0x41, count: 65_536))
            }
        }
    }

    @Test func parseReusesOneMessage() throws {
        var message = STUNMessage()
        try RFC5769.sampleRequest.withUnsafeBytes { try message.parse($0) }
        #expect(message.attributes.count == 6)
        #expect(message.iceControlled != nil)
        try RFC5769.ipv4Response.withUnsafeBytes { try message.parse($0) }
        #expect(message.attributes.count == 4)
        #expect(message.iceControlled == nil)
        #expect(message.usernameRange == nil)
        #expect(message.xorMappedAddress != nil)
        #expect(throws: STUNParseError.reservedTypeBits) { try Self.message(type: 0xC001).withUnsafeBytes { try message.parse($0) } }
        #expect(message.attributes.isEmpty)
    }

    @Test func looksLikeSTUN() {
        #expect(RFC5769.sampleRequest.withUnsafeBytes { STUNMessage.looksLikeSTUN($0) })
        #expect(!Self.message(cookie: 0).withUnsafeBytes { STUNMessage.looksLikeSTUN($0) })
        #expect(![UInt8](repeating: 0, count: 12).withUnsafeBytes { STUNMessage.looksLikeSTUN($0) })
    }

    @Test func transportAddressFromSocketAddress() throws {
        let v4 = try #require(STUNTransportAddress(SocketAddress(ipAddress: "198.51.100.7", port: 61000)))
        #expect(v4.ipv4 == 0xC633_6407)
        #expect(v4.port == 61000)
        #expect(try v4.socketAddress() == SocketAddress(ipAddress: "198.51.100.7", port: 61000))
        let v6 = try #require(STUNTransportAddress(SocketAddress(ipAddress: "::1", port: 9)))
        #expect(v6.family == .ipv6)
        #expect(v6.high == 0 && v6.low == 1)
        #expect(v6.ipv4 == nil)
    }
}
