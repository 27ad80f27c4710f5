public import Foundation
import Synchronization

/// A token bucket per client: `capacity` requests at once, refilled evenly over a minute.
/// Control-path only (one short critical section per request).
public final class RateLimiter: Sendable {
    public let capacity: Int
    private let perMinute: Int
    private let state = Mutex<[String: Bucket]>([:])
    private let maxClients = 100_000

    struct Bucket {
        var tokens: Double
        var updated: Date
    }

    /// `perMinute` requests a minute per client, of which `burst` (default: all) may come at once.
    public init(perMinute: Int, burst: Int? = nil) {
        self.perMinute = max(1, perMinute)
        self.capacity = max(1, burst ?? perMinute)
    }

    /// Takes a token for `client`. Returns `nil` when allowed, else the seconds to wait.
    public func take(_ client: String, now: Date) -> Int? {
        let rate = Double(perMinute) / 60
        return state.withLock { buckets -> Int? in
            if buckets.count >= maxClients { Self.prune(&buckets, now: now, rate: rate, capacity: Double(capacity)) }
            var bucket = buckets[client] ?? Bucket(tokens: Double(capacity), updated: now)
            let elapsed = max(0, now.timeIntervalSince(bucket.updated))
            bucket.tokens = min(Double(capacity), bucket.tokens + elapsed * rate)
            bucket.updated = now
            defer { buckets[client] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }

    /// Forgets clients whose buckets have refilled: they would start full anyway.
    private static func prune(_ buckets: inout [String: Bucket], now: Date, rate: Double, capacity: Double) {
        buckets = buckets.filter { $0.value.tokens + now.timeIntervalSince($0.value.updated) * rate < capacity }
    }
}
