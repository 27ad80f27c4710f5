// SIP parser throughput: `SIPMessage.parse(datagram:)`, the accessors a B2BUA reads per message,
// and `serialize(into:)`, for the messages of a basic call as they pass through the gateway.
//
// The call messages are the ones SIPp (`Tests/EndToEnd/sipp/uac_call.xml` and
// `uas_answer_at_once.xml`) and the gateway exchanged in one call trunk → trunk over UDP on
// 127.0.0.1, byte for byte (captured with `sipp -trace_msg`). The torture message is RFC 4475
// §3.1.1.1 "wsinv" (folding, compact forms, odd spacing, escaped quotes), read from
// `Tests/SIPTests/Fixtures/rfc4475/wsinv.dat`.
//
// Each case runs 5 passes of a fixed iteration count sized to `SIP_PARSER_PASS_SECONDS` (0.5 s)
// each, so at least ~2.5 s per case; the best pass by monotonic (CLOCK_MONOTONIC) time is
// reported, with that pass's thread CPU time beside it (other processes on a shared machine
// preempt the thread but do not add to its CPU time). Inputs rotate over several distinct
// buffers and every result feeds a checksum that is printed, so no work can be hoisted or dropped.
//
// Usage: SIPParserBenchmark [path/to/wsinv.dat]

import Foundation
import NIOCore
import SIP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: The messages

/// Joins lines with CRLF; the header section ends with an empty line, then the body.
func wire(_ head: [String], body: [String] = []) -> String {
    head.joined(separator: "\r\n") + "\r\n\r\n" + (body.isEmpty ? "" : body.joined(separator: "\r\n") + "\r\n")
}

let offerSDP = [
    "v=0",
    "o=shopper 53655765 2353687637 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 6004 RTP/AVP 0 8 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=sendrecv",
]
let answerSDP = [
    "v=0",
    "o=agent 53655765 2353687637 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 6000 RTP/AVP 0 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=sendrecv",
]

// Caller leg (SIPp UAC ↔ gateway).
let callerVia = "Via: SIP/2.0/UDP 127.0.0.1:15480;branch=z9hG4bK-13432-1-0"
let callerFrom = "From: \"Shopper\" <sip:+15550100@127.0.0.1>;tag=13432SIPpTag001"
let callerTo = "To: <sip:agents@127.0.0.1:15460>"
let callerToTagged = "To: <sip:agents@127.0.0.1:15460>;tag=32g05t4i2wkj81pyu83l"
let callerCallID = "Call-ID: 1-13432@127.0.0.1"

let callerInvite = wire([
    "INVITE sip:agents@127.0.0.1:15460 SIP/2.0",
    callerVia, callerFrom, callerTo, callerCallID,
    "CSeq: 1 INVITE",
    "Contact: <sip:shopper@127.0.0.1:15480;transport=UDP>",
    "Max-Forwards: 70",
    "User-Agent: switchboard-sip-cps",
    "Content-Type: application/sdp",
    "Content-Length:   206",
], body: offerSDP)
let callerTrying = wire([
    "SIP/2.0 100 Trying",
    callerVia, callerFrom, callerTo, callerCallID,
    "CSeq: 1 INVITE",
    "Content-Length: 0",
])
let callerOK = wire([
    "SIP/2.0 200 OK",
    callerVia, callerFrom, callerToTagged, callerCallID,
    "CSeq: 1 INVITE",
    "Contact: <sip:b2bua@127.0.0.1:15460>",
    "Server: Switchboard/0.1.0",
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE",
    "Content-Type: application/sdp",
    "Content-Length: 180",
], body: answerSDP)
let callerAck = wire([
    "ACK sip:b2bua@127.0.0.1:15460 SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:15480;branch=z9hG4bK-13432-1-5",
    callerFrom, callerToTagged, callerCallID,
    "CSeq: 1 ACK",
    "Contact: <sip:shopper@127.0.0.1:15480;transport=UDP>",
    "Max-Forwards: 70",
    "Content-Length: 0",
])
let callerBye = wire([
    "BYE sip:b2bua@127.0.0.1:15460 SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:15480;branch=z9hG4bK-13432-1-7",
    callerFrom, callerToTagged, callerCallID,
    "CSeq: 2 BYE",
    "Max-Forwards: 70",
    "Content-Length: 0",
])
let callerByeOK = wire([
    "SIP/2.0 200 OK",
    "Via: SIP/2.0/UDP 127.0.0.1:15480;branch=z9hG4bK-13432-1-7",
    callerFrom, callerToTagged, callerCallID,
    "CSeq: 2 BYE",
    "Content-Length: 0",
])

