@testable import Control
import Foundation
import Testing

@Suite struct RateLimiterTests {
    @Test func burstThenRefillOverTheMinute() {
        let limiter = RateLimiter(perMinute: 6)
        let start = Date(timeIntervalSince1970: 1_000_000)
        for _ in 0..<6 { #expect(limiter.take("10.0.0.1", now: start) == nil) }
        let wait = limiter.take("10.0.0.1", now: start)
        #expect(wait == 10, "one token comes back every 10 s at 6/min")
        // Another client is not affected.
        #expect(limiter.take("10.0.0.2", now: start) == nil)
        // After the advertised wait, exactly one more request passes.
        #expect(limiter.take("10.0.0.1", now: start.addingTimeInterval(10)) == nil)
        #expect(limiter.take("10.0.0.1", now: start.addingTimeInterval(10)) != nil)
        // A full minute later the bucket is full again.
        let later = start.addingTimeInterval(80)
        for _ in 0..<6 { #expect(limiter.take("10.0.0.1", now: later) == nil) }
        #expect(limiter.take("10.0.0.1", now: later) != nil)
    }
}
