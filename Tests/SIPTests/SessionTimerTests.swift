import Testing
@testable import SIP

@Suite("Session timers (RFC 4028) and reliable provisional responses (RFC 3262)")
struct SessionTimerTests {
    static func message(_ startLine: String, _ headers: [String]) throws -> SIPMessage {
        let text = ([startLine, "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKst1", "From: <sip:a@192.0.2.1>;tag=a",
                     "To: <sip:b@192.0.2.2>;tag=b", "Call-ID: st@192.0.2.1", "CSeq: 7 INVITE", "Max-Forwards: 70"]
            + headers + ["Content-Length: 0", "", ""]).joined(separator: "\r\n")
        return try SIPMessage.parse(datagram: Array(text.utf8))
    }

    static func answer(_ headers: [String]) throws -> SIPMessage { try message("SIP/2.0 200 OK", headers) }
    static func invite(_ headers: [String]) throws -> SIPMessage { try message("INVITE sip:b@192.0.2.2 SIP/2.0", headers) }

    @Test(arguments: [
        ("1800", SIPSessionExpires(interval: 1800, refresher: nil)),
        ("4;refresher=uac", SIPSessionExpires(interval: 4, refresher: .uac)),
        (" 90 ; Refresher = UAS ;x=1", SIPSessionExpires(interval: 90, refresher: .uas)),
    ])
    func parsesSessionExpires(text: String, expected: SIPSessionExpires) throws {
        #expect(try SIPSessionExpires(parsing: text) == expected)
    }

    @Test(arguments: ["", "abc", "-5", "90;refresher=proxy", "90;refresher", "99999999999"])
    func rejectsBadSessionExpires(text: String) {
        #expect(throws: SIPParseError.self) { try SIPSessionExpires(parsing: text) }
    }

    @Test func refresherRefreshesAtHalfTheInterval() throws {
        let timer = try #require(SIPSessionTimer.forAnswer(try Self.answer(["Require: timer", "Session-Expires: 4;refresher=uac"])))
        #expect(timer == SIPSessionTimer(interval: 4, role: .refresher))
        #expect(timer.delay == .seconds(2))
        // No refresher parameter in a 2xx: the UAC (we) refreshes.
        #expect(SIPSessionTimer.forAnswer(try Self.answer(["Session-Expires: 1800"]))?.role == .refresher)
        #expect(SIPSessionTimer.forAnswer(try Self.answer([])) == nil)
        #expect(SIPSessionTimer.forAnswer(try Self.answer(["Session-Expires: soon"])) == nil)
    }

    @Test func watcherEndsTheSessionBeforeItExpires() throws {
        let timer = try #require(SIPSessionTimer.forAnswer(try Self.answer(["Session-Expires: 4;refresher=uas"])))
        #expect(timer.role == .watcher)
        // 4 s − min(32 s, 4/3 s)
        #expect(timer.delay == .milliseconds(2667))
        // Long intervals leave 32 s.
        #expect(SIPSessionTimer(interval: 1800, role: .watcher).delay == .seconds(1768))
        #expect(SIPSessionTimer(interval: 90, role: .watcher).delay == .seconds(60))
    }

    @Test func requestsBelowMinSEAreRefused() throws {
        #expect(SIPSessionTimer.check(request: try Self.invite(["Supported: timer", "Session-Expires: 89"])) == .tooSmall)
        #expect(SIPSessionTimer.check(request: try Self.invite(["Supported: timer", "Session-Expires: 90"])) == .accept(interval: 90))
        #expect(SIPSessionTimer.check(request: try Self.invite(["Session-Expires: 1800"])) == .none)
        #expect(SIPSessionTimer.check(request: try Self.invite(["Require: timer", "Session-Expires: 1800;refresher=uac"])) == .accept(interval: 1800))
        #expect(SIPSessionTimer.check(request: try Self.invite(["Supported: timer", "Session-Expires: x"])) == .malformed)
        #expect(SIPSessionTimer.check(request: try Self.invite(["Supported: timer"])) == .none)
    }

    static func provisional(_ status: String, rseq: String?, require: Bool = true) throws -> SIPMessage {
        var headers: [String] = []
        if require { headers.append("Require: 100rel") }
        if let rseq { headers.append("RSeq: \(rseq)") }
        return try message("SIP/2.0 \(status)", headers)
    }

    @Test func reliableProvisionalsArePRACKedOncePerRSeqInOrder() throws {
        var tracker = SIPReliableProvisionalTracker()
        #expect(tracker.receive(try Self.provisional("180 Ringing", rseq: nil, require: false)) == .unreliable)
        #expect(tracker.receive(try Self.provisional("180 Ringing", rseq: "41")) == .acknowledge(rack: "41 7 INVITE"))
        // The retransmission.
        #expect(tracker.receive(try Self.provisional("180 Ringing", rseq: "41")) == .ignore)
        // Out of order: not one above the last.
        #expect(tracker.receive(try Self.provisional("183 Session Progress", rseq: "43")) == .ignore)
        #expect(tracker.receive(try Self.provisional("183 Session Progress", rseq: "42")) == .acknowledge(rack: "42 7 INVITE"))
        #expect(tracker.lastRSeq == 42)
        // Require: 100rel without a usable RSeq is not acknowledged.
        #expect(tracker.receive(try Self.provisional("183 Session Progress", rseq: nil)) == .ignore)
        #expect(tracker.receive(try Self.provisional("183 Session Progress", rseq: "0")) == .ignore)
        #expect(tracker.receive(try Self.message("SIP/2.0 100 Trying", ["Require: 100rel", "RSeq: 43"])) == .unreliable)
    }
}
