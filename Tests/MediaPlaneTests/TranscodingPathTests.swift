import NIOCore
import RTP
import SIP
import Testing
@testable import Media
@testable import MediaPlane

@Suite("TranscodingPath")
struct TranscodingPathTests {
    static func plan() -> MediaBridgePlan {
        MediaBridgePlan(
            mode: .transcode,
            browserAudio: SDPPayloadFormat(payloadType: 111, codec: .opus),
            calleeAudio: SDPPayloadFormat(payloadType: 0, codec: .pcmu),
            browserTelephoneEvent: SDPPayloadFormat(payloadType: 110, codec: .telephoneEvent48000),
            calleeTelephoneEvent: SDPPayloadFormat(payloadType: 101, codec: .telephoneEvent8000),
            calleeHost: "127.0.0.1", calleePort: 4000, calleeRTCPPort: 4001, dtlsRole: .active,
            remoteFingerprint: SDPFingerprint(hashFunction: "sha-256", bytes: Array(repeating: 1, count: 32)),
            remoteICEUsernameFragment: "abcd", remoteICEPassword: "abcdefghijklmnopqrstuv",
            midExtensionID: 4, audioMid: "0", browserDirection: .sendrecv, calleeDirection: .sendrecv,
            calleePacketTime: 20, browserSSRC: 0x1234_5678
        )
    }

    static func packet(payloadType: UInt8, sequence: UInt16, timestamp: UInt32, marker: Bool = false, payload: [UInt8]) -> ByteBuffer {
        var bytes = [UInt8](repeating: 0, count: 12 + payload.count)
        let count = bytes.withUnsafeMutableBytes { raw -> Int in
            var writer = try! RTPPacketWriter(
                into: raw, fields: RTPHeaderFields(marker: marker, payloadType: payloadType, sequenceNumber: sequence, timestamp: timestamp, ssrc: 99)
            )
            return payload.withUnsafeBytes { try! writer.finish(payload: $0) }
        }
        return ByteBuffer(bytes: bytes[..<count])
    }

    static func headers(_ packets: [ByteBuffer]) -> [RTPHeader] {
        packets.compactMap { buffer in buffer.withUnsafeReadableBytes { try? RTPHeader(parsing: $0) } }
    }

    @Test func pcmuFromTheCalleeBecomesOpusWithTheAnnouncedSSRCAndMID() throws {
        let path = try TranscodingPath(plan: Self.plan(), opus: OpusEncoder.Configuration())
        var out: [ByteBuffer] = []
        for index in 0..<5 {
            let frame = [UInt8](repeating: 0xFF, count: 160)
            path.calleeToBrowser(Self.packet(payloadType: 0, sequence: UInt16(100 + index), timestamp: UInt32(8000 + 160 * index), payload: frame)) { out.append($0) }
        }
        let headers = Self.headers(out)
        #expect(headers.count == 5)
        #expect(headers.allSatisfy { $0.payloadType == 111 && $0.ssrc == 0x1234_5678 })
        #expect(zip(headers, headers.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 && $1.timestamp == $0.timestamp &+ 960 })
        let mid = out[0].withUnsafeReadableBytes { bytes in headers[0].extensionElement(id: 4, in: bytes).map { Array(bytes[$0.data]) } }
        #expect(mid == Array("0".utf8))
    }

    @Test func aSequenceGapIsConcealedNotSkipped() throws {
        let path = try TranscodingPath(plan: Self.plan(), opus: OpusEncoder.Configuration())
        var out: [ByteBuffer] = []
        let frame = [UInt8](repeating: 0xFF, count: 160)
        path.calleeToBrowser(Self.packet(payloadType: 0, sequence: 1, timestamp: 0, payload: frame)) { out.append($0) }
        path.calleeToBrowser(Self.packet(payloadType: 0, sequence: 3, timestamp: 320, payload: frame)) { out.append($0) }
        // Packet 2 is made up, so the browser sees three consecutive frames.
        #expect(Self.headers(out).map(\.sequenceNumber).count == 3)
        // A duplicate and a late packet produce nothing.
        path.calleeToBrowser(Self.packet(payloadType: 0, sequence: 3, timestamp: 320, payload: frame)) { out.append($0) }
        path.calleeToBrowser(Self.packet(payloadType: 0, sequence: 2, timestamp: 160, payload: frame)) { out.append($0) }
        #expect(out.count == 3)
    }

