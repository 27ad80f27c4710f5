/// `Session-Expires` (RFC 4028 §4): the session interval in seconds and who refreshes.
public struct SIPSessionExpires: Sendable, Hashable, CustomStringConvertible {
    public enum Refresher: String, Sendable, Hashable {
        case uac, uas
    }

    public var interval: Int
    public var refresher: Refresher?

    public init(interval: Int, refresher: Refresher?) {
        self.interval = interval
        self.refresher = refresher
    }

    /// `delta-seconds *( ";" se-params )`; `refresher` other than uac/uas is an error, other
    /// parameters are ignored.
    public init(parsing text: String) throws(SIPParseError) {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        guard let first = parts.first, let interval = SIPScalar.parse(String(first), limit: Int(UInt32.max)) else {
            throw SIPParseError(.malformedHeader(.sessionExpires), "Session-Expires needs delta-seconds")
        }
        var refresher: Refresher?
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard let name = pair.first?.trimmingSIPWhitespace(), name.lowercased() == "refresher" else { continue }
            guard pair.count == 2, let value = Refresher(rawValue: pair[1].trimmingSIPWhitespace().lowercased()) else {
                throw SIPParseError(.malformedHeader(.sessionExpires), "refresher must be uac or uas")
            }
            refresher = value
        }
        self.interval = interval
        self.refresher = refresher
    }

    public var description: String {
        refresher.map { "\(interval);refresher=\($0.rawValue)" } ?? String(interval)
    }
}

/// One leg's session timer as this side keeps it (RFC 4028 §7.4, §10): either we refresh the
/// session at half the interval, or the peer does and we end the session when no refresh has
/// arrived `min(32, interval/3)` seconds before it would expire.
public struct SIPSessionTimer: Sendable, Hashable {
    /// The Min-SE this implementation asks of requests (RFC 4028 recommends 90 seconds).
    public static let minimumInterval = 90

    public enum Role: Sendable, Hashable {
        /// We send the refreshes.
        case refresher
        /// The peer sends them; we watch.
        case watcher
    }

    public var interval: Int
    public var role: Role

    public init(interval: Int, role: Role) {
        self.interval = interval
        self.role = role
    }

    /// When the next thing is due, from the last refresh: our refresh, or the end of the session.
    public var delay: Duration {
        let milliseconds = Int64(max(1, interval)) * 1000
        switch role {
        case .refresher: return .milliseconds(milliseconds / 2)
        case .watcher: return .milliseconds(milliseconds - min(32_000, milliseconds / 3))
        }
    }

    /// What a 2xx to an INVITE we sent (as UAC) asks for: nil without `Session-Expires` (or
    /// with a malformed one); `refresher=uas` makes the peer refresh, otherwise (uac or left
    /// out, §7.2) we do. Any interval a response gives is honoured.
    public static func forAnswer(_ response: SIPMessage) -> SIPSessionTimer? {
        guard let value = response.headers[.sessionExpires], let expires = try? SIPSessionExpires(parsing: value), expires.interval > 0 else {
            return nil
        }
        return SIPSessionTimer(interval: expires.interval, role: expires.refresher == .uas ? .watcher : .refresher)
    }

    /// What a request we answer (as UAS) asks for.
    public enum RequestCheck: Sendable, Hashable {
        /// No session timer requested (or the UAC does not support the extension).
        case none
        /// Below ``minimumInterval``: answer 422 with `Min-SE`.
        case tooSmall
        /// Use this interval; the requester refreshes (`refresher=uac` in our 2xx).
        case accept(interval: Int)
        /// Malformed Session-Expires: answer 400.
        case malformed
    }

    /// Checks the `Session-Expires` of an INVITE or UPDATE we answer (§8.1, §9). Without
    /// `Supported: timer` the peer cannot take the refresher role, and the gateway does not
    /// refresh callers, so the request gets no timer.
    public static func check(request: SIPMessage) -> RequestCheck {
        guard let value = request.headers[.sessionExpires] else { return .none }
        guard let expires = try? SIPSessionExpires(parsing: value) else { return .malformed }
        if expires.interval < minimumInterval { return .tooSmall }
        let supported = ((try? request.supported) ?? []).contains { $0.lowercased() == "timer" }
        let required = ((try? request.require) ?? []).contains { $0.lowercased() == "timer" }
        guard supported || required else { return .none }
        return .accept(interval: expires.interval)
    }
}

/// RFC 3262 reliable provisional responses as a UAC sees them: which to PRACK.
public struct SIPReliableProvisionalTracker: Sendable, Hashable {
    /// The RSeq of the last reliable provisional response acknowledged.
    public private(set) var lastRSeq: UInt32?

    public init() {}

    public enum Decision: Sendable, Hashable {
        /// Not a reliable provisional response: handle it as any 1xx.
        case unreliable
        /// A new reliable provisional response: PRACK it with this RAck, then handle it.
        case acknowledge(rack: String)
        /// A retransmission, or out of order (§4: not one above the last): neither PRACK nor
        /// process it.
        case ignore
    }

    /// Looks at a 101–199 response to our INVITE.
    public mutating func receive(_ response: SIPMessage) -> Decision {
        guard let status = response.statusCode, (101...199).contains(status),
            ((try? response.require) ?? []).contains(where: { $0.lowercased() == "100rel" })
        else { return .unreliable }
        guard let text = response.headers[.rseq], let value = SIPScalar.parse(text, limit: Int(UInt32.max)), value > 0,
            let cseq = try? response.cseq
        else { return .ignore }
        let rseq = UInt32(value)
        if let lastRSeq, rseq != lastRSeq &+ 1 { return .ignore }
        lastRSeq = rseq
        return .acknowledge(rack: "\(rseq) \(cseq.sequence) \(cseq.method.rawValue)")
    }
}

extension Substring {
    fileprivate func trimmingSIPWhitespace() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
