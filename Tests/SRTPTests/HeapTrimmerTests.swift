import Foundation
import Glibc
import Testing

@testable import SRTP

/// The trim after a burst of released handshakes: when it runs, and that it gives freed heap back.
@Suite("Heap trimmer")
struct HeapTrimmerTests {
    @Test("releases below the threshold schedule nothing; reaching it runs one trim after the delay")
    func oneTrimPerBurst() async throws {
        let trimmer = HeapTrimmer(threshold: 4, delay: .milliseconds(20))
        for _ in 0..<3 { trimmer.noteRelease() }
        try await Task.sleep(for: .milliseconds(200))
        #expect(trimmer.trimCount == 0)
        // The fourth crosses the threshold; the ones after it join the same trim.
        for _ in 0..<10 { trimmer.noteRelease() }
        try await waitUntil { trimmer.trimCount >= 1 }
        try await Task.sleep(for: .milliseconds(200))
        #expect(trimmer.trimCount == 1)
        // A second burst, a second trim.
        for _ in 0..<4 { trimmer.noteRelease() }
        try await waitUntil { trimmer.trimCount >= 2 }
        #expect(trimmer.trimCount == 2)
    }

    @Test("freed blocks between live ones go back to the kernel when the trim runs")
    func trimReturnsHoles() async throws {
        // 2,000 blocks of 40 KiB (under glibc's mmap threshold, so they come from a heap), each
        // followed by a small block that stays: freeing the big ones leaves holes that `free`
        // cannot return, as DTLS state between calls' long-lived allocations does.
        let count = 2_000
        let size = 40 * 1024
        var big: [UnsafeMutableRawPointer] = []
        var keep: [UnsafeMutableRawPointer] = []
        for _ in 0..<count {
            let block = try #require(malloc(size))
            memset(block, 0x5A, size)
            big.append(block)
            keep.append(try #require(malloc(64)))
        }
        defer { for block in keep { free(block) } }
        for block in big { free(block) }
        let before = residentKiB()
        let trimmer = HeapTrimmer(threshold: 1, delay: .milliseconds(1))
        trimmer.noteRelease()
        try await waitUntil { trimmer.trimCount >= 1 }
        let after = residentKiB()
        // At least half of the 80 MB freed leaves the resident set (other tests allocate meanwhile).
        #expect(before - after >= count * size / 1024 / 2, "resident \(before) → \(after) KiB")
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }

    private func residentKiB() -> Int {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ")[1]) ?? 0
        }
        return 0
    }
}
