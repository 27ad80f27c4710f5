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

/// Write-behind log of call state: the signalling plane records every change synchronously
/// (one short critical section), and a background loop writes the latest state of each changed
/// call in one transaction every few milliseconds. Reads of a call see its newest state at once.
public final class CallLog: Sendable {
    public let storage: any Storage
    private let state = Mutex<[String: Call]>([:])

    public init(storage: any Storage) { self.storage = storage }

    public func record(_ call: Call) {
        state.withLock { $0[call.id] = call }
    }

    public func pending(id: String) -> Call? {
        state.withLock { $0[id] }
    }

    /// Writes what is pending. Entries changed again meanwhile stay pending.
    public func flush() async throws {
        let batch = state.withLock { $0 }
        guard !batch.isEmpty else { return }
        try await storage.upsert(calls: Array(batch.values))
        state.withLock { pending in
            for (id, call) in batch where pending[id] == call { pending[id] = nil }
        }
    }

    /// Flushes every `interval` until cancelled, then once more.
    public func run(interval: Duration = .milliseconds(50)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            try? await flush()
        }
        try? await flush()
    }
}
