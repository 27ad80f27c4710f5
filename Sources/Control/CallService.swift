import Foundation
import Synchronization

/// Calls as the API sees them: listing, reading and hanging up. The signalling plane reports
/// call state through ``CallLog``.
public final class CallService: Sendable {
    public let log: CallLog
    private let signalling = Mutex<(any CallSignalling)?>(nil)

    public init(log: CallLog) { self.log = log }

    /// Connects the signalling plane once it is running.
    public func attach(_ plane: any CallSignalling) {
        signalling.withLock { $0 = plane }
    }

    public func get(id: String) async throws -> Call {
        if let live = log.pending(id: id) { return live }
        guard let call = try await log.storage.call(id: id) else { throw ControlError.notFound(kind: "call", id: id) }
        return call
    }

    public func list(filter: CallFilter, limit: Int?, after: String?) async throws -> Page<Call> {
        let request = try PageRequest(limit: limit, after: after, idPrefix: Call.idPrefix)
        try await log.flush()
        return request.page(try await log.storage.calls(filter: filter, after: request.after, limit: request.limit + 1), id: \.id)
    }

    /// Ends a live call: BYE to both legs, or CANCEL before the answer.
    public func hangup(id: String) async throws -> Call {
        let call = try await get(id: id)
        guard !call.status.isFinal else { throw ControlError.conflict("call \(id) has already ended (\(call.status.rawValue))") }
        guard let plane = signalling.withLock({ $0 }), await plane.hangup(callId: id) else {
            throw ControlError.conflict("call \(id) is not live on this gateway")
        }
        return try await get(id: id)
    }
}

/// Write-behind log of call state and of the events it causes: the signalling plane records
/// every change synchronously (one short critical section), and a background loop writes the
/// latest state of each changed call, with the events since, in one transaction every few
/// milliseconds. Reads of a call see its newest state at once.
///
/// Events come from status changes: `call.initiated` when a call is first seen, then
/// `call.ringing`, `call.answered`, and `call.completed` or `call.failed`. For a call whose media
/// is anchored here the final event waits (at most ``mediaReportWait``) for the media report, so
/// that it can carry the call's quality.
public final class CallLog: Sendable {
    public let storage: any Storage
    /// The call as the REST API shows it (compact JSON of an object), for event payloads.
    let render: @Sendable (Call) -> String
    let clock: WallClock
    private let state = Mutex<State>(State())
    private let written = Mutex<(@Sendable () -> Void)?>(nil)
    private let flushGate = AsyncGate()

    public static let mediaReportWait: Duration = .seconds(2)

    struct State {
        var pending: [String: Call] = [:]
        /// Events not yet written, with the call as it was; rendered at flush, off the caller's thread.
        var events: [PendingEvent] = []
        /// Live calls: the last status an event was written for, and how many events so far.
        var tracked: [String: Tracked] = [:]
    }

    struct PendingEvent {
        var id: String
        var type: EventType
        var createdAt: Date
        var sequence: Int
        var call: Call
    }

    struct Tracked {
        var status: CallStatus
        var sequence: Int
        var awaitingMedia = false
        /// The final call state whose event waits for the media report, and until when.
        var heldFinal: (call: Call, deadline: Date)?
    }

    public init(storage: any Storage, clock: WallClock = .system, render: @escaping @Sendable (Call) -> String = CallLog.minimalJSON) {
        self.storage = storage
        self.clock = clock
        self.render = render
    }

    /// Called after each write that stored events (the webhook dispatcher wakes up).
    public func onEventsWritten(_ action: @escaping @Sendable () -> Void) {
        written.withLock { $0 = action }
    }

    /// The call's media is anchored at the gateway: its final event waits for the media report.
    public func expectMediaReport(callId: String) {
        state.withLock { $0.tracked[callId]?.awaitingMedia = true }
    }

    /// No media report will come for this call (its media never flowed).
    public func noMediaReport(callId: String) {
        let now = clock.now()
        state.withLock { state in
            guard var tracked = state.tracked[callId] else { return }
            tracked.awaitingMedia = false
            state.tracked[callId] = tracked
            if let held = tracked.heldFinal { emitFinal(held.call, into: &state, at: now) }
        }
    }

    public func record(_ call: Call) {
        let now = clock.now()
        state.withLock { state in
            state.pending[call.id] = call
            derive(call, into: &state, at: now)
        }
    }

    public func pending(id: String) -> Call? {
        state.withLock { $0.pending[id] }
    }

    /// Writes what is pending. Entries changed again meanwhile stay pending. Flushes run one at a
    /// time (the background loop and readers that flush first would otherwise write the same
    /// events twice); one that finds another running waits for it, then writes what is left.
    public func flush() async throws {
        await flushGate.acquire()
        defer { flushGate.release() }
        try await flushAlone()
    }

