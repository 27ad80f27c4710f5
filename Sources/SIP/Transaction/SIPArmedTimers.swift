/// The timers a transaction has asked its owner to schedule and not yet seen fire or cancelled.
///
/// A timer that fires without being armed (cancelled a moment too late, or reported twice) is
/// ignored by every machine, so an owner never has to guarantee that a cancel wins a race.
struct SIPArmedTimers: Sendable, Hashable {
    private(set) var timers: SIPTransactionTimers = []

    mutating func start(_ timer: SIPTransactionTimer, after duration: Duration, _ actions: inout SIPTransactionActions) {
        timers.insert(SIPTransactionTimers(timer))
        actions.append(.startTimer(timer, after: duration))
    }

    /// Cancels those of `cancelled` that are armed; emits nothing when none is.
    mutating func cancel(_ cancelled: SIPTransactionTimers, _ actions: inout SIPTransactionActions) {
        let armed = timers.intersection(cancelled)
        guard !armed.isEmpty else { return }
        timers.subtract(armed)
        actions.append(.cancelTimers(armed))
    }

    /// Whether the timer was armed; it no longer is.
    mutating func fire(_ timer: SIPTransactionTimer) -> Bool {
        timers.remove(SIPTransactionTimers(timer)) != nil
    }

    /// Forgets every timer: the owner unschedules them all on ``SIPTransactionAction/terminate(_:)``.
    mutating func removeAll() {
        timers = []
    }
}
