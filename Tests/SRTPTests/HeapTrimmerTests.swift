import Testing

@testable import SRTP

/// When the trim after a burst of released handshakes runs. What it gives back is measured by
/// `Benchmarks/media_relay.sh` (resident memory per relayed call, with `SWITCHBOARD_HEAP_TRIM=0`
/// for the figure without it): in a test process other tests allocate into the freed holes.
@Suite("Heap trimmer")
struct HeapTrimmerTests {
    @Test("releases below the threshold schedule nothing; reaching it runs one trim after the delay")
    func oneTrimPerBurst() async throws {
        let trimmer = HeapTrimmer(threshold: 4, delay: .milliseconds(100))
        for _ in 0..<3 { trimmer.noteRelease() }
        try await Task.sleep(for: .milliseconds(300))
        #expect(trimmer.trimCount == 0)
        // The fourth crosses the threshold; the ones after it join the same trim.
        for _ in 0..<10 { trimmer.noteRelease() }
        try await waitUntil { trimmer.trimCount >= 1 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(trimmer.trimCount == 1)
        // A second burst, a second trim.
        for _ in 0..<4 { trimmer.noteRelease() }
        try await waitUntil { trimmer.trimCount >= 2 }
        #expect(trimmer.trimCount == 2)
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }
}
