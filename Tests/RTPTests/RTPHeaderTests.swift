import Testing
@testable import RTP

@Suite("RTP header")
struct RTPHeaderTests {
    /// PCMU, marker, seq 0x1234, ts 0xDEADBEEF, SSRC 0x11223344, 4 payload bytes.
    static let plain: [UInt8] = hex("80 80 12 34 DE AD BE EF 11 22 33 44 01 02 03 04")

    @Test func parsesFixedHeader() throws {
        let header = try withBytes(Self.plain) { try RTPHeader(parsing: $0) }
        #expect(header.marker)
        #expect(header.payloadType == 0)
        #expect(header.sequenceNumber == 0x1234)
        #expect(header.timestamp == 0xDEAD_BEEF)
        #expect(header.ssrc == 0x1122_3344)
        #expect(header.csrcCount == 0)
        #expect(!header.hasPadding)
        #expect(!header.hasExtension)
        #expect(header.payloadOffset == 12)
        #expect(header.payloadLength == 4)
        #expect(header.paddingLength == 0)
        #expect(slice(Self.plain, header.payload) == [1, 2, 3, 4])
    }

    @Test func parsesCSRCsPaddingAndOneByteExtension() throws {
        // V=2 P=1 X=1 CC=2; M=0 PT=111; seq 1; ts 960; SSRC 0xCAFEBABE
        let packet = hex("""
            B2 6F 00 01 00 00 03 C0 CA FE BA BE
            00 00 00 0A 00 00 00 0B
            BE DE 00 02  10 61  22 01 02 03  00 00
            AA BB CC
            00 00 03
            """)
        let header = try withBytes(packet) { try RTPHeader(parsing: $0) }
        #expect(!header.marker)
        #expect(header.payloadType == 111)
        #expect(header.sequenceNumber == 1)
        #expect(header.timestamp == 960)
        #expect(header.ssrc == 0xCAFE_BABE)
        #expect(header.csrcCount == 2)
        #expect(withBytes(packet) { header.csrc(at: 0, in: $0) } == 10)
        #expect(withBytes(packet) { header.csrc(at: 1, in: $0) } == 11)
        #expect(withBytes(packet) { header.csrc(at: 2, in: $0) } == nil)
        #expect(header.extensionProfile == 0xBEDE)
        #expect(header.extensionData == 24..<32)
        #expect(header.hasPadding)
        #expect(header.paddingLength == 3)
        #expect(header.payloadOffset == 32)
        #expect(slice(packet, header.payload) == [0xAA, 0xBB, 0xCC])

        let elements = withBytes(packet) { Array(header.extensionElements(in: $0)) }
        #expect(elements.map(\.id) == [1, 2])
        #expect(slice(packet, elements[0].data) == [0x61])  // MID "a"
        #expect(slice(packet, elements[1].data) == [1, 2, 3])
        let mid = withBytes(packet) { header.extensionElement(id: 1, in: $0) }
        #expect(mid.map { slice(packet, $0.data) } == [0x61])
        #expect(withBytes(packet) { header.extensionElement(id: 9, in: $0) } == nil)
    }

    @Test func parsesTwoByteExtension() throws {
        let packet = hex("""
            90 00 00 07 00 00 00 00 00 00 00 01
            10 02 00 02  05 00  00  0C 03 41 42 43
            FF
            """)
        let header = try withBytes(packet) { try RTPHeader(parsing: $0) }
        #expect(header.extensionProfile == 0x1002)
        #expect(RTPHeaderExtensionForm(profile: 0x1002) == .twoByte(appBits: 2))
        let elements = withBytes(packet) { Array(header.extensionElements(in: $0)) }
        #expect(elements.map(\.id) == [5, 12])
        #expect(elements[0].data.isEmpty)
        #expect(slice(packet, elements[1].data) == Array("ABC".utf8))
        #expect(slice(packet, header.payload) == [0xFF])
    }

    @Test func oneByteExtensionStopsAtIDFifteenAndAtOverruns() throws {
        let stop = hex("90 00 00 07 00 00 00 00 00 00 00 01  BE DE 00 01  10 61 F0 22")
        let header = try withBytes(stop) { try RTPHeader(parsing: $0) }
        #expect(withBytes(stop) { Array(header.extensionElements(in: $0)).map(\.id) } == [1])
        // Element claims 4 bytes, only 2 remain in the extension.
        let overrun = hex("90 00 00 07 00 00 00 00 00 00 00 01  BE DE 00 01  10 61 33 01")
        let second = try withBytes(overrun) { try RTPHeader(parsing: $0) }
        #expect(withBytes(overrun) { Array(second.extensionElements(in: $0)).map(\.id) } == [1])
        // Unknown profile: no elements.
        let other = hex("90 00 00 07 00 00 00 00 00 00 00 01  AB CD 00 01  10 61 00 00")
        let third = try withBytes(other) { try RTPHeader(parsing: $0) }
        #expect(third.extensionProfile == 0xABCD)
        #expect(withBytes(other) { Array(third.extensionElements(in: $0)) }.isEmpty)
    }

