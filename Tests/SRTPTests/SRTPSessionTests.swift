import NIOCore
import Testing

@testable import SRTP

/// Two sessions keyed crosswise, as the two ends of one SRTP association.
private func sessionPair(_ profile: SRTPProfile) throws -> (alice: SRTPSession, bob: SRTPSession) {
    let aliceKey = try SRTPMasterKey.random(profile: profile)
    let bobKey = try SRTPMasterKey.random(profile: profile)
    let alice = try SRTPSession(outbound: aliceKey, inbound: bobKey)
    let bob = try SRTPSession(outbound: bobKey, inbound: aliceKey)
    return (alice, bob)
}

/// An RTP packet: 12-byte header (PT 0), then `payloadLength` bytes of a counting pattern.
private func rtpPacket(sequence: UInt16, ssrc: UInt32 = 0x1234_5678, payloadLength: Int = 160) -> [UInt8] {
    var packet: [UInt8] = [0x80, 0x00, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
    let timestamp = UInt32(sequence) &* 160
    packet += [UInt8(timestamp >> 24), UInt8((timestamp >> 16) & 0xFF), UInt8((timestamp >> 8) & 0xFF), UInt8(timestamp & 0xFF)]
    packet += [UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xFF), UInt8((ssrc >> 8) & 0xFF), UInt8(ssrc & 0xFF)]
    packet += (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(sequence)) }
    return packet
}

/// An RTCP receiver report with no report blocks, then an SDES-sized tail of opaque bytes.
private func rtcpPacket(ssrc: UInt32 = 0x1234_5678) -> [UInt8] {
    var packet: [UInt8] = [0x80, 201, 0x00, 0x01]
    packet += [UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xFF), UInt8((ssrc >> 8) & 0xFF), UInt8(ssrc & 0xFF)]
    packet += [0x81, 202, 0x00, 0x02, 0x12, 0x34, 0x56, 0x78, 0x01, 0x02, 0x61, 0x62]
    return packet
}

/// A caller-owned buffer with room for what protection appends.
private struct PacketBuffer {
    var bytes: [UInt8]
    var length: Int

    init(_ packet: [UInt8], headroom: Int = 64) {
        bytes = packet + [UInt8](repeating: 0, count: headroom)
        length = packet.count
    }

    var packet: [UInt8] { Array(bytes[0..<length]) }

    mutating func protectRTP(_ session: SRTPSession) throws(SRTPError) {
        try apply { pointer, length, capacity throws(SRTPError) in try session.protectRTP(pointer, length: length, capacity: capacity) }
    }

    mutating func protectRTCP(_ session: SRTPSession) throws(SRTPError) {
        try apply { pointer, length, capacity throws(SRTPError) in try session.protectRTCP(pointer, length: length, capacity: capacity) }
    }

    mutating func unprotectRTP(_ session: SRTPSession) throws(SRTPError) {
        try apply { pointer, length, _ throws(SRTPError) in try session.unprotectRTP(pointer, length: length) }
    }

    mutating func unprotectRTCP(_ session: SRTPSession) throws(SRTPError) {
        try apply { pointer, length, _ throws(SRTPError) in try session.unprotectRTCP(pointer, length: length) }
    }

    private mutating func apply(_ body: (UnsafeMutableRawPointer, Int, Int) throws(SRTPError) -> Int) throws(SRTPError) {
        let length = self.length
        let result: Result<Int, SRTPError> = bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return .failure(.malformedPacket) }
            do throws(SRTPError) {
                return .success(try body(base, length, raw.count))
            } catch {
                return .failure(error)
            }
        }
        self.length = try result.get()
    }
}

@Suite struct SRTPSessionTests {
    @Test(arguments: SRTPProfile.allCases)
    func rtpRoundTrip(profile: SRTPProfile) throws {
        let (alice, bob) = try sessionPair(profile)
        for sequence in UInt16(1)...UInt16(20) {
            let original = rtpPacket(sequence: sequence)
            var buffer = PacketBuffer(original)
            try buffer.protectRTP(alice)
            #expect(buffer.length == original.count + profile.rtpOverhead)
            #expect(Array(buffer.packet[0..<12]) == Array(original[0..<12]), "the RTP header stays in clear")
            #expect(Array(buffer.packet[12..<original.count]) != Array(original[12...]), "the payload is encrypted")
            try buffer.unprotectRTP(bob)
            #expect(buffer.packet == original)
        }
    }