// Callee leg (gateway ↔ SIPp UAS).
let calleeFrom = "From: \"Shopper\" <sip:+15550100@127.0.0.1:15460>;tag=2a122asexmdqp1legflb"
let calleeTo = "To: <sip:127.0.0.1:15470>"
let calleeToTagged = "To: <sip:127.0.0.1:15470>;tag=13367SIPpTag011"
let calleeCallID = "Call-ID: 1umofmh7xcvpesx4hnnv4eems@127.0.0.1"
let calleeInviteVia = "Via: SIP/2.0/UDP 127.0.0.1:15460;rport;branch=z9hG4bKbof0vbSIWytY1AoS3zki"
let calleeByeVia = "Via: SIP/2.0/UDP 127.0.0.1:15460;rport;branch=z9hG4bKiAv7A1hlUk3fv6rukD5w"

let calleeInvite = wire([
    "INVITE sip:127.0.0.1:15470 SIP/2.0",
    calleeInviteVia,
    "Max-Forwards: 69",
    calleeFrom, calleeTo, calleeCallID,
    "CSeq: 1 INVITE",
    "Contact: <sip:b2bua@127.0.0.1:15460>",
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE",
    "Supported: 100rel, timer",
    "X-Switchboard-Call-Id: cal_01M8T7J7B9Q797S3PDHBBHPEJS",
    "Call-Info: <http://127.0.0.1:18480/v1/calls/cal_01M8T7J7B9Q797S3PDHBBHPEJS>;purpose=info",
    "User-Agent: Switchboard/0.1.0",
    "Content-Type: application/sdp",
    "Content-Length: 206",
], body: offerSDP)
let calleeTrying = wire([
    "SIP/2.0 100 Trying",
    calleeInviteVia, calleeFrom, calleeTo, calleeCallID,
    "CSeq: 1 INVITE",
    "Content-Length: 0",
])
let calleeOK = wire([
    "SIP/2.0 200 OK",
    calleeInviteVia, calleeFrom, calleeToTagged, calleeCallID,
    "CSeq: 1 INVITE",
    "Contact: <sip:agent@127.0.0.1:15470;transport=UDP>",
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS",
    "Content-Type: application/sdp",
    "Content-Length:   180",
], body: answerSDP)
let calleeAck = wire([
    "ACK sip:agent@127.0.0.1:15470;transport=UDP SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:15460;rport;branch=z9hG4bKOWmyw5pqNNPiwxIsVJW3",
    "Max-Forwards: 70",
    calleeFrom, calleeToTagged, calleeCallID,
    "CSeq: 1 ACK",
    "Content-Length: 0",
])
let calleeBye = wire([
    "BYE sip:agent@127.0.0.1:15470;transport=UDP SIP/2.0",
    calleeByeVia,
    "Max-Forwards: 70",
    calleeFrom, calleeToTagged, calleeCallID,
    "CSeq: 2 BYE",
    "Content-Length: 0",
])
let calleeByeOK = wire([
    "SIP/2.0 200 OK",
    calleeByeVia, calleeFrom, calleeToTagged, calleeCallID,
    "CSeq: 2 BYE",
    "Content-Length: 0",
])