    @Test func rejectsBadInput() {
        #expect(throws: RTPParseError.truncated) { try withBytes(Array(Self.plain[0..<11])) { try RTPHeader(parsing: $0) } }
        var version1 = Self.plain
        version1[0] = 0x40
        #expect(throws: RTPParseError.unsupportedVersion(1)) { try withBytes(version1) { try RTPHeader(parsing: $0) } }
        // CC=3 but only two CSRC words.
        let csrcs = hex("83 00 00 01 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 02")
        #expect(throws: RTPParseError.truncated) { try withBytes(csrcs) { try RTPHeader(parsing: $0) } }
        // Extension length of 5 words with 1 present.
        let ext = hex("90 00 00 01 00 00 00 00 00 00 00 01 BE DE 00 05 10 61 00 00")
        #expect(throws: RTPParseError.extensionOverrun) { try withBytes(ext) { try RTPHeader(parsing: $0) } }
        // Extension bit set, no room for the extension header.
        let noExt = hex("90 00 00 01 00 00 00 00 00 00 00 01 BE DE")
        #expect(throws: RTPParseError.truncated) { try withBytes(noExt) { try RTPHeader(parsing: $0) } }
        // Padding count 0, and padding larger than the payload.
        let zeroPad = hex("A0 00 00 01 00 00 00 00 00 00 00 01 AA 00")
        #expect(throws: RTPParseError.invalidPadding) { try withBytes(zeroPad) { try RTPHeader(parsing: $0) } }
        let bigPad = hex("A0 00 00 01 00 00 00 00 00 00 00 01 AA 03")
        #expect(throws: RTPParseError.invalidPadding) { try withBytes(bigPad) { try RTPHeader(parsing: $0) } }
        // Padding that is exactly the payload leaves an empty payload.
        let allPad = hex("A0 00 00 01 00 00 00 00 00 00 00 01 00 02")
        #expect((try? withBytes(allPad) { try RTPHeader(parsing: $0) })?.payloadLength == 0)
    }

    @Test func rewritesFieldsInPlace() throws {
        var packet = Self.plain
        try packet.withUnsafeMutableBytes { bytes in
            let mutable = try RTPMutablePacket(bytes)
            mutable.payloadType = 8
            mutable.sequenceNumber = 0xFFFF
            mutable.timestamp = 7
            mutable.ssrc = 0xA1B2_C3D4
            mutable.marker = false
            #expect(mutable.payloadType == 8)
            #expect(mutable.marker == false)
        }
        #expect(packet == hex("80 08 FF FF 00 00 00 07 A1 B2 C3 D4 01 02 03 04"))
        try packet.withUnsafeMutableBytes { bytes in
            try RTPMutablePacket(bytes).rewrite(RTPHeaderFields(marker: true, payloadType: 0x7F, sequenceNumber: 1, timestamp: 2, ssrc: 3))
        }
        #expect(packet == hex("80 FF 00 01 00 00 00 02 00 00 00 03 01 02 03 04"))
        var short: [UInt8] = [0x80, 0]
        #expect(throws: RTPParseError.truncated) { try short.withUnsafeMutableBytes { _ = try RTPMutablePacket($0) } }
    }

    @Test func removesExtensionInPlace() throws {
        var packet = hex("""
            B0 6F 00 01 00 00 03 C0 CA FE BA BE
            BE DE 00 01  10 61 00 00
            AA BB CC 00 00 03
            """)
        let length = try packet.withUnsafeMutableBytes { try RTPMutablePacket($0).removeExtension() }
        let stripped = Array(packet[0..<length])
        #expect(stripped == hex("A0 6F 00 01 00 00 03 C0 CA FE BA BE AA BB CC 00 00 03"))
        let header = try withBytes(stripped) { try RTPHeader(parsing: $0) }
        #expect(!header.hasExtension)
        #expect(slice(stripped, header.payload) == [0xAA, 0xBB, 0xCC])
    }