    @Test(arguments: SRTPProfile.allCases)
    func rtcpRoundTrip(profile: SRTPProfile) throws {
        let (alice, bob) = try sessionPair(profile)
        for _ in 0..<5 {
            let original = rtcpPacket()
            var buffer = PacketBuffer(original)
            try buffer.protectRTCP(bob)
            #expect(buffer.length == original.count + profile.rtcpOverhead)
            #expect(Array(buffer.packet[8..<original.count]) != Array(original[8...]))
            try buffer.unprotectRTCP(alice)
            #expect(buffer.packet == original)
        }
    }

    @Test(arguments: SRTPProfile.allCases)
    func byteBufferRoundTrip(profile: SRTPProfile) throws {
        let (alice, bob) = try sessionPair(profile)
        let original = rtpPacket(sequence: 9)
        var buffer = ByteBuffer(bytes: original)
        try alice.protectRTP(&buffer)
        #expect(buffer.readableBytes == original.count + profile.rtpOverhead)
        try bob.unprotectRTP(&buffer)
        #expect(Array(buffer.readableBytesView) == original)

        var rtcp = ByteBuffer(bytes: rtcpPacket())
        try alice.protectRTCP(&rtcp)
        try bob.unprotectRTCP(&rtcp)
        #expect(Array(rtcp.readableBytesView) == rtcpPacket())
    }

    @Test(arguments: SRTPProfile.allCases)
    func tamperedPacketFailsAuthentication(profile: SRTPProfile) throws {
        let (alice, bob) = try sessionPair(profile)
        var buffer = PacketBuffer(rtpPacket(sequence: 100))
        try buffer.protectRTP(alice)
        buffer.bytes[20] ^= 0x01
        #expect(throws: SRTPError.authenticationFailed) {
            try buffer.unprotectRTP(bob)
        }