func wsinvPath() -> String {
    if CommandLine.arguments.count > 1 { return CommandLine.arguments[1] }
    // Sources/SIPParserBenchmark/main.swift → the repository's SIP test fixtures.
    let here = URL(fileURLWithPath: #filePath)
    let repo = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    return repo.appendingPathComponent("Tests/SIPTests/Fixtures/rfc4475/wsinv.dat").path
}

guard let wsinv = FileManager.default.contents(atPath: wsinvPath()) else {
    FileHandle.standardError.write(Data("cannot read \(wsinvPath()) (pass the path to wsinv.dat)\n".utf8))
    exit(1)
}

/// One message as received: several distinct copies of its bytes, so consecutive iterations
/// never parse the same buffer.
struct Datagram {
    let name: String
    let copies: [ByteBuffer]
    var size: Int { copies[0].readableBytes }

    init(_ name: String, bytes: [UInt8]) {
        self.name = name
        copies = (0..<8).map { _ in ByteBuffer(bytes: bytes) }
    }

    init(_ name: String, _ text: String) {
        self.init(name, bytes: Array(text.utf8))
    }
}

// MARK: The work

/// What a proxy or B2BUA reads from every message: transaction key (top Via branch, CSeq),
/// dialog key (Call-ID, From tag, To tag). Returns a number derived from all of it.
@inline(__always)
func dialogAndTransactionKey(_ message: SIPMessage) throws(SIPParseError) -> Int {
    var sum = 0
    if let via = try message.topVia { sum &+= via.branch?.utf8.count ?? 0 }
    sum &+= try message.from.tag?.utf8.count ?? 0
    sum &+= try message.to.tag?.utf8.count ?? 0
    sum &+= message.callID?.utf8.count ?? 0
    let cseq = try message.cseq
    sum &+= Int(cseq.sequence) &+ cseq.method.rawValue.utf8.count
    return sum
}

@inline(__always)
func parseOnly(_ buffer: ByteBuffer) throws(SIPParseError) -> Int {
    let message = try SIPMessage.parse(datagram: buffer)
    return message.headers.count &+ message.body.readableBytes
}

@inline(__always)
func parseAndRead(_ buffer: ByteBuffer) throws(SIPParseError) -> Int {
    let message = try SIPMessage.parse(datagram: buffer)
    return try dialogAndTransactionKey(message) &+ message.body.readableBytes
}

// MARK: Timing

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func threadCPUNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

struct Measurement {
    var iterations: Int
    var wallNanoseconds: UInt64
    var cpuNanoseconds: UInt64
    var perSecond: Double { Double(iterations) * 1e9 / Double(wallNanoseconds) }
    var microsecondsEach: Double { Double(wallNanoseconds) / 1e3 / Double(iterations) }
    var cpuMicrosecondsEach: Double { Double(cpuNanoseconds) / 1e3 / Double(iterations) }
}

let passSeconds = Double(ProcessInfo.processInfo.environment["SIP_PARSER_PASS_SECONDS"] ?? "") ?? 0.5
let passes = 5
var checksum = 0
var totalSeconds = 0.0

/// Runs `body(i)` for i in 0..<count, `passes` times with a count sized to `passSeconds` per
/// pass, and returns the best pass. `body` returns a number that goes into the checksum.
@MainActor
func measure(_ body: (Int) throws -> Int) rethrows -> Measurement {
    // Calibrate: double the count until one batch takes at least 50 ms.
    var count = 16
    while true {
        let start = monotonicNanoseconds()
        var sum = 0
        for i in 0..<count { sum &+= try body(i) }
        checksum &+= sum
        let elapsed = monotonicNanoseconds() - start
        if elapsed >= 50_000_000 {
            count = max(1, Int(Double(count) * passSeconds * 1e9 / Double(elapsed)))
            break
        }
        count *= 2
    }
    var best: Measurement?
    for _ in 0..<passes {
        let startCPU = threadCPUNanoseconds()
        let start = monotonicNanoseconds()
        var sum = 0
        for i in 0..<count { sum &+= try body(i) }
        let wall = monotonicNanoseconds() - start
        let cpu = threadCPUNanoseconds() - startCPU
        checksum &+= sum
        totalSeconds += Double(wall) / 1e9
        if best == nil || wall < best!.wallNanoseconds {
            best = Measurement(iterations: count, wallNanoseconds: wall, cpuNanoseconds: cpu)
        }
    }
    return best!
}

func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let count = text.count
    if count >= width { return text }
    let fill = String(repeating: " ", count: width - count)
    return right ? fill + text : text + fill
}

func formatted(_ value: Double, decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}

func grouped(_ value: Double) -> String {
    let digits = String(Int(value.rounded()))
    var output = ""
    for (index, character) in digits.reversed().enumerated() {
        if index > 0, index % 3 == 0 { output.append(",") }
        output.append(character)
    }
    return String(output.reversed())
}

func row(_ name: String, _ size: String, _ measurement: Measurement) {
    print(
        pad(name, 34) + pad(size, 7, right: true)
            + pad(grouped(measurement.perSecond), 13, right: true)
            + pad(formatted(measurement.microsecondsEach, decimals: 2), 10, right: true)
            + pad(formatted(measurement.cpuMicrosecondsEach, decimals: 2), 10, right: true)
    )
}

func header(_ title: String, unit: String = "msg") {
    print("")
    print(title)
    print(pad("message", 34) + pad("bytes", 7, right: true) + pad("\(unit)/s", 13, right: true)
        + pad("µs/\(unit)", 10, right: true) + pad("cpu µs", 10, right: true))
    print(String(repeating: "-", count: 74))
}

// MARK: Cases

