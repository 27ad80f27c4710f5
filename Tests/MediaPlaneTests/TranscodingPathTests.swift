import Foundation
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

    /// Plays `packets` into one direction of `path` as they would arrive (at the given
    /// offsets, in milliseconds), playing out at every multiple of `tick` as the loop's
    /// playout tick does (a tick due at an arrival's time runs first), and on until the
    /// direction is empty. Returns what went out, with when (in milliseconds).
    static func playTimed(
        _ path: TranscodingPath, toBrowser: Bool, tick: Int = 10, _ packets: [(packet: ByteBuffer, at: Int)]
    ) -> [(packet: ByteBuffer, at: Int)] {
        var out: [(packet: ByteBuffer, at: Int)] = []
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let direction = toBrowser ? path.toBrowser : path.toCallee
        var clock = 0
        func emit(at milliseconds: Int) -> TranscodingPath.Emit {
            { buffer, length in out.append((ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: buffer[..<length])), milliseconds)) }
        }
        for (packet, milliseconds) in packets {
            while clock <= milliseconds {
                _ = direction.drain(at: start + .milliseconds(Int64(clock)), emit: emit(at: clock))
                clock += tick
            }
            direction.insert(packet, at: start + .milliseconds(Int64(milliseconds)), emit: emit(at: milliseconds))
        }
        // On until nothing is buffered (a bound, so that a bug cannot hang the test).
        for _ in 0..<1000 {
            let next = direction.drain(at: start + .milliseconds(Int64(clock)), emit: emit(at: clock))
            clock += tick
            if next == nil { break }
        }
        return out
    }

    static func play(_ path: TranscodingPath, toBrowser: Bool, tick: Int = 10, _ packets: [(packet: ByteBuffer, at: Int)]) -> [ByteBuffer] {
        playTimed(path, toBrowser: toBrowser, tick: tick, packets).map(\.packet)
    }

    typealias Arrival = (packet: ByteBuffer, at: Int)

    /// A PCMU packet arriving `at` milliseconds into the test.
    static func pcmu(_ sequence: UInt16, _ timestamp: UInt32, at milliseconds: Int, _ payload: [UInt8]) -> Arrival {
        (packet(payloadType: 0, sequence: sequence, timestamp: timestamp, payload: payload), milliseconds)
    }

    static func headers(_ packets: [ByteBuffer]) -> [RTPHeader] {
        packets.compactMap { buffer in buffer.withUnsafeReadableBytes { try? RTPHeader(parsing: $0) } }
    }

    @Test func pcmuFromTheCalleeBecomesOpusWithTheAnnouncedSSRCAndMID() throws {
        let path = try TranscodingPath(plan: Self.plan(), opus: OpusEncoder.Configuration())
        let frame = [UInt8](repeating: 0xFF, count: 160)
        let out = Self.play(path, toBrowser: true, (0..<5).map { index in
            Self.pcmu(UInt16(100 + index), UInt32(8000 + 160 * index), at: 20 * index, frame)
        })
        let headers = Self.headers(out)
        #expect(headers.count == 5)
        #expect(headers.allSatisfy { $0.payloadType == 111 && $0.ssrc == 0x1234_5678 })
        #expect(zip(headers, headers.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 && $1.timestamp == $0.timestamp &+ 960 })
        let mid = out[0].withUnsafeReadableBytes { bytes in headers[0].extensionElement(id: 4, in: bytes).map { Array(bytes[$0.data]) } }
        #expect(mid == Array("0".utf8))
    }

    @Test func aSequenceGapIsConcealedNotSkipped() throws {
        let path = try TranscodingPath(plan: Self.plan(), opus: OpusEncoder.Configuration())
        let frame = [UInt8](repeating: 0xFF, count: 160)
        // Packet 2 never comes; a duplicate of 3 and a late 2 come after it.
        let arrivals: [Arrival] = [
            Self.pcmu(1, 0, at: 0, frame),
            Self.pcmu(3, 320, at: 40, frame),
            Self.pcmu(3, 320, at: 45, frame),
            Self.pcmu(2, 160, at: 150, frame),
            Self.pcmu(4, 480, at: 160, frame),
        ]
        let out = Self.play(path, toBrowser: true, arrivals)
        // Packet 2 is made up, so the browser sees four consecutive frames.
        let headers = Self.headers(out)
        #expect(headers.count == 4)
        #expect(zip(headers, headers.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 && $1.timestamp == $0.timestamp &+ 960 })
    }

    @Test func reorderedPacketsArePlayedInOrder() throws {
        // PCMU to PCMA: no filter or codec delay, so each output packet is exactly one input frame.
        var plan = Self.plan()
        plan.browserAudio = SDPPayloadFormat(payloadType: 8, codec: .pcma)
        plan.browserTelephoneEvent = nil
        func run(_ order: [Int]) throws -> [[UInt8]] {
            let path = try TranscodingPath(plan: plan, opus: OpusEncoder.Configuration())
            let values: [UInt8] = [0x10, 0x20, 0x30, 0x40]
            let arrivals = order.enumerated().map { position, index in
                Self.pcmu(UInt16(1 + index), UInt32(160 * index), at: 20 * position, [UInt8](repeating: values[index], count: 160))
            }
            let out = Self.play(path, toBrowser: true, arrivals)
            #expect(path.toBrowser.jitter.statistics.missing == 0 && path.toBrowser.jitter.statistics.late == 0)
            return zip(out, Self.headers(out)).map { buffer, header in buffer.withUnsafeReadableBytes { Array($0[header.payload]) } }
        }
        let inOrder = try run([0, 1, 2, 3])
        let swapped = try run([0, 2, 1, 3])
        #expect(inOrder.count == 4 && Set(inOrder).count == 4)
        #expect(swapped == inOrder)
    }

    @Test func longerFramesMoveTheTimestampByTheirLength() throws {
        let path = try TranscodingPath(plan: Self.plan(), opus: OpusEncoder.Configuration())
        // 60 ms of PCMU a packet (480 samples) becomes 60 ms of Opus: 2880 ticks at 48 kHz.
        let frame = [UInt8](repeating: 0xFF, count: 480)
        let out = Self.play(path, toBrowser: true, (0..<4).map { index in
            Self.pcmu(UInt16(7 + index), UInt32(480 * index), at: 60 * index, frame)
        })
        let headers = Self.headers(out)
        #expect(headers.count == 4)
        #expect(zip(headers, headers.dropFirst()).allSatisfy { $1.timestamp == $0.timestamp &+ 2880 })
    }

    @Test func aLongOutageMovesTheTimestampOnByItsLength() throws {
        let path = try TranscodingPath(plan: Self.plan(), opus: OpusEncoder.Configuration())
        let frame = [UInt8](repeating: 0xFF, count: 160)
        // 10 packets (200 ms) never arrive. When 13 comes, the frames already overdue are three
        // concealed and the rest only keep the timeline; those still ahead are concealed at their time.
        let arrivals: [Arrival] = [
            Self.pcmu(1, 0, at: 0, frame),
            Self.pcmu(2, 160, at: 20, frame),
            Self.pcmu(13, 160 * 12, at: 240, frame),
        ]
        let out = Self.play(path, toBrowser: true, arrivals)
        let headers = Self.headers(out)
        #expect(headers.count > 3 && headers.count < 12, "some of the gap skipped, not all of it concealed")
        guard let last = headers.last, headers.count > 3 else { return }
        #expect(last.timestamp == headers[1].timestamp &+ 960 * 11)
        #expect(headers.dropFirst().contains { $0.marker }, "the stream restarts after the skipped frames")
        #expect(headers.map(\.sequenceNumber) == (0..<headers.count).map { headers[0].sequenceNumber &+ UInt16($0) })
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
        let durations: [(UInt16, Bool)] = [(960, false), (1920, false), (2880, true), (2880, true), (2880, true)]
        // The audio plays out of the jitter buffer before the events come (they go at once).
        out = Self.play(path, toBrowser: false, [(Self.packet(payloadType: 111, sequence: 10, timestamp: 48_000, payload: Array(opus[..<opusLength])), 0)]
            + durations.enumerated().map { index, entry in
                let (duration, end) = entry
                let event: [UInt8] = [5, end ? 0x80 | 10 : 10, UInt8(duration >> 8), UInt8(duration & 0xFF)]
                return (Self.packet(payloadType: 110, sequence: UInt16(11 + index), timestamp: 48_960, marker: index == 0, payload: event), 200 + 20 * index)
            })
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
