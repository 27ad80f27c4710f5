import Testing
@testable import SIP

/// Messages for transaction tests, parsed from wire text so they look like real traffic.
enum TransactionFixtures {
    static let clientBranch = "z9hG4bKclient1"
    static let serverBranch = "z9hG4bKpeer77"

    static func parse(_ text: String) throws -> SIPMessage {
        try SIPMessage.parse(datagram: Array(text.utf8))
    }

    /// An INVITE from Switchboard towards the call centre, with two Route entries.
    static func invite(
        branch: String = clientBranch,
        transport: String = "UDP",
        sentBy: String = "198.51.100.1:5060",
        extraHeaders: String = ""
    ) throws -> SIPMessage {
        try parse("""
            INVITE sip:agent@cc.example.com SIP/2.0\r
            Via: SIP/2.0/\(transport) \(sentBy);branch=\(branch);rport\r
            Max-Forwards: 69\r
            Route: <sip:edge1.example.com;lr>\r
            Route: <sip:edge2.example.com;lr>\r
            To: "Agent" <sip:agent@cc.example.com>\r
            From: "Shopper" <sip:shopper@switchboard.example.com>;tag=from-1\r
            Call-ID: call-42@switchboard.example.com\r
            CSeq: 7 INVITE\r
            Contact: <sip:gw@198.51.100.1:5060>\r
            \(extraHeaders)Content-Type: application/sdp\r
            Content-Length: 4\r
            \r
            v=0\n
            """)
    }

    /// A non-INVITE request (BYE, OPTIONS, ...).
    static func request(
        _ method: String,
        branch: String = clientBranch,
        transport: String = "UDP",
        sentBy: String = "198.51.100.1:5060",
        toTag: String? = "to-9",
        cseq: Int = 8
    ) throws -> SIPMessage {
        let tag = toTag.map { ";tag=\($0)" } ?? ""
        return try parse("""
            \(method) sip:agent@cc.example.com SIP/2.0\r
            Via: SIP/2.0/\(transport) \(sentBy);branch=\(branch)\r
            Max-Forwards: 70\r
            To: <sip:agent@cc.example.com>\(tag)\r
            From: <sip:shopper@switchboard.example.com>;tag=from-1\r
            Call-ID: call-42@switchboard.example.com\r
            CSeq: \(cseq) \(method)\r
            Content-Length: 0\r
            \r

            """)
    }

    /// An INVITE arriving from a peer, optionally with a `Timestamp`.
    static func incomingInvite(
        branch: String? = serverBranch,
        sentBy: String = "192.0.2.10:5060",
        transport: String = "UDP",
        timestamp: String? = nil
    ) throws -> SIPMessage {
        let branchParameter = branch.map { ";branch=\($0)" } ?? ""
        let timestampHeader = timestamp.map { "Timestamp: \($0)\r\n" } ?? ""
        return try parse("""
            INVITE sip:sales@switchboard.example.com SIP/2.0\r
            Via: SIP/2.0/\(transport) \(sentBy)\(branchParameter)\r
            Via: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKupstream\r
            Max-Forwards: 70\r
            To: <sip:sales@switchboard.example.com>\r
            From: <sip:caller@carrier.example.net>;tag=caller-1\r
            Call-ID: inbound-1@carrier.example.net\r
            CSeq: 101 INVITE\r
            \(timestampHeader)Contact: <sip:caller@192.0.2.10>\r
            Content-Length: 0\r
            \r

            """)
    }

    /// An ACK arriving from a peer. `toTag` is the tag of the response being acknowledged.
    static func incomingACK(
        branch: String? = serverBranch,
        sentBy: String = "192.0.2.10:5060",
        toTag: String = "uas-1",
        cseq: Int = 101
    ) throws -> SIPMessage {
        let branchParameter = branch.map { ";branch=\($0)" } ?? ""
        return try parse("""
            ACK sip:sales@switchboard.example.com SIP/2.0\r
            Via: SIP/2.0/UDP \(sentBy)\(branchParameter)\r
            Max-Forwards: 70\r
            To: <sip:sales@switchboard.example.com>;tag=\(toTag)\r
            From: <sip:caller@carrier.example.net>;tag=caller-1\r
            Call-ID: inbound-1@carrier.example.net\r
            CSeq: \(cseq) ACK\r
            Content-Length: 0\r
            \r

            """)
    }

