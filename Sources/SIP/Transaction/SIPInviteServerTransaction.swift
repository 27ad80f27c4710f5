/// The INVITE server transaction of RFC 3261 §17.2.1, with the Accepted state RFC 6026 adds
/// for 2xx responses.
///
/// ```
///  idle ──receiveRequest──▶ Proceeding ──2xx from TU──▶ Accepted ──Timer L──▶ Terminated
///                               │
///                               └──300–699 from TU──▶ Completed ──ACK──▶ Confirmed ──Timer I──▶ Terminated
///                                                        └──Timer H──▶ Terminated (timeout)
/// ```
///
/// - Proceeding: the TU gets the INVITE; unless it answers within ``SIPTimerValues/tryingDelay``
///   the transaction sends `100 Trying` itself. Retransmitted INVITEs get the latest
///   provisional response again.
/// - Completed: the non-2xx final response is retransmitted on Timer G (unreliable transports
///   only: T1 doubling up to T2) and for every retransmitted INVITE, until the ACK arrives or
///   Timer H (64·T1) gives up.
/// - Confirmed absorbs ACK retransmissions for T4 (Timer I), zero on reliable transports.
/// - Accepted absorbs INVITE retransmissions without passing them on, sends the 2xx
///   retransmissions the TU hands down (the TU retransmits 2xx, §13.3.1.4), and passes ACKs
///   that match the transaction to the TU, until Timer L (64·T1).
public struct SIPInviteServerTransaction: Sendable {
    public enum State: Sendable, Hashable {
        /// Created; the INVITE has not been passed to the TU yet.
        case idle
        case proceeding
        case completed
        case confirmed
        case accepted
        case terminated
    }

    public private(set) var state: State
    /// The INVITE that created this transaction.
    public let request: SIPMessage
    public let reliability: SIPTransportReliability
    public let timerValues: SIPTimerValues
    /// The latest response sent, which retransmitted INVITEs get again.
    public private(set) var lastResponse: SIPMessage?

    private var timers = SIPArmedTimers()
    private var retransmitInterval: Duration

    public init(request: SIPMessage, reliability: SIPTransportReliability, timerValues: SIPTimerValues = SIPTimerValues()) {
        self.state = .idle
        self.request = request
        self.reliability = reliability
        self.timerValues = timerValues
        self.lastResponse = nil
        self.retransmitInterval = timerValues.t1
    }

    /// The INVITE that created the transaction arrived: pass it to the TU and start the
    /// `100 Trying` timer.
    public mutating func receiveRequest() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard state == .idle else { return actions }
        state = .proceeding
        actions.append(.deliverRequest(request))
        timers.start(.trying, after: timerValues.tryingDelay, &actions)
        return actions
    }

    /// A retransmission of the INVITE matched this transaction (§17.2.3).
    public mutating func receiveRetransmission() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        switch state {
        case .proceeding, .completed:
            if let lastResponse { actions.append(.send(lastResponse)) }
        case .idle, .confirmed, .accepted, .terminated:
            break
        }
        return actions
    }

    /// An ACK matched this transaction: the ACK for a non-2xx final response, or (in
    /// Accepted) an ACK for the 2xx that reused the INVITE's branch.
    public mutating func receiveACK(_ ack: SIPMessage) -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        switch state {
        case .completed:
            if reliability == .reliable {
                terminate(.normal, &actions)
            } else {
                state = .confirmed
                timers.cancel([.g, .h], &actions)
                timers.start(.i, after: timerValues.t4, &actions)
            }
        case .accepted:
            actions.append(.deliverRequest(ack))
        case .idle, .proceeding, .confirmed, .terminated:
            break
        }
        return actions
    }

    /// The TU sends a response to the INVITE. Responses that make no sense in the current
    /// state (a provisional after a final response, a second non-2xx) are dropped.
    public mutating func sendResponse(_ response: SIPMessage) -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard let status = response.statusCode, (100...699).contains(status) else { return actions }
        switch state {
        case .proceeding:
            actions.append(.send(response))
            lastResponse = response
            timers.cancel(.trying, &actions)
            switch status {
            case 100...199:
                break
            case 200...299:
                state = .accepted
                timers.start(.l, after: timerValues.transactionTimeout, &actions)
            default:
                state = .completed
                if reliability == .unreliable {
                    retransmitInterval = timerValues.t1
                    timers.start(.g, after: retransmitInterval, &actions)
                }
                timers.start(.h, after: timerValues.transactionTimeout, &actions)
            }
        case .accepted:
            if (200...299).contains(status) {
                actions.append(.send(response))
                lastResponse = response
            }
        case .idle, .completed, .confirmed, .terminated:
            break
        }
        return actions
    }

    /// A timer this transaction started has fired.
    public mutating func timerFired(_ timer: SIPTransactionTimer) -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard timers.fire(timer) else { return actions }
        switch (timer, state) {
        case (.trying, .proceeding):
            if lastResponse == nil {
                let trying = SIPMessage.tryingResponse(to: request)
                lastResponse = trying
                actions.append(.send(trying))
            }
        case (.g, .completed):
            if let lastResponse { actions.append(.send(lastResponse)) }
            retransmitInterval = timerValues.doubledUpToT2(retransmitInterval)
            timers.start(.g, after: retransmitInterval, &actions)
        case (.h, .completed):
            terminate(.timeout, &actions)
        case (.i, .confirmed), (.l, .accepted):
            terminate(.normal, &actions)
        default:
            break
        }
        return actions
    }

    /// The transport failed to send a response (§17.2.4). In Confirmed the transaction sends
    /// nothing, so a failure there is not its own and is ignored.
    public mutating func transportFailed() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        switch state {
        case .proceeding, .completed, .accepted:
            terminate(.transportError, &actions)
        case .idle, .confirmed, .terminated:
            break
        }
        return actions
    }

    private mutating func terminate(_ reason: SIPTransactionTermination, _ actions: inout SIPTransactionActions) {
        state = .terminated
        timers.removeAll()
        actions.append(.terminate(reason))
    }
}
