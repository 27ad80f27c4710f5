import Synchronization

/// Live calls per trunk, shared by the signalling cores: a trunk's `maxConcurrentCalls` is one
/// limit whichever core a call lands on. A place is reserved when a call is about to start and
/// released when it ends (or when it never started); a call start takes the lock once.
final class TrunkCallCounts: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Takes a place on `trunk` unless `limit` calls are already live there (nil: no limit).
    func reserve(_ trunk: String, limit: Int?) -> Bool {
        counts.withLock { counts in
            let live = counts[trunk, default: 0]
            if let limit, live >= limit { return false }
            counts[trunk] = live + 1
            return true
        }
    }

    /// Gives a place on `trunk` back.
    func release(_ trunk: String) {
        counts.withLock { counts in
            let live = counts[trunk, default: 0] - 1
            counts[trunk] = live > 0 ? live : nil
        }
    }
}