    /// A CANCEL arriving from a peer for ``incomingInvite(branch:sentBy:transport:timestamp:)``.
    static func incomingCANCEL(branch: String? = serverBranch, sentBy: String = "192.0.2.10:5060") throws -> SIPMessage {
        let branchParameter = branch.map { ";branch=\($0)" } ?? ""
        return try parse("""
            CANCEL sip:sales@switchboard.example.com SIP/2.0\r
            Via: SIP/2.0/UDP \(sentBy)\(branchParameter)\r
            Max-Forwards: 70\r
            To: <sip:sales@switchboard.example.com>\r
            From: <sip:caller@carrier.example.net>;tag=caller-1\r
            Call-ID: inbound-1@carrier.example.net\r
            CSeq: 101 CANCEL\r
            Content-Length: 0\r
            \r

            """)
    }

    /// A response to `request` as the peer would send it; `toTag` is added unless 100.
    static func response(_ status: Int, to request: SIPMessage, toTag: String? = "uas-1") -> SIPMessage {
        SIPMessage.response(to: request, statusCode: status, toTag: status == 100 ? nil : toTag)
    }
}

/// The event methods every machine shares, so one fake-clock owner drives all four.
protocol TimerDrivenTransaction {
    mutating func timerFired(_ timer: SIPTransactionTimer) -> SIPTransactionActions
}

extension SIPInviteClientTransaction: TimerDrivenTransaction {}
extension SIPNonInviteClientTransaction: TimerDrivenTransaction {}
extension SIPInviteServerTransaction: TimerDrivenTransaction {}
extension SIPNonInviteServerTransaction: TimerDrivenTransaction {}

/// A transaction owner with a fake clock: performs actions, schedules timers at
/// `now + duration`, and fires due timers in deadline order when the clock advances.
struct TransactionHarness<Machine: TimerDrivenTransaction> {
    struct Sent {
        var at: Duration
        var message: SIPMessage
    }

    var machine: Machine
    private(set) var now: Duration = .zero
    /// Scheduled timers and their deadlines.
    private(set) var timers: [SIPTransactionTimer: Duration] = [:]
    private(set) var sent: [Sent] = []
    private(set) var deliveredResponses: [SIPMessage] = []
    private(set) var deliveredRequests: [SIPMessage] = []
    private(set) var termination: SIPTransactionTermination?
    private(set) var terminatedAt: Duration?
    /// Every timer that fired, with the time it fired.
    private(set) var firings: [(timer: SIPTransactionTimer, at: Duration)] = []

    init(_ machine: Machine) { self.machine = machine }

    /// Feeds one event and performs its actions; returns them for exact checks.
    @discardableResult
    mutating func handle(_ event: (inout Machine) throws -> SIPTransactionActions) rethrows -> [SIPTransactionAction] {
        let actions = try event(&machine)
        perform(actions)
        return Array(actions)
    }

    mutating func perform(_ actions: SIPTransactionActions) {
        for action in actions {
            #expect(termination == nil, "action \(action) after the transaction terminated")
            switch action {
            case .send(let message):
                sent.append(Sent(at: now, message: message))
            case .deliverResponse(let message):
                deliveredResponses.append(message)
            case .deliverRequest(let message):
                deliveredRequests.append(message)
            case .startTimer(let timer, let duration):
                #expect(duration >= .zero)
                timers[timer] = now + duration
            case .cancelTimers(let cancelled):
                for timer in SIPTransactionTimer.allCases where cancelled.contains(timer) {
                    #expect(timers[timer] != nil, "cancelled \(timer), which is not scheduled")
                    timers[timer] = nil
                }
            case .terminate(let reason):
                termination = reason
                terminatedAt = now
                timers.removeAll()
            }
        }
    }

    /// Moves the clock to `instant`, firing every timer due by then in deadline order.
    mutating func advance(to instant: Duration) {
        while let next = timers.filter({ $0.value <= instant }).min(by: { ($0.value, $0.key.rawValue) < ($1.value, $1.key.rawValue) }) {
            now = next.value
            timers[next.key] = nil
            firings.append((next.key, now))
            perform(machine.timerFired(next.key))
        }
        now = instant
    }

    mutating func advance(by duration: Duration) { advance(to: now + duration) }

    /// Runs the clock until no timer is scheduled (or a safety limit is hit).
    mutating func runUntilIdle(limit: Duration = .seconds(600)) {
        while let deadline = timers.values.min(), deadline <= limit {
            advance(to: deadline)
        }
    }

    /// When each message was sent, in seconds.
    var sendTimes: [Double] {
        sent.map { Double($0.at.components.seconds) + Double($0.at.components.attoseconds) / 1e18 }
    }
}

/// A deterministic generator for branch tests (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