        var rtcp = PacketBuffer(rtcpPacket())
        try rtcp.protectRTCP(alice)
        rtcp.bytes[rtcp.length - 1] ^= 0x80
        #expect(throws: SRTPError.authenticationFailed) {
            try rtcp.unprotectRTCP(bob)
        }
    }

    @Test func wrongKeyFailsAuthentication() throws {
        let (alice, _) = try sessionPair(.aes128CMHMACSHA1_80)
        let (_, stranger) = try sessionPair(.aes128CMHMACSHA1_80)
        var buffer = PacketBuffer(rtpPacket(sequence: 1))
        try buffer.protectRTP(alice)
        #expect(throws: SRTPError.authenticationFailed) {
            try buffer.unprotectRTP(stranger)
        }
    }

    @Test(arguments: SRTPProfile.allCases)
    func replayedPacketIsRefused(profile: SRTPProfile) throws {
        let (alice, bob) = try sessionPair(profile)
        var buffer = PacketBuffer(rtpPacket(sequence: 7))
        try buffer.protectRTP(alice)
        let protected = buffer.packet
        var first = PacketBuffer(protected)
        try first.unprotectRTP(bob)
        var again = PacketBuffer(protected)
        #expect(throws: SRTPError.replayed) {
            try again.unprotectRTP(bob)
        }

        var rtcp = PacketBuffer(rtcpPacket())
        try rtcp.protectRTCP(alice)
        let protectedRTCP = rtcp.packet
        var rtcpFirst = PacketBuffer(protectedRTCP)
        try rtcpFirst.unprotectRTCP(bob)
        var rtcpAgain = PacketBuffer(protectedRTCP)
        #expect(throws: SRTPError.replayed) {
            try rtcpAgain.unprotectRTCP(bob)
        }
    }

    @Test func outOfOrderWithinTheWindowIsAcceptedAndFarTooOldIsNot() throws {
        let (alice, bob) = try sessionPair(.aeadAES128GCM)
        var protected: [UInt16: [UInt8]] = [:]
        for sequence in [UInt16(1), 2, 3, 1500] {
            var buffer = PacketBuffer(rtpPacket(sequence: sequence))
            try buffer.protectRTP(alice)
            protected[sequence] = buffer.packet
        }
        for sequence in [UInt16(3), 2, 1500] {
            var buffer = PacketBuffer(protected[sequence] ?? [])
            try buffer.unprotectRTP(bob)
            #expect(buffer.packet == rtpPacket(sequence: sequence))
        }
        // 1 is 1499 packets behind the highest index, outside the 1024-packet window.
        var late = PacketBuffer(protected[1] ?? [])
        #expect(throws: SRTPError.tooOld) {
            try late.unprotectRTP(bob)
        }
    }

    @Test func newSSRCIsAcceptedInbound() throws {
        let (alice, bob) = try sessionPair(.aes128CMHMACSHA1_80)
        for ssrc in [UInt32(0x1111_1111), 0x2222_2222, 0xDEAD_BEEF] {
            for sequence in UInt16(500)...UInt16(503) {
                let original = rtpPacket(sequence: sequence, ssrc: ssrc)
                var buffer = PacketBuffer(original)
                try buffer.protectRTP(alice)
                try buffer.unprotectRTP(bob)
                #expect(buffer.packet == original)
            }
        }
    }

    @Test func repeatedOutboundSequenceIsProtected() throws {
        let (alice, bob) = try sessionPair(.aes128CMHMACSHA1_80)
        let original = rtpPacket(sequence: 42)
        var first = PacketBuffer(original)
        try first.protectRTP(alice)
        var retransmission = PacketBuffer(original)
        try retransmission.protectRTP(alice)
        #expect(retransmission.packet == first.packet)
        try first.unprotectRTP(bob)
        #expect(first.packet == original)
    }

    @Test func bufferWithoutRoomForTheTagIsRefused() throws {
        let (alice, _) = try sessionPair(.aeadAES128GCM)
        var buffer = PacketBuffer(rtpPacket(sequence: 1), headroom: 15)
        #expect(throws: SRTPError.insufficientCapacity(required: 188, available: 187)) {
            try buffer.protectRTP(alice)
        }
        var rtcp = PacketBuffer(rtcpPacket(), headroom: 19)
        #expect(throws: SRTPError.insufficientCapacity(required: 40, available: 39)) {
            try rtcp.protectRTCP(alice)
        }
    }

    @Test func malformedPacketsAreRefused() throws {
        let (alice, bob) = try sessionPair(.aes128CMHMACSHA1_80)
        var short = PacketBuffer([0x80, 0, 0, 1, 0, 0, 0, 0])
        #expect(throws: SRTPError.malformedPacket) {
            try short.protectRTP(alice)
        }
        var notVersion2 = PacketBuffer([0x40] + Array(rtpPacket(sequence: 1).dropFirst()))
        #expect(throws: SRTPError.malformedPacket) {
            try notVersion2.protectRTP(alice)
        }
        // Header says 15 CSRCs, far more than the packet holds.
        var csrcOverflow = PacketBuffer([0x8F] + Array(rtpPacket(sequence: 1, payloadLength: 4).dropFirst()))
        #expect(throws: SRTPError.self) {
            try csrcOverflow.protectRTP(alice)
        }
        var truncated = PacketBuffer(Array(rtpPacket(sequence: 1, payloadLength: 0)))
        #expect(throws: SRTPError.self) {
            try truncated.unprotectRTP(bob)
        }
        var shortRTCP = PacketBuffer([0x80, 201, 0, 1])
        #expect(throws: SRTPError.malformedPacket) {
            try shortRTCP.unprotectRTCP(bob)
        }
    }

    @Test func keysAreCheckedAndRandom() throws {
        #expect(throws: SRTPError.invalidKeyLength(expected: 30, actual: 28)) {
            try SRTPMasterKey(profile: .aes128CMHMACSHA1_80, keyAndSalt: [UInt8](repeating: 1, count: 28))
        }
        let gcm = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        #expect(gcm.keyAndSalt.count == 28)
        let other = try SRTPMasterKey.random(profile: .aeadAES128GCM)
        #expect(gcm.keyAndSalt != other.keyAndSalt)
        #expect(gcm.description == "SRTPMasterKey(AEAD_AES_128_GCM, 28 bytes)", "key bytes stay out of logs")
        let cm = try SRTPMasterKey.random(profile: .aes128CMHMACSHA1_32)
        #expect(throws: SRTPError.profileMismatch) {
            try SRTPSession(outbound: gcm, inbound: cm)
        }
        #expect(throws: SRTPError.invalidReplayWindow(16)) {
            try SRTPSession(outbound: gcm, inbound: other, replayWindow: 16)
        }
        #expect(SRTPProfile(sdesSuiteName: "AES_CM_128_HMAC_SHA1_32") == .aes128CMHMACSHA1_32)
        #expect(SRTPProfile(sdesSuiteName: "AEAD_AES_256_GCM") == nil)
        #expect(SRTPProfile(dtlsProfileName: "SRTP_AEAD_AES_128_GCM") == .aeadAES128GCM)
    }

    /// Prints the cost of one protect and one unprotect of a 172-byte RTP packet, timed over a
    /// batch (no assertion on time; the figures depend on the machine and the build).
    @Test(.serialized, arguments: [SRTPProfile.aeadAES128GCM, .aes128CMHMACSHA1_80])
    func protectAndUnprotectCost(profile: SRTPProfile) throws {
        let (alice, bob) = try sessionPair(profile)
        let count = 5000
        let stride = 256
        var plain = [UInt8](repeating: 0, count: count * stride)
        for index in 0..<count {
            let packet = rtpPacket(sequence: UInt16(index + 1))
            plain.replaceSubrange((index * stride)..<(index * stride + packet.count), with: packet)
        }
        var lengths = [Int](repeating: 0, count: count)
        let clock = ContinuousClock()
        let protectTime = try plain.withUnsafeMutableBytes { raw throws(SRTPError) -> Duration in
            guard let base = raw.baseAddress else { return .zero }
            let start = clock.now
            for index in 0..<count {
                lengths[index] = try alice.protectRTP(base + index * stride, length: 172, capacity: stride)
            }
            return clock.now - start
        }
        let unprotectTime = try plain.withUnsafeMutableBytes { raw throws(SRTPError) -> Duration in
            guard let base = raw.baseAddress else { return .zero }
            let start = clock.now
            for index in 0..<count {
                lengths[index] = try bob.unprotectRTP(base + index * stride, length: lengths[index])
            }
            return clock.now - start
        }
        #expect(lengths.allSatisfy { $0 == 172 })
        #expect(Array(plain[(17 * stride)..<(17 * stride + 172)]) == rtpPacket(sequence: 18))
        func microseconds(_ duration: Duration) -> Double {
            (Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12) / Double(count)
        }
        print("SRTP \(profile.sdesSuiteName), 172-byte RTP: protect \(microseconds(protectTime)) µs, unprotect \(microseconds(unprotectTime)) µs")
    }
}