    private func flushAlone() async throws {
        let now = clock.now()
        let (batch, pendingEvents) = state.withLock { state -> ([String: Call], [PendingEvent]) in
            // Final events that waited long enough for a media report go without one.
            for tracked in state.tracked.values {
                if let held = tracked.heldFinal, held.deadline <= now { emitFinal(held.call, into: &state, at: now) }
            }
            return (state.pending, state.events)
        }
        guard !batch.isEmpty || !pendingEvents.isEmpty else { return }
        let events = pendingEvents.map { pending in
            Event(
                id: pending.id, type: pending.type.rawValue, createdAt: pending.createdAt, sequence: pending.sequence,
                subjectId: pending.call.id, dataJSON: Self.eventData(pending.call, rendered: render(pending.call))
            )
        }
        try await storage.upsert(calls: Array(batch.values), events: events)
        state.withLock { state in
            for (id, call) in batch where state.pending[id] == call { state.pending[id] = nil }
            state.events.removeFirst(min(events.count, state.events.count))
        }
        if !events.isEmpty { written.withLock { $0 }?() }
    }

    /// Flushes every `interval` until cancelled, then once more.
    public func run(interval: Duration = .milliseconds(50)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            try? await flush()
        }
        try? await flush()
    }

    // MARK: Events

    private func derive(_ call: Call, into state: inout State, at now: Date) {
        guard var tracked = state.tracked[call.id] else {
            // A call is first seen as initiated; anything else is a late update of a call whose
            // events are complete (a media report after the wait).
            guard call.status == .initiated else { return }
            state.tracked[call.id] = Tracked(status: .initiated, sequence: 0)
            append(.callInitiated, call, into: &state, at: now)
            return
        }
        if let held = tracked.heldFinal {
            // The media report arrived (or another update of the ended call).
            tracked.heldFinal = (call, held.deadline)
            state.tracked[call.id] = tracked
            if call.media != nil { emitFinal(call, into: &state, at: now) }
            return
        }
        guard call.status != tracked.status else { return }
        tracked.status = call.status
        state.tracked[call.id] = tracked
        switch call.status {
        case .initiated: break
        case .ringing: append(.callRinging, call, into: &state, at: now)
        case .inProgress: append(.callAnswered, call, into: &state, at: now)
        case .completed, .failed, .busy, .noAnswer, .canceled:
            if tracked.awaitingMedia && call.media == nil {
                tracked.heldFinal = (call, now.addingTimeInterval(Double(Self.mediaReportWait.components.seconds)))
                state.tracked[call.id] = tracked
            } else {
                emitFinal(call, into: &state, at: now)
            }
        }
    }

    private func emitFinal(_ call: Call, into state: inout State, at now: Date) {
        append(call.status == .completed ? .callCompleted : .callFailed, call, into: &state, at: now)
        state.tracked[call.id] = nil
    }

    private func append(_ type: EventType, _ call: Call, into state: inout State, at now: Date) {
        let sequence = (state.tracked[call.id]?.sequence ?? 0) + 1
        state.tracked[call.id]?.sequence = sequence
        state.events.append(PendingEvent(
            id: Identifier.make(Event.idPrefix, millis: UInt64(max(0, now.timeIntervalSince1970 * 1000))),
            type: type, createdAt: now, sequence: sequence, call: call
        ))
    }

    /// The `data` of a call event: the call as the API shows it, and, flattened for receivers
    /// that want them at once, the caller context and where the call came from.
    static func eventData(_ call: Call, rendered: String) -> String {
        var page: String?
        if let json = call.contextJSON, let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] {
            page = (object["pageUrl"] ?? object["page"]) as? String
        }
        var out = "{\"call\":\(rendered)"
        out += ",\"context\":\(call.contextJSON ?? "null")"
        out += ",\"contextVerified\":\(call.contextVerified.map { $0 ? "true" : "false" } ?? "null")"
        out += ",\"widgetId\":\(call.source.widgetId.map(JSONLiteral.quote) ?? "null")"
        out += ",\"page\":\(page.map(JSONLiteral.quote) ?? "null")"
        out += ",\"userAgent\":\(call.userAgent.map(JSONLiteral.quote) ?? "null")"
        return out + "}"
    }

    /// A call's id and status only, for logs without the REST renderer (tests).
    public static let minimalJSON: @Sendable (Call) -> String = { call in
        "{\"id\":\(JSONLiteral.quote(call.id)),\"status\":\(JSONLiteral.quote(call.status.rawValue))}"
    }
}

/// Admits one task at a time, in order of arrival, across suspension points (an actor would let
/// a second caller in while the first awaits the store).
final class AsyncGate: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state -> Bool in
                guard state.busy else {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
