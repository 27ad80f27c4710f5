import Testing
@testable import WebRTC

@Suite("RFC 7983 demultiplexing")
struct DatagramKindTests {
    @Test func everyFirstByte() {
        for first in 0...255 {
            let kind = DatagramKind(classifying: [UInt8(first), 0x00, 0x00, 0x00])
            let expected: DatagramKind
            switch first {
            case 0...3: expected = .stun
            case 16...19: expected = .zrtp
            case 20...63: expected = .dtls
            case 64...79: expected = .turnChannel
            case 128...191: expected = .rtp
            default: expected = .unknown
            }
            #expect(kind == expected, "first byte \(first)")
        }
    }

    @Test func rtcpBySecondByte() {
        for second in 0...255 {
            let kind = DatagramKind(classifying: [0x80, UInt8(second)])
            #expect(kind == ((192...223).contains(second) ? .rtcp : .rtp), "second byte \(second)")
        }
        // Real packets: an Opus RTP packet (PT 111, marker set) and a receiver report.
        #expect(DatagramKind(classifying: [0x90, 0xEF, 0x12, 0x34]) == .rtp)
        #expect(DatagramKind(classifying: [0x81, 0xC9, 0x00, 0x07]) == .rtcp)
        #expect(DatagramKind(classifying: [0x8F, 0xCD, 0x00, 0x04]) == .rtcp)
    }

    @Test func realDatagrams() {
        #expect(DatagramKind(classifying: RFC5769.sampleRequest) == .stun)
        // A DTLS 1.2 ClientHello record header, and a ChannelData message on channel 0x4000.
        #expect(DatagramKind(classifying: [0x16, 0xFE, 0xFD, 0x00, 0x00]) == .dtls)
        #expect(DatagramKind(classifying: [0x17, 0xFE, 0xFD]) == .dtls)
        #expect(DatagramKind(classifying: [0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]) == .turnChannel)
    }

    @Test func shortInput() {
        #expect(DatagramKind(classifying: []) == .unknown)
        #expect(DatagramKind(classifying: [0x80]) == .rtp)
        #expect(DatagramKind(classifying: [0x00]) == .stun)
    }
}