let table: [Datagram] = [
    Datagram("INVITE with SDP (SIPp uac_call)", callerInvite),
    Datagram("200 OK with SDP (callee answer)", calleeOK),
    Datagram("100 Trying", callerTrying),
    Datagram("ACK", callerAck),
    Datagram("BYE", callerBye),
    Datagram("200 OK to BYE", callerByeOK),
    Datagram("RFC 4475 wsinv (folding, compact)", bytes: Array(wsinv)),
]

// Everything must parse before anything is timed.
for datagram in table {
    do {
        let message = try SIPMessage.parse(datagram: datagram.copies[0])
        _ = try dialogAndTransactionKey(message)
    } catch {
        print("\(datagram.name) does not parse: \(error)")
        exit(1)
    }
}

print("SIP parser benchmark: \(passes) passes of ~\(passSeconds) s per case, best pass (monotonic clock);")
print("cpu µs = that pass's thread CPU time per operation.")

header("parse: SIPMessage.parse(datagram:)")
for datagram in table {
    let copies = datagram.copies
    let result = try measure { i in try parseOnly(copies[i & 7]) }
    row(datagram.name, String(datagram.size), result)
}

header("parse + accessors: topVia.branch, from.tag, to.tag, callID, cseq")
for datagram in table {
    let copies = datagram.copies
    let result = try measure { i in try parseAndRead(copies[i & 7]) }
    row(datagram.name, String(datagram.size), result)
}

header("serialize(into:) a parsed message, into one reused ByteBuffer")
var output = ByteBufferAllocator().buffer(capacity: 4096)
for datagram in table {
    let messages = try datagram.copies.map { buffer throws(SIPParseError) in try SIPMessage.parse(datagram: buffer) }
    var written = ByteBuffer()
    messages[0].serialize(into: &written)
    let result = measure { i in
        output.clear()
        messages[i & 7].serialize(into: &output)
        return output.writerIndex
    }
    row(datagram.name, String(written.readableBytes), result)
}

// A call through the B2BUA: each of the six messages arrives on one leg (parse + accessors)
// and its counterpart leaves on the other (serialize). In: INVITE from the caller, 100 and 200
// from the callee, ACK and BYE from the caller, 200 to the BYE from the callee. Out: the
// INVITE, ACK and BYE to the callee, the 100, the 200 and the 200 to the BYE to the caller.
let callIn: [Datagram] = [
    Datagram("INVITE", callerInvite), Datagram("100", calleeTrying), Datagram("200", calleeOK),
    Datagram("ACK", callerAck), Datagram("BYE", callerBye), Datagram("200 BYE", calleeByeOK),
]
let callOutText = [calleeInvite, callerTrying, callerOK, calleeAck, calleeBye, callerByeOK]
let callOut: [[SIPMessage]] = try callOutText.map { text throws(SIPParseError) in
    try Datagram("out", text).copies.map { buffer throws(SIPParseError) in try SIPMessage.parse(datagram: buffer) }
}
let callInCopies = callIn.map(\.copies)
let inBytes = callIn.reduce(0) { $0 + $1.size }
let outBytes = callOutText.reduce(0) { $0 + $1.utf8.count }

header("one call through the B2BUA (6 messages in, 6 out)", unit: "call")
let parseSide = try measure { i in
    var sum = 0
    for copies in callInCopies { sum &+= try parseAndRead(copies[i & 7]) }
    return sum
}
row("6 in: parse + accessors", String(inBytes), parseSide)
let serializeSide = measure { i in
    var sum = 0
    for messages in callOut {
        output.clear()
        messages[i & 7].serialize(into: &output)
        sum &+= output.writerIndex
    }
    return sum
}
row("6 out: serialize", String(outBytes), serializeSide)
let wholeCall = try measure { i in
    var sum = 0
    for index in 0..<6 {
        sum &+= try parseAndRead(callInCopies[index][i & 7])
        output.clear()
        callOut[index][i & 7].serialize(into: &output)
        sum &+= output.writerIndex
    }
    return sum
}
row("6 in + 6 out", String(inBytes + outBytes), wholeCall)

print("")
print("calls/s worth of parsing and serializing on one core: \(grouped(wholeCall.perSecond))"
    + " (\(formatted(wholeCall.microsecondsEach, decimals: 1)) µs per call; thread CPU \(formatted(wholeCall.cpuMicrosecondsEach, decimals: 1)) µs"
    + " → \(grouped(1e6 / wholeCall.cpuMicrosecondsEach)) calls/s)")
print("timed \(formatted(totalSeconds, decimals: 1)) s; checksum \(checksum)")
