import Testing
@testable import SIP

@Suite("Timer wheel")
struct TimerWheelTests {
    static let ms: Int64 = 1_000_000

    /// Advances `wheel` to `now` and takes what came due.
    static func fire(_ wheel: inout SIPTimerWheel<Int>, at now: Int64) -> [Int] {
        var due: [SIPTimerWheel<Int>.Handle] = []
        wheel.advance(to: now, into: &due)
        return due.compactMap { wheel.cancel($0) }
    }

    @Test func firesNeitherEarlyNorMoreThanOneTickLate() {
        var wheel = SIPTimerWheel<Int>(tickNanoseconds: 10 * Self.ms, slotCount: 64, now: 0)
        _ = wheel.schedule(at: 500 * Self.ms, 1)
        _ = wheel.schedule(at: 505 * Self.ms, 2)
        #expect(Self.fire(&wheel, at: 499 * Self.ms).isEmpty)
        #expect(Self.fire(&wheel, at: 500 * Self.ms) == [1])
        #expect(Self.fire(&wheel, at: 509 * Self.ms).isEmpty)
        #expect(Self.fire(&wheel, at: 510 * Self.ms) == [2])
        #expect(wheel.count == 0)
    }

    @Test func timersBeyondOneRevolutionWaitTheirTurn() {
        // 8 slots of 10 ms: one revolution is 80 ms; 32 s is 400 revolutions.
        var wheel = SIPTimerWheel<Int>(tickNanoseconds: 10 * Self.ms, slotCount: 8, now: 0)
        _ = wheel.schedule(at: 32_000 * Self.ms, 32)
        _ = wheel.schedule(at: 40 * Self.ms, 1)
        var fired: [Int] = []
        var now: Int64 = 0
        while now < 31_990 * Self.ms {
            now += 10 * Self.ms
            fired += Self.fire(&wheel, at: now)
            if now < 32_000 * Self.ms { #expect(!fired.contains(32)) }
        }
        #expect(fired == [1])
        #expect(Self.fire(&wheel, at: 32_000 * Self.ms) == [32])
    }

    @Test func aLongJumpFiresEverythingDueOnce() {
        var wheel = SIPTimerWheel<Int>(tickNanoseconds: 10 * Self.ms, slotCount: 16, now: 0)
        for i in 0..<50 { _ = wheel.schedule(at: Int64(i) * 37 * Self.ms, i) }
        let fired = Self.fire(&wheel, at: 10_000 * Self.ms)
        #expect(fired.sorted() == Array(0..<50))
        #expect(Self.fire(&wheel, at: 20_000 * Self.ms).isEmpty)
    }

    @Test func aPastDeadlineFiresOnTheNextAdvance() {
        var wheel = SIPTimerWheel<Int>(tickNanoseconds: 10 * Self.ms, slotCount: 16, now: 1_000 * Self.ms)
        _ = wheel.schedule(at: 0, 7)
        #expect(Self.fire(&wheel, at: 1_000 * Self.ms).isEmpty)
        #expect(Self.fire(&wheel, at: 1_010 * Self.ms) == [7])
    }

    @Test func cancelledTimersNeverFireAndTheirNodesAreReused() {
        var wheel = SIPTimerWheel<Int>(tickNanoseconds: 10 * Self.ms, slotCount: 16, now: 0)
        let a = wheel.schedule(at: 100 * Self.ms, 1)
        #expect(wheel.isArmed(a))
        #expect(wheel.cancel(a) == 1)
        #expect(!wheel.isArmed(a))
        #expect(wheel.cancel(a) == nil)
        // The node is reused under a new generation: the old handle does not touch the new timer.
        let b = wheel.schedule(at: 100 * Self.ms, 2)
        #expect(wheel.cancel(a) == nil)
        #expect(wheel.isArmed(b))
        #expect(Self.fire(&wheel, at: 200 * Self.ms) == [2])
        #expect(wheel.cancel(SIPTimerWheel<Int>.Handle.none) == nil)
    }

    @Test func aTimerCancelledByAnEarlierOneOfTheSameBatchIsSkipped() {
        var wheel = SIPTimerWheel<Int>(tickNanoseconds: 10 * Self.ms, slotCount: 16, now: 0)
        _ = wheel.schedule(at: 10 * Self.ms, 1)
        let second = wheel.schedule(at: 10 * Self.ms, 2)
        var due: [SIPTimerWheel<Int>.Handle] = []
        wheel.advance(to: 10 * Self.ms, into: &due)
        #expect(due.count == 2)
        var fired: [Int] = []
        for handle in due {
            guard let payload = wheel.cancel(handle) else { continue }
            fired.append(payload)
            if payload == 1 { wheel.cancel(second) }
        }
        #expect(fired == [1])
    }

    /// Random schedules, cancels and advances against a list of deadlines.
    @Test(arguments: [1, 2, 3, 4, 5])
    func agreesWithAPlainList(seed: UInt64) {
        var random = SplitMix(seed: seed)
        let tick = 10 * Self.ms
        var wheel = SIPTimerWheel<Int>(tickNanoseconds: tick, slotCount: 32, now: 0)
        var model: [Int: (dueTick: Int64, handle: SIPTimerWheel<Int>.Handle)] = [:]
        var now: Int64 = 0
        var next = 0
        for _ in 0..<4_000 {
            switch random.next() % 10 {
            case 0...4:
                let deadline = now + Int64(random.next() % 2_000) * Self.ms
                // Never early, and never in the tick already passed.
                let dueTick = max((deadline + tick - 1) / tick, now / tick + 1)
                model[next] = (dueTick, wheel.schedule(at: deadline, next))
                next += 1
            case 5...6:
                if let key = model.keys.randomElement(using: &random) {
                    #expect(wheel.cancel(model[key]!.handle) == key)
                    model[key] = nil
                }
            default:
                now += Int64(random.next() % 300) * Self.ms
                let fired = Set(Self.fire(&wheel, at: now))
                let expected = Set(model.filter { $0.value.dueTick <= now / tick }.keys)
                #expect(fired == expected)
                for key in fired { model[key] = nil }
            }
            #expect(wheel.count == model.count)
        }
    }
}

/// A small deterministic generator for the randomised test.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Random pool")
struct SIPRandomTests {
    @Test func drawsDistinctWordsAcrossRefillsAndThreads() async {
        // 4 tasks × 3,000 words: several refills of the 512-word pool, concurrently.
        let words = await withTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var random = SIPRandom()
                    return (0..<3_000).map { _ in random.next() }
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(words.count == 12_000)
        #expect(Set(words).count == 12_000)
        // Each bit is set about half the time (a stuck or zeroed pool would not be).
        for bit in [0, 17, 31, 63] {
            let ones = words.filter { $0 >> UInt64(bit) & 1 == 1 }.count
            #expect((5_400...6_600).contains(ones), "bit \(bit): \(ones)")
        }
    }

    @Test func branchesStayDistinctAndWellFormed() {
        let branches = (0..<2_000).map { _ in SIPVia.makeBranch() }
        #expect(Set(branches).count == branches.count)
        #expect(branches.allSatisfy { $0.hasPrefix("z9hG4bK") && $0.count == 27 })
    }
}
