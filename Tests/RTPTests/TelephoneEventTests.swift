import Testing
@testable import RTP

@Suite("Telephone-event")
struct TelephoneEventTests {
    @Test func parsesAndBuildsPayload() throws {
        // Digit 5, end, volume 10, duration 800 (RFC 4733 §2.3 layout).
        let payload = hex("05 8A 03 20")
        let event = try payload.withUnsafeBytes { try TelephoneEvent(parsing: $0) }
        #expect(event == TelephoneEvent(event: 5, isEnd: true, volume: 10, duration: 800))
        // The reserved bit is ignored.
        let reserved = try hex("0B 4A 00 A0").withUnsafeBytes { try TelephoneEvent(parsing: $0) }
        #expect(reserved == TelephoneEvent(event: 11, isEnd: false, volume: 10, duration: 160))
        var buffer = [UInt8](repeating: 0xFF, count: 4)
        #expect(buffer.withUnsafeMutableBytes { event.write(into: $0) } == 4)
        #expect(buffer == payload)
        #expect(throws: TelephoneEventParseError.truncated) { try hex("05 8A 03").withUnsafeBytes { try TelephoneEvent(parsing: $0) } }
        var short = [UInt8](repeating: 0, count: 3)
        #expect(short.withUnsafeMutableBytes { event.write(into: $0) } == nil)
    }

    @Test func relaysFrom48000To8000WithEndRetransmissions() {
        // The 48 kHz timestamp 96000 corresponds to 8 kHz timestamp 50000.
        var converter = TelephoneEventRateConverter(inputClockRate: 48000, outputClockRate: 8000, anchor: 96000, output: 50000)
        let start: UInt32 = 96000 + 48000  // one second later
        let input: [(Bool, TelephoneEvent)] = [
            (true, TelephoneEvent(event: 1, isEnd: false, volume: 10, duration: 960)),
            (false, TelephoneEvent(event: 1, isEnd: false, volume: 10, duration: 1920)),
            (false, TelephoneEvent(event: 1, isEnd: false, volume: 10, duration: 2880)),
            (false, TelephoneEvent(event: 1, isEnd: true, volume: 10, duration: 3840)),
            (false, TelephoneEvent(event: 1, isEnd: true, volume: 10, duration: 3840)),
            (false, TelephoneEvent(event: 1, isEnd: true, volume: 10, duration: 3840)),
        ]
        let output = input.map { converter.convert(timestamp: start, marker: $0.0, event: $0.1) }
        #expect(output.map(\.timestamp) == Array(repeating: 58000, count: 6))
        #expect(output.map(\.marker) == [true, false, false, false, false, false])
        #expect(output.map(\.event.duration) == [160, 320, 480, 640, 640, 640])
        #expect(output.map(\.event.isEnd) == [false, false, false, true, true, true])
        #expect(output.allSatisfy { $0.event.event == 1 && $0.event.volume == 10 })

        // Moving the anchor mid-event does not move the event; the next event uses it.
        converter.setAnchor(input: 0, output: 0)
        #expect(converter.convert(timestamp: start, marker: false, event: input[3].1).timestamp == 58000)
        #expect(converter.convert(timestamp: 4800, marker: true, event: input[0].1).timestamp == 800)
    }

    @Test func relaysFrom8000To48000AcrossTimestampWrap() {
        // Input just before its wrap; output anchored near its own wrap too.
        var converter = TelephoneEventRateConverter(inputClockRate: 8000, outputClockRate: 48000, anchor: UInt32.max - 159, output: UInt32.max - 959)
        let output = converter.convert(timestamp: 160, marker: true, event: TelephoneEvent(event: 10, isEnd: false, volume: 7, duration: 400))
        // 320 ticks after the anchor at 8 kHz is 1920 at 48 kHz.
        #expect(output.timestamp == (UInt32.max - 959) &+ 1920)
        #expect(output.event.duration == 2400)
        // Long events saturate at the largest duration rather than wrapping.
        let long = converter.convert(timestamp: 160, marker: false, event: TelephoneEvent(event: 10, isEnd: false, volume: 7, duration: 20000))
        #expect(long.event.duration == UInt16.max)
        // Rounding to nearest: 7 ticks at 48 kHz is 1.17 ticks at 8 kHz.
        var down = TelephoneEventRateConverter(inputClockRate: 48000, outputClockRate: 8000, anchor: 0, output: 0)
        #expect(down.convert(timestamp: 0, marker: true, event: TelephoneEvent(event: 0, isEnd: false, volume: 0, duration: 7)).event.duration == 1)
        #expect(down.convert(timestamp: 0, marker: true, event: TelephoneEvent(event: 0, isEnd: false, volume: 0, duration: 9)).event.duration == 2)
    }
}