    @Test func writerBuildsHeaderWithMIDAndPayload() throws {
        var buffer = [UInt8](repeating: 0xEE, count: 64)
        let payload: [UInt8] = [9, 8, 7]
        let fields = RTPHeaderFields(marker: true, payloadType: 111, sequenceNumber: 65535, timestamp: 123_456, ssrc: 42)
        let length = try buffer.withUnsafeMutableBytes { bytes in
            var writer = try RTPPacketWriter(into: bytes, fields: fields)
            try writer.appendCSRC(77)
            try writer.appendExtensionElement(id: 3, bytes: "0".utf8)
            try writer.appendExtensionElement(id: 14, bytes: [1, 2, 3, 4])
            return try payload.withUnsafeBytes { try writer.finish(payload: $0) }
        }
        let packet = Array(buffer[0..<length])
        #expect(packet == hex("""
            91 EF FF FF 00 01 E2 40 00 00 00 2A 00 00 00 4D
            BE DE 00 02  30 30  E3 01 02 03 04  00
            09 08 07
            """))
        let header = try withBytes(packet) { try RTPHeader(parsing: $0) }
        #expect(header.fields == fields)
        #expect(withBytes(packet) { header.csrc(at: 0, in: $0) } == 77)
        let mid = try #require(withBytes(packet) { header.extensionElement(id: 3, in: $0) })
        #expect(String(decoding: slice(packet, mid.data), as: UTF8.self) == "0")
        #expect(slice(packet, header.payload) == payload)
    }

    @Test func writerCopiesSelectedExtensionsTwoByteFormAndPadding() throws {
        let source = hex("""
            90 6F 00 01 00 00 03 C0 CA FE BA BE
            BE DE 00 02  10 61  22 01 02 03  00 00
            AA
            """)
        let parsed = try withBytes(source) { try RTPHeader(parsing: $0) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = try buffer.withUnsafeMutableBytes { bytes in
            try source.withUnsafeBytes { packet in
                var writer = try RTPPacketWriter(into: bytes, fields: parsed.fields, extensionForm: .twoByte(appBits: 0))
                try writer.appendExtensionElements(of: parsed, in: packet, where: { $0 == 2 })
                try writer.appendExtensionElement(id: 200, data: UnsafeRawBufferPointer(rebasing: packet[0..<0]))
                return try writer.finish(payload: UnsafeRawBufferPointer(rebasing: packet[parsed.payload]), paddingLength: 4)
            }
        }
        let packet = Array(buffer[0..<length])
        #expect(packet == hex("""
            B0 6F 00 01 00 00 03 C0 CA FE BA BE
            10 00 00 02  02 03 01 02 03  C8 00  00
            AA 00 00 00 04
            """))
        let header = try withBytes(packet) { try RTPHeader(parsing: $0) }
        #expect(header.fields == parsed.fields)
        #expect(header.paddingLength == 4)
        #expect(slice(packet, header.payload) == [0xAA])
        let elements = withBytes(packet) { Array(header.extensionElements(in: $0)) }
        #expect(elements.map(\.id) == [2, 200])
        #expect(slice(packet, elements[0].data) == [1, 2, 3])
    }

    @Test func writerRejectsWhatDoesNotFit() throws {
        var buffer = [UInt8](repeating: 0, count: 20)
        let fields = RTPHeaderFields(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0)
        try buffer.withUnsafeMutableBytes { bytes in
            #expect(throws: RTPWriteError.bufferTooSmall) {
                _ = try RTPPacketWriter(into: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<11]), fields: fields)
            }
            var writer = try RTPPacketWriter(into: bytes, fields: fields)
            #expect(throws: RTPWriteError.invalidExtensionElement) { try writer.appendExtensionElement(id: 15, bytes: [1]) }
            #expect(throws: RTPWriteError.invalidExtensionElement) { try writer.appendExtensionElement(id: 1, bytes: [UInt8](repeating: 0, count: 17)) }
            #expect(throws: RTPWriteError.invalidExtensionElement) { try writer.appendExtensionElement(id: 1, bytes: []) }
            #expect(throws: RTPWriteError.bufferTooSmall) { try writer.appendExtensionElement(id: 1, bytes: [1, 2, 3, 4]) }
            try writer.appendExtensionElement(id: 1, bytes: [1])
            #expect(throws: RTPWriteError.invalidCSRC) { try writer.appendCSRC(1) }
            #expect(throws: RTPWriteError.bufferTooSmall) { _ = try [UInt8](repeating: 0, count: 1).withUnsafeBytes { try writer.finish(payload: $0) } }
            #expect(try writer.finish(payload: UnsafeRawBufferPointer(start: nil, count: 0)) == 20)
            #expect(throws: RTPWriteError.finished) { _ = try writer.finish(payload: UnsafeRawBufferPointer(start: nil, count: 0)) }
        }
    }
}