@Suite struct SRTPInboundRekeyTests {
    /// A peer that rekeys (a new `a=crypto` in a re-offer): the inbound context takes its new
    /// key, the outbound context goes on under the old one.
    @Test(arguments: SRTPProfile.allCases)
    func theInboundContextTakesTheNewKey(profile: SRTPProfile) throws {
        let localKey = try SRTPMasterKey.random(profile: profile)
        let oldRemote = try SRTPMasterKey.random(profile: profile)
        let newRemote = try SRTPMasterKey.random(profile: profile)
        let local = try SRTPSession(outbound: localKey, inbound: oldRemote)
        let peerBefore = try SRTPSession(outbound: oldRemote, inbound: localKey)
        let peerAfter = try SRTPSession(outbound: newRemote, inbound: localKey)

        var first = PacketBuffer(rtpPacket(sequence: 1, ssrc: 0xAAAA_0001))
        try first.protectRTP(local)
        try first.unprotectRTP(peerBefore)
        #expect(first.packet == rtpPacket(sequence: 1, ssrc: 0xAAAA_0001))

        try local.replaceInbound(with: newRemote)
        var fromOld = PacketBuffer(rtpPacket(sequence: 2, ssrc: 0xBBBB_0001))
        try fromOld.protectRTP(peerBefore)
        #expect(throws: SRTPError.self) { try fromOld.unprotectRTP(local) }
        var fromNew = PacketBuffer(rtpPacket(sequence: 3, ssrc: 0xBBBB_0001))
        try fromNew.protectRTP(peerAfter)
        try fromNew.unprotectRTP(local)
        #expect(fromNew.packet == rtpPacket(sequence: 3, ssrc: 0xBBBB_0001))

        // What this side sends is still under its own key, in the same stream.
        var second = PacketBuffer(rtpPacket(sequence: 2, ssrc: 0xAAAA_0001))
        try second.protectRTP(local)
        try second.unprotectRTP(peerBefore)
        #expect(second.packet == rtpPacket(sequence: 2, ssrc: 0xAAAA_0001))
    }

    @Test func aKeyOfAnotherProfileIsRefused() throws {
        let session = try SRTPSession(
            outbound: SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80), inbound: SRTPMasterKey.random(profile: .aes128CMHMACSHA1_80)
        )
        #expect(throws: SRTPError.profileMismatch) { try session.replaceInbound(with: SRTPMasterKey.random(profile: .aeadAES128GCM)) }
    }
}
