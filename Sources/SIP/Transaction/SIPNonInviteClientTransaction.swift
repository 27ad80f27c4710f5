/// The non-INVITE client transaction of RFC 3261 §17.1.2 (BYE, CANCEL, OPTIONS, REGISTER,
/// INFO, ...).
///
/// ```
///  idle ──sendRequest──▶ Trying ──1xx──▶ Proceeding
///                          │               │
///                          └──200–699──────┴──▶ Completed ──Timer K──▶ Terminated
/// ```
///
/// - On unreliable transports Timer E retransmits the request: T1, doubling up to T2 in
///   Trying, T2 in Proceeding. Timer F (64·T1) ends the transaction with a timeout.
/// - Completed absorbs response retransmissions for T4 (Timer K), zero on reliable transports.
public struct SIPNonInviteClientTransaction: Sendable {
    public enum State: Sendable, Hashable {
        /// Created; the request has not been sent yet.
        case idle
        case trying
        case proceeding
        case completed
        case terminated
    }

    public private(set) var state: State
    public let request: SIPMessage
    public let reliability: SIPTransportReliability
    public let timerValues: SIPTimerValues

    private var timers = SIPArmedTimers()
    private var retransmitInterval: Duration

    public init(request: SIPMessage, reliability: SIPTransportReliability, timerValues: SIPTimerValues = SIPTimerValues()) {
        self.state = .idle
        self.request = request
        self.reliability = reliability
        self.timerValues = timerValues
        self.retransmitInterval = timerValues.t1
    }

    /// The TU hands the request to the transaction: send it and start Timers E and F.
    public mutating func sendRequest() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard state == .idle else { return actions }
        state = .trying
        actions.append(.send(request))
        if reliability == .unreliable {
            retransmitInterval = timerValues.t1
            timers.start(.e, after: retransmitInterval, &actions)
        }
        timers.start(.f, after: timerValues.transactionTimeout, &actions)
        return actions
    }

    /// A response matched this transaction (§17.1.3).
    public mutating func receiveResponse(_ response: SIPMessage) -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard let status = response.statusCode, (100...699).contains(status) else { return actions }
        switch state {
        case .trying, .proceeding:
            actions.append(.deliverResponse(response))
            if status < 200 {
                state = .proceeding
            } else if reliability == .reliable {
                terminate(.normal, &actions)
            } else {
                state = .completed
                timers.cancel([.e, .f], &actions)
                timers.start(.k, after: timerValues.t4, &actions)
            }
        case .idle, .completed, .terminated:
            break
        }
        return actions
    }

    /// A timer this transaction started has fired.
    public mutating func timerFired(_ timer: SIPTransactionTimer) -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard timers.fire(timer) else { return actions }
        switch (timer, state) {
        case (.e, .trying):
            actions.append(.send(request))
            retransmitInterval = timerValues.doubledUpToT2(retransmitInterval)
            timers.start(.e, after: retransmitInterval, &actions)
        case (.e, .proceeding):
            actions.append(.send(request))
            retransmitInterval = timerValues.t2
            timers.start(.e, after: retransmitInterval, &actions)
        case (.f, .trying), (.f, .proceeding):
            terminate(.timeout, &actions)
        case (.k, .completed):
            terminate(.normal, &actions)
        default:
            break
        }
        return actions
    }

    /// The transport failed to send the request (§17.1.4).
    public mutating func transportFailed() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        switch state {
        case .trying, .proceeding:
            terminate(.transportError, &actions)
        case .idle, .completed, .terminated:
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
