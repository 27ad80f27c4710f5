import Testing
@testable import RTP

@Suite("RTCP")
struct RTCPTests {
    static let senderSSRC: UInt32 = 0x5A3C_11F0
    static let remoteSSRC: UInt32 = 0x0BAD_CAFE

    /// A compound in the layout a browser sends on an audio m-line: SR with one report block,
    /// SDES with a 16-character CNAME, then REMB. Built by hand field by field.
    static let browserCompound: [UInt8] = hex("""
        81 C8 00 0C  5A 3C 11 F0
        E9 0A 1B 2C 80 00 00 00  00 0F A0 00  00 00 01 F4  00 01 38 80
        0B AD CA FE  19 00 00 07  00 01 00 05  00 00 00 2D  1B 2C 40 00  00 00 80 00
        81 CA 00 06  5A 3C 11 F0  01 10 61 42 33 64 45 35 66 47 37 68 49 39 6A 4B 31 6D 00 00
        8F CE 00 05  5A 3C 11 F0  00 00 00 00  52 45 4D 42  01 0E DC 6C  0B AD CA FE
        """)

    func messages(_ bytes: [UInt8], _ body: ([RTCPMessage]) throws -> Void) throws {
        try bytes.withUnsafeBytes { raw in
            let compound = try RTCPCompoundPacket(validating: raw)
            var decoded: [RTCPMessage] = []
            for packet in compound { decoded.append(try packet.message()) }
            #expect(decoded.count == compound.packetCount)
            try body(decoded)
        }
    }

