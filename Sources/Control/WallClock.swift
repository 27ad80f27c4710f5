public import Foundation

/// The time source of the domain, injected so tests can move time.
public struct WallClock: Sendable {
    public let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) { self.now = now }

    public static let system = WallClock { Date() }

    var millis: UInt64 { UInt64(max(0, now().timeIntervalSince1970 * 1000)) }
}
