/// The timers of RFC 3261 §17 (Table 4 of Appendix A) and RFC 6026, plus the delay after
/// which an INVITE server transaction answers `100 Trying` on its own (§17.2.1).
///
/// Timer C belongs to stateful proxies and is not used by user agents or a B2BUA.
public enum SIPTransactionTimer: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// INVITE request retransmission (client, unreliable transports only).
    case a
    /// INVITE transaction timeout (client).
    case b
    /// Wait time for response retransmissions after a non-2xx final response (INVITE client).
    case d
    /// Non-INVITE request retransmission (client, unreliable transports only).
    case e
    /// Non-INVITE transaction timeout (client).
    case f
    /// Final non-2xx response retransmission (INVITE server, unreliable transports only).
    case g
    /// Wait time for the ACK to a non-2xx final response (INVITE server).
    case h
    /// Wait time for ACK retransmissions (INVITE server).
    case i
    /// Wait time for request retransmissions (non-INVITE server).
    case j
    /// Wait time for response retransmissions (non-INVITE client).
    case k
    /// Wait time for INVITE retransmissions after a 2xx (INVITE server, RFC 6026).
    case l
    /// Wait time for 2xx retransmissions (INVITE client, RFC 6026).
    case m
    /// The INVITE server transaction sends `100 Trying` when the TU has not answered by then.
    case trying

    public var description: String {
        switch self {
        case .a: "Timer A"
        case .b: "Timer B"
        case .d: "Timer D"
        case .e: "Timer E"
        case .f: "Timer F"
        case .g: "Timer G"
        case .h: "Timer H"
        case .i: "Timer I"
        case .j: "Timer J"
        case .k: "Timer K"
        case .l: "Timer L"
        case .m: "Timer M"
        case .trying: "100 Trying timer"
        }
    }
}

/// A set of ``SIPTransactionTimer``s, stored as a bit mask.
public struct SIPTransactionTimers: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public init(_ timer: SIPTransactionTimer) { self.rawValue = 1 << UInt16(timer.rawValue) }

    public static let a = SIPTransactionTimers(.a)
    public static let b = SIPTransactionTimers(.b)
    public static let d = SIPTransactionTimers(.d)
    public static let e = SIPTransactionTimers(.e)
    public static let f = SIPTransactionTimers(.f)
    public static let g = SIPTransactionTimers(.g)
    public static let h = SIPTransactionTimers(.h)
    public static let i = SIPTransactionTimers(.i)
    public static let j = SIPTransactionTimers(.j)
    public static let k = SIPTransactionTimers(.k)
    public static let l = SIPTransactionTimers(.l)
    public static let m = SIPTransactionTimers(.m)
    public static let trying = SIPTransactionTimers(.trying)

    public func contains(_ timer: SIPTransactionTimer) -> Bool { contains(SIPTransactionTimers(timer)) }

    public var description: String {
        "[" + SIPTransactionTimer.allCases.filter { contains($0) }.map(\.description).joined(separator: ", ") + "]"
    }
}

/// The timer base values of RFC 3261 §17.1.1.1 and Appendix A. Every transaction timer is
/// derived from them:
///
/// | timer | unreliable transport | reliable transport |
/// | --- | --- | --- |
/// | A, E, G | starts at T1 (E and G are capped at T2) | not used |
/// | B, F, H, L, M | 64·T1 | 64·T1 |
/// | D | max(32 s, 64·T1) | 0 |
/// | I, K | T4 | 0 |
/// | J | 64·T1 | 0 |
public struct SIPTimerValues: Sendable, Hashable {
    /// Round-trip time estimate; 500 ms by default.
    public var t1: Duration
    /// Maximum retransmission interval for non-INVITE requests and INVITE responses; 4 s by default.
    public var t2: Duration
    /// Maximum time a message stays in the network; 5 s by default.
    public var t4: Duration
    /// How long an INVITE server transaction waits for the TU before sending `100 Trying`
    /// itself; 200 ms by default (RFC 3261 §17.2.1).
    public var tryingDelay: Duration

    public init(
        t1: Duration = .milliseconds(500),
        t2: Duration = .seconds(4),
        t4: Duration = .seconds(5),
        tryingDelay: Duration = .milliseconds(200)
    ) {
        self.t1 = t1
        self.t2 = t2
        self.t4 = t4
        self.tryingDelay = tryingDelay
    }

    /// 64·T1: Timers B, F, H, J (unreliable), L and M.
    public var transactionTimeout: Duration { t1 * 64 }

    /// Timer D on an unreliable transport: at least 32 seconds, and never shorter than the
    /// time the server keeps retransmitting (64·T1).
    public var completedWait: Duration { Swift.max(.seconds(32), transactionTimeout) }

    /// The next interval of a retransmission timer that doubles up to T2 (Timers E and G).
    func doubledUpToT2(_ interval: Duration) -> Duration { Swift.min(interval * 2, t2) }
}
