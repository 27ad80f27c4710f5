import NIOCore

/// What the shared playout tick drives: the transcoding of one session.
protocol TranscodingTickTarget: AnyObject {
    /// Plays out and transcodes every frame due at `now`, in both directions.
    func transcodingTick(at now: NIODeadline)
}

/// The playout tick of one event loop, shared by every transcoding session on it.
///
/// A packet that arrives is only unprotected and put into its direction's jitter buffer; the
/// frames are played out, transcoded and sent from this tick, every ``interval`` on the
/// monotonic clock (at multiples of it), for all the loop's sessions one after another. One
/// wake-up then transcodes many frames back to back and finds libopus's code and tables warm,
/// where a wake-up per packet found them cold (see the transcoding section of
/// Benchmarks/RESULTS.md). A frame plays at the first tick at or after its playout time: up to
/// one ``interval`` after it, on top of the jitter buffer's delay.
///
/// Confined to ``loop``: ``register(_:)``, ``Registration/cancel()`` and the tick run on it, and
/// nothing here locks. The tick is scheduled only while a session is registered. Sessions are
/// held weakly; each is ticked in the order it registered, and one that cancels its
/// registration (or is released) is not called again, not even later in the tick that is
/// running.
final class TranscodingTicker: @unchecked Sendable {
    /// A session's place on the tick, until ``cancel()``.
    final class Registration {
        fileprivate weak var target: (any TranscodingTickTarget)?
        fileprivate weak var ticker: TranscodingTicker?
        /// False once cancelled: the target is not called again.
        fileprivate(set) var isActive = true

        fileprivate init(target: any TranscodingTickTarget, ticker: TranscodingTicker) {
            self.target = target
            self.ticker = ticker
        }

        /// Takes the target off the tick (on the ticker's loop).
        func cancel() {
            guard isActive else { return }
            isActive = false
            target = nil
            ticker?.remove(self)
        }
    }

    /// The default tick: half a 20 ms frame.
    static let defaultInterval = TimeAmount.milliseconds(10)

    let loop: any EventLoop
    let interval: TimeAmount
    private var registrations: [Registration] = []
    private var scheduled: Scheduled<Void>?
    /// When the scheduled tick is due; nil while none is.
    private(set) var nextTick: NIODeadline?
    /// Ticks run so far.
    private(set) var ticks = 0

    /// The monotonic clock the tick reads (tests give the embedded loop's).
    private let clock: () -> NIODeadline

    init(loop: any EventLoop, interval: TimeAmount = TranscodingTicker.defaultInterval, clock: @escaping () -> NIODeadline = { .now() }) {
        self.loop = loop
        self.interval = .nanoseconds(max(interval.nanoseconds, 1_000_000))
        self.clock = clock
    }

    /// Targets on the tick.
    var count: Int { registrations.count }

    /// Puts `target` on the tick; the tick starts with the first one.
    func register(_ target: any TranscodingTickTarget) -> Registration {
        let registration = Registration(target: target, ticker: self)
        registrations.append(registration)
        if scheduled == nil { schedule(after: clock()) }
        return registration
    }

    fileprivate func remove(_ registration: Registration) {
        registrations.removeAll { $0 === registration }
        if registrations.isEmpty { stop() }
    }

    private func stop() {
        scheduled?.cancel()
        scheduled = nil
        nextTick = nil
    }

    /// The first multiple of ``interval`` on the monotonic clock after `now`.
    func deadline(after now: NIODeadline) -> NIODeadline {
        let step = UInt64(interval.nanoseconds)
        return .uptimeNanoseconds((now.uptimeNanoseconds / step + 1) * step)
    }

    private func schedule(after now: NIODeadline) {
        let deadline = self.deadline(after: now)
        nextTick = deadline
        scheduled = loop.scheduleTask(deadline: deadline) { [self] in
            scheduled = nil
            nextTick = nil
            tick(at: clock())
            // A tick that ran late (an overloaded loop) is not made up for: the next one is at
            // the next multiple of the interval.
            if !registrations.isEmpty, scheduled == nil { schedule(after: clock()) }
        }
    }

    /// Ticks every registered target at `now`, in the order they registered. The timer calls
    /// it; tests call it with their own clock.
    func tick(at now: NIODeadline) {
        ticks += 1
        var released = false
        // The array as the tick starts: a registration cancelled meanwhile is skipped.
        for registration in registrations {
            guard registration.isActive else { continue }
            guard let target = registration.target else {
                released = true
                continue
            }
            target.transcodingTick(at: now)
        }
        if released {
            registrations.removeAll { $0.target == nil }
            if registrations.isEmpty { stop() }
        }
    }
}
