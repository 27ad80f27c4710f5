import NIOCore
import SIP

/// The signalling core's timers: transaction timers (A–M) and the B2BUA's own (answer
/// retransmission, session timers, maximum call duration, reconnection grace), on one
/// ``SIPTimerWheel`` driven by a 10 ms tick of the core's event loop while any timer is armed.
///
/// NIO's scheduled tasks live in a heap whose cancellation is a linear search; with a few timers
/// per transaction, nearly all cancelled, that search was the largest single cost of a call.
/// Confined to the core's loop, like the core.
final class CoreTimers {
    enum Action {
        case transaction(TimerID)
        case run(() -> Void)
    }

    typealias Handle = SIPTimerWheel<Action>.Handle

    static let tick: Int64 = 10_000_000

    let eventLoop: any EventLoop
    private var wheel: SIPTimerWheel<Action>
    private var ticking = false
    private var due: [Handle] = []
    /// Acts on a transaction timer that came due (the core drives its transaction).
    var onTransactionTimer: (TimerID) -> Void = { _ in }
    /// Runs the timers of one tick (the core batches what they send into one flush).
    var around: (() -> Void) -> Void = { $0() }

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.wheel = SIPTimerWheel(tickNanoseconds: Self.tick, slotCount: 1024, now: Self.now())
    }

    static func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    var armed: Int { wheel.count }

    func schedule(after delay: Duration, _ action: Action) -> Handle {
        let handle = wheel.schedule(at: Self.now() + delay.nanoseconds, action)
        if !ticking {
            ticking = true
            scheduleTick()
        }
        return handle
    }

    func cancel(_ handle: Handle) {
        wheel.cancel(handle)
    }

    private func scheduleTick() {
        // On the core's loop (the timers are confined to it), so the task may hold the timers.
        eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: .nanoseconds(Self.tick)) { [self] in tick() }
    }

    private func tick() {
        due.removeAll(keepingCapacity: true)
        wheel.advance(to: Self.now(), into: &due)
        if !due.isEmpty {
            around { [self] in
                // Taken one by one: a timer cancelled by one that fired before it in this batch is skipped.
                for handle in due {
                    switch wheel.cancel(handle) {
                    case .transaction(let id)?: onTransactionTimer(id)
                    case .run(let body)?: body()
                    case nil: break
                    }
                }
            }
        }
        if wheel.count > 0 {
            scheduleTick()
        } else {
            ticking = false
        }
    }
}

/// A timer of the core (``SignallingCore/after(_:_:)``); cancelling one that fired does nothing.
struct CoreTimer {
    let timers: CoreTimers
    let handle: CoreTimers.Handle

    func cancel() { timers.cancel(handle) }
}