    @Test func longerFramesMoveTheTimestampByTheirLength() throws {
        let path = try TranscodingPath(plan: Self.plan(), opus: OpusEncoder.Configuration())
        var out: [ByteBuffer] = []
        // 60 ms of PCMU a packet (480 samples) becomes 60 ms of Opus: 2880 ticks at 48 kHz.
        for index in 0..<4 {
            let frame = [UInt8](repeating: 0xFF, count: 480)
            path.calleeToBrowser(Self.packet(payloadType: 0, sequence: UInt16(7 + index), timestamp: UInt32(480 * index), payload: frame)) { out.append($0) }
        }
        let headers = Self.headers(out)
        #expect(headers.count == 4)
        #expect(zip(headers, headers.dropFirst()).allSatisfy { $1.timestamp == $0.timestamp &+ 2880 })
    }

    @Test func aLongOutageMovesTheTimestampOnByItsLength() throws {
        let path = try TranscodingPath(plan: Self.plan(), opus: OpusEncoder.Configuration())
        var out: [ByteBuffer] = []
        let frame = [UInt8](repeating: 0xFF, count: 160)
        path.calleeToBrowser(Self.packet(payloadType: 0, sequence: 1, timestamp: 0, payload: frame)) { out.append($0) }
        path.calleeToBrowser(Self.packet(payloadType: 0, sequence: 2, timestamp: 160, payload: frame)) { out.append($0) }
        // 10 packets (200 ms) never arrive: not concealed, but the timeline keeps the gap.
        path.calleeToBrowser(Self.packet(payloadType: 0, sequence: 13, timestamp: 160 * 12, payload: frame)) { out.append($0) }
        let headers = Self.headers(out)
        #expect(headers.count == 3)
        #expect(headers[1].timestamp == headers[0].timestamp &+ 960)
        #expect(headers[2].timestamp == headers[1].timestamp &+ 960 * 11)
        #expect(headers[2].marker && !headers[1].marker)
        #expect(headers[2].sequenceNumber == headers[1].sequenceNumber &+ 1)
    }

    @Test func telephoneEventsMoveToTheOtherClock() throws {
        let path = try TranscodingPath(plan: Self.plan(), opus: OpusEncoder.Configuration())
        var out: [ByteBuffer] = []
        // Opus audio first (the event lines up with it), then digit 5: 20 ms, 40 ms, end ×3.
        var silence = [Int16](repeating: 0, count: 960)
        let encoder = try OpusEncoder()
        var opus = [UInt8](repeating: 0, count: 1500)
        let opusLength = try silence.withUnsafeMutableBufferPointer { pcm in
            try opus.withUnsafeMutableBytes { try encoder.encode(UnsafeBufferPointer(pcm), into: $0) }
        }
        path.browserToCallee(Self.packet(payloadType: 111, sequence: 10, timestamp: 48_000, payload: Array(opus[..<opusLength]))) { out.append($0) }
        let durations: [(UInt16, Bool)] = [(960, false), (1920, false), (2880, true), (2880, true), (2880, true)]
        for (index, (duration, end)) in durations.enumerated() {
            let event: [UInt8] = [5, end ? 0x80 | 10 : 10, UInt8(duration >> 8), UInt8(duration & 0xFF)]
            path.browserToCallee(Self.packet(payloadType: 110, sequence: UInt16(11 + index), timestamp: 48_960, marker: index == 0, payload: event)) { out.append($0) }
        }
        let headers = Self.headers(out)
        #expect(headers.count == 6)
        let events = Array(headers.dropFirst())
        #expect(events.allSatisfy { $0.payloadType == 101 })
        // One event, one timestamp, 160 samples after the audio it follows at 8 kHz.
        #expect(Set(events.map(\.timestamp)).count == 1)
        #expect(events[0].timestamp == headers[0].timestamp &+ 160)
        #expect(events[0].marker)
        let parsed = zip(out.dropFirst(), events).compactMap { buffer, header in
            buffer.withUnsafeReadableBytes { try? TelephoneEvent(parsing: UnsafeRawBufferPointer(rebasing: $0[header.payload])) }
        }
        #expect(parsed.map(\.duration) == [160, 320, 480, 480, 480])
        #expect(parsed.map(\.isEnd) == [false, false, true, true, true])
        #expect(parsed.allSatisfy { $0.event == 5 })
        // Sequence numbers continue the audio stream's.
        #expect(headers.map(\.sequenceNumber) == (0..<6).map { headers[0].sequenceNumber &+ UInt16($0) })
    }
}