    @Test func parsesBrowserCompound() throws {
        try messages(Self.browserCompound) { messages in
            #expect(messages.count == 3)
            guard case .senderReport(let report) = messages[0] else { Issue.record("not an SR"); return }
            #expect(report.ssrc == Self.senderSSRC)
            #expect(report.senderInfo.ntpTimestamp == NTPTimestamp(seconds: 0xE90A_1B2C, fraction: 0x8000_0000))
            #expect(report.senderInfo.rtpTimestamp == 0x000F_A000)
            #expect(report.senderInfo.packetCount == 500)
            #expect(report.senderInfo.octetCount == 80000)
            #expect(report.reportBlocks.count == 1)
            #expect(report.reportBlocks[0] == RTCPReportBlock(
                ssrc: Self.remoteSSRC, fractionLost: 25, cumulativeLost: 7,
                extendedHighestSequenceNumber: 65541, jitter: 45,
                lastSenderReport: 0x1B2C_4000, delaySinceLastSenderReport: 0x8000
            ))
            guard case .sourceDescription(let description) = messages[1] else { Issue.record("not SDES"); return }
            let chunks = Array(description)
            #expect(chunks.count == 1)
            #expect(chunks[0].ssrc == Self.senderSSRC)
            #expect(chunks[0].cname.map { String(decoding: $0, as: UTF8.self) } == "aB3dE5fG7hI9jK1m")
            #expect(chunks[0].item(2) == nil)
            guard case .unknown(let remb) = messages[2] else { Issue.record("REMB is not passed through"); return }
            #expect(remb.packetType == RTCPPacketType.payloadFeedback)
            #expect(remb.count == 15)
            #expect(remb.bytes.count == 24)
            #expect(remb.senderSSRC == Self.senderSSRC)
        }
    }

    @Test func parsesReceiverReportWithNegativeLossGoodbyeAndFeedback() throws {
        let bytes = hex("""
            81 C9 00 07  00 00 00 01  00 00 00 02 00 FF FF FE 00 00 FF FF 00 00 00 00 00 00 00 00 00 00 00 00
            82 CB 00 04  00 00 00 01 00 00 00 03  06 68 61 6E 67 75  70 00
            81 CD 00 04  00 00 00 01 00 00 00 02  00 64 80 11  00 C8 00 00
            81 CE 00 02  00 00 00 01 00 00 00 02
            84 CE 00 04  00 00 00 01 00 00 00 00  00 00 00 02 07 00 00 00
            """)
        try messages(bytes) { messages in
            #expect(messages.count == 5)
            guard case .receiverReport(let report) = messages[0] else { Issue.record("not an RR"); return }
            #expect(report.ssrc == 1)
            #expect(report.reportBlocks[0].cumulativeLost == -2)
            #expect(report.reportBlocks[0].extendedHighestSequenceNumber == 0xFFFF)
            guard case .goodbye(let bye) = messages[1] else { Issue.record("not BYE"); return }
            #expect(bye.sourceCount == 2)
            #expect(bye.source(at: 0) == 1)
            #expect(bye.source(at: 1) == 3)
            #expect(bye.source(at: 2) == nil)
            #expect(bye.reason.map { String(decoding: $0, as: UTF8.self) } == "hangup")
            guard case .genericNACK(let nack) = messages[2] else { Issue.record("not a NACK"); return }
            #expect(nack.senderSSRC == 1)
            #expect(nack.mediaSSRC == 2)
            #expect(Array(nack) == [100, 101, 105, 116, 200])
            guard case .pictureLossIndication(let pli) = messages[3] else { Issue.record("not a PLI"); return }
            #expect(pli.senderSSRC == 1)
            #expect(pli.mediaSSRC == 2)
            guard case .fullIntraRequest(let fir) = messages[4] else { Issue.record("not a FIR"); return }
            #expect(fir.senderSSRC == 1)
            #expect(fir.entryCount == 1)
            #expect(fir.entry(at: 0)?.ssrc == 2)
            #expect(fir.entry(at: 0)?.sequenceNumber == 7)
            #expect(fir.entry(at: 1) == nil)
        }
    }

    @Test func validatesCompoundPerRFC3550AppendixA2() {
        func validate(_ bytes: [UInt8]) throws(RTCPParseError) {
            var failure: RTCPParseError?
            bytes.withUnsafeBytes { raw in
                do throws(RTCPParseError) { _ = try RTCPCompoundPacket(validating: raw) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        let emptyRR = hex("80 C9 00 01 00 00 00 01")
        #expect(throws: Never.self) { try validate(emptyRR) }
        #expect(throws: RTCPParseError.truncated) { try validate([]) }
        #expect(throws: RTCPParseError.unsupportedVersion(1)) { try validate(hex("40 C9 00 01 00 00 00 01")) }
        // Length says three words, two are present.
        #expect(throws: RTCPParseError.truncated) { try validate(hex("80 C9 00 02 00 00 00 01")) }
        // Trailing bytes that are not a whole packet.
        #expect(throws: RTCPParseError.truncated) { try validate(emptyRR + [0x80, 0xC9]) }
        // Padding on the first of two packets.
        #expect(throws: RTCPParseError.invalidPadding) { try validate(hex("A0 C9 00 01 00 00 00 01") + emptyRR) }
        // Padding on the last packet is fine; a zero or oversized count is not.
        #expect(throws: Never.self) { try validate(emptyRR + hex("A0 CB 00 02 00 00 00 01 00 00 00 04")) }
        #expect(throws: RTCPParseError.invalidPadding) { try validate(emptyRR + hex("A0 CB 00 01 00 00 00 00")) }
        #expect(throws: RTCPParseError.invalidPadding) { try validate(emptyRR + hex("A0 CB 00 01 00 00 00 09")) }
        // The second packet's version is checked too.
        #expect(throws: RTCPParseError.unsupportedVersion(3)) { try validate(emptyRR + hex("C0 C9 00 01 00 00 00 01")) }
    }

    @Test func rejectsPacketsWhoseFieldsDoNotFit() throws {
        // RC=2 with one block; SDES item running past the end; BYE reason too long; NACK
        // without entries; FIR without an entry.
        let cases: [[UInt8]] = [
            hex("82 C9 00 07 00 00 00 01  00 00 00 02 00 FF FF FE 00 00 FF FF 00 00 00 00 00 00 00 00 00 00 00 00"),
            hex("81 CA 00 02 00 00 00 01 01 09 61 62"),
            hex("81 CB 00 02 00 00 00 01 09 61 62 63"),
            hex("81 CD 00 02 00 00 00 01 00 00 00 02"),
            hex("84 CE 00 02 00 00 00 01 00 00 00 00"),
            hex("80 C8 00 01 00 00 00 01"),
        ]
        for bytes in cases {
            try bytes.withUnsafeBytes { raw in
                let compound = try RTCPCompoundPacket(validating: raw)
                for packet in compound {
                    #expect(throws: RTCPParseError.malformed) { _ = try packet.message() }
                }
            }
        }
    }

    @Test func buildsSenderReportWithSourceDescription() throws {
        var buffer = [UInt8](repeating: 0xEE, count: 200)
        let block = RTCPReportBlock(
            ssrc: Self.remoteSSRC, fractionLost: 25, cumulativeLost: 7, extendedHighestSequenceNumber: 65541,
            jitter: 45, lastSenderReport: 0x1B2C_4000, delaySinceLastSenderReport: 0x8000
        )
        let info = RTCPSenderInfo(
            ntpTimestamp: NTPTimestamp(seconds: 0xE90A_1B2C, fraction: 0x8000_0000),
            rtpTimestamp: 0x000F_A000, packetCount: 500, octetCount: 80000
        )
        let length = try buffer.withUnsafeMutableBytes { bytes in
            var writer = RTCPCompoundWriter(into: bytes)
            try writer.appendSenderReport(ssrc: Self.senderSSRC, senderInfo: info, reportBlocks: CollectionOfOne(block))
            try writer.appendSourceDescription(ssrc: Self.senderSSRC, cname: "aB3dE5fG7hI9jK1m".utf8)
            return writer.count
        }
        #expect(Array(buffer[0..<length]) == Array(Self.browserCompound[0..<80]))
    }

    @Test func buildsReceiverReportFeedbackAndGoodbye() throws {
        var buffer = [UInt8](repeating: 0xEE, count: 200)
        let block = RTCPReportBlock(
            ssrc: 2, fractionLost: 0, cumulativeLost: -2, extendedHighestSequenceNumber: 0xFFFF,
            jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0
        )
        let length = try buffer.withUnsafeMutableBytes { bytes in
            var writer = RTCPCompoundWriter(into: bytes)
            try writer.appendReceiverReport(ssrc: 1, reportBlocks: [block])
            try writer.appendGoodbye(sources: [1, 3], reason: "hangup".utf8)
            try writer.appendGenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [100, 101, 105, 116, 200])
            try writer.appendPictureLossIndication(senderSSRC: 1, mediaSSRC: 2)
            try writer.appendFullIntraRequest(senderSSRC: 1, mediaSSRC: 2, sequenceNumber: 7)
            return writer.count
        }
        #expect(Array(buffer[0..<length]) == hex("""
            81 C9 00 07  00 00 00 01  00 00 00 02 00 FF FF FE 00 00 FF FF 00 00 00 00 00 00 00 00 00 00 00 00
            82 CB 00 04  00 00 00 01 00 00 00 03  06 68 61 6E 67 75  70 00
            81 CD 00 04  00 00 00 01 00 00 00 02  00 64 80 11  00 C8 00 00
            81 CE 00 02  00 00 00 01 00 00 00 02
            84 CE 00 04  00 00 00 01 00 00 00 00  00 00 00 02 07 00 00 00
            """))
    }

    @Test func nackAcrossSequenceWrapAndEmptyGoodbye() throws {
        var buffer = [UInt8](repeating: 0, count: 64)
        let lost: [UInt16] = [65534, 65535, 0, 1, 20]
        let length = try buffer.withUnsafeMutableBytes { bytes in
            var writer = RTCPCompoundWriter(into: bytes)
            try writer.appendGenericNACK(senderSSRC: 9, mediaSSRC: 8, lostSequenceNumbers: lost)
            try writer.appendGenericNACK(senderSSRC: 9, mediaSSRC: 8, lostSequenceNumbers: [])
            try writer.appendGoodbye(sources: [9])
            return writer.count
        }
        let packet = Array(buffer[0..<length])
        #expect(packet == hex("81 CD 00 04 00 00 00 09 00 00 00 08 FF FE 00 07 00 14 00 00  81 CB 00 01 00 00 00 09"))
        try messages(packet) { messages in
            guard case .genericNACK(let nack) = messages[0] else { Issue.record("not a NACK"); return }
            #expect(Array(nack) == lost)
        }
    }

    @Test func writerRefusesWhatDoesNotFitAndWritesNothing() throws {
        var buffer = [UInt8](repeating: 0, count: 30)
        try buffer.withUnsafeMutableBytes { bytes in
            var writer = RTCPCompoundWriter(into: bytes)
            try writer.appendPictureLossIndication(senderSSRC: 1, mediaSSRC: 2)
            #expect(throws: RTCPWriteError.bufferTooSmall) { try writer.appendFullIntraRequest(senderSSRC: 1, mediaSSRC: 2, sequenceNumber: 0) }
            #expect(throws: RTCPWriteError.bufferTooSmall) { try writer.appendGenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [1, 40, 80]) }
            #expect(throws: RTCPWriteError.textTooLong) { try writer.appendSourceDescription(ssrc: 1, cname: [UInt8](repeating: 0x61, count: 256)) }
            let blocks = [RTCPReportBlock](repeating: RTCPReportBlock(ssrc: 0, fractionLost: 0, cumulativeLost: 0, extendedHighestSequenceNumber: 0, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0), count: 32)
            #expect(throws: RTCPWriteError.tooManyEntries) { try writer.appendReceiverReport(ssrc: 1, reportBlocks: blocks) }
            #expect(writer.count == 12)
        }
    }

    @Test func rewritesSSRCsForTheOtherLeg() throws {
        var bytes = Self.browserCompound + hex("""
            81 CD 00 03  5A 3C 11 F0 0B AD CA FE 00 01 00 00
            84 CE 00 04  5A 3C 11 F0 00 00 00 00 0B AD CA FE 01 00 00 00
            """)
        let changed = try bytes.withUnsafeMutableBytes { raw in
            try RTCPCompoundPacket.rewriteSSRCs(in: raw, senderSSRC: 0x1111_1111) { $0 == Self.remoteSSRC ? 0x2222_2222 : $0 }
        }
        #expect(changed == 4)  // SR, REMB, NACK, FIR; SDES is left alone
        try messages(bytes) { messages in
            guard case .senderReport(let report) = messages[0],
                  case .sourceDescription(let description) = messages[1],
                  case .unknown(let remb) = messages[2],
                  case .genericNACK(let nack) = messages[3],
                  case .fullIntraRequest(let fir) = messages[4]
            else { Issue.record("unexpected packets"); return }
            #expect(report.ssrc == 0x1111_1111)
            #expect(report.reportBlocks[0].ssrc == 0x2222_2222)
            #expect(Array(description).first?.ssrc == Self.senderSSRC)
            #expect(remb.senderSSRC == 0x1111_1111)
            #expect(remb.bytes.readUInt32(at: 8) == 0)
            #expect(remb.bytes.readUInt32(at: 20) == 0x2222_2222)
            #expect(nack.senderSSRC == 0x1111_1111)
            #expect(nack.mediaSSRC == 0x2222_2222)
            #expect(fir.entry(at: 0)?.ssrc == 0x2222_2222)
        }
    }

    @Test func passesTransportWideFeedbackThroughAndMapsItsMediaSSRC() throws {
        // RR with no blocks, then transport-cc (RTPFB FMT 15): base sequence 10, 2 packets,
        // reference time 1, feedback count 0, one run-length chunk, two small deltas.
        var bytes = hex("""
            80 C9 00 01  5A 3C 11 F0
            8F CD 00 05  5A 3C 11 F0 0B AD CA FE  00 0A 00 02 00 00 01 00  20 02 04 08
            """)
        try messages(bytes) { messages in
            guard case .receiverReport(let report) = messages[0], case .unknown(let feedback) = messages[1] else {
                Issue.record("unexpected packets")
                return
            }
            #expect(report.reportBlocks.isEmpty)
            #expect(feedback.packetType == RTCPPacketType.transportFeedback)
            #expect(feedback.count == 15)
            #expect(feedback.bytes.count == 24)
        }
        let changed = try bytes.withUnsafeMutableBytes { raw in
            try RTCPCompoundPacket.rewriteSSRCs(in: raw, senderSSRC: nil) { $0 &+ 1 }
        }
        #expect(changed == 2)
        #expect(Array(bytes[12..<20]) == hex("5A 3C 11 F0 0B AD CA FF"))
        #expect(Array(bytes[4..<8]) == hex("5A 3C 11 F0"))
    }

    @Test func ntpTimestampConversions() {
        // 2026-01-01T00:00:00.5Z
        let unix: Int64 = 1_767_225_600 * 1_000_000_000 + 500_000_000
        let ntp = NTPTimestamp(unixNanoseconds: unix)
        #expect(ntp.seconds == UInt32(1_767_225_600 + 2_208_988_800))
        #expect(ntp.fraction == 0x8000_0000)
        #expect(ntp.unixNanoseconds == unix)
        #expect(NTPTimestamp(seconds: 0x1234_5678, fraction: 0x9ABC_DEF0).compact == 0x5678_9ABC)
        #expect(NTPTimestamp(rawValue: 0x1234_5678_9ABC_DEF0) == NTPTimestamp(seconds: 0x1234_5678, fraction: 0x9ABC_DEF0))
        #expect(CompactNTPDuration.units(nanoseconds: 500_000_000) == 0x8000)
        #expect(CompactNTPDuration.nanoseconds(units: 0x1_8000) == 1_500_000_000)
        #expect(CompactNTPDuration.units(nanoseconds: -5) == 0)
        #expect(CompactNTPDuration.units(nanoseconds: 65535 * 1_000_000_000 + 500_000_000) == 0xFFFF_8000)
        #expect(CompactNTPDuration.units(nanoseconds: .max) == UInt32.max)
    }
}
