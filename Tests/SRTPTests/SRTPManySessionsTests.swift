import Glibc
import Testing

@_spi(Benchmark) @testable import SRTP

/// The cost of a protect must not grow with the number of sessions the process holds: a relay
/// protects and unprotects for every call in turn. Where libsrtp2's built-in crypto is NSS, that
/// depends on NSS being initialised before libsrtp2 initialises it optimised for space (see
/// `SRTPLibrary`); the OpenSSL backend keeps each key in its own cipher context, with no table.
/// Both are checked: the built-in backend is still the fallback.
@Suite struct SRTPManySessionsTests {
    /// Whether libsrtp2 in this process does its crypto through NSS.
    static var libsrtpUsesNSS: Bool { dlsym(UnsafeMutableRawPointer(bitPattern: 0), "NSS_InitContext") != nil }

    @Test func nssIsInitialisedBeforeLibsrtp() throws {
        _ = try SRTPSession(outbound: SRTPMasterKey.random(profile: .aeadAES128GCM), inbound: SRTPMasterKey.random(profile: .aeadAES128GCM))
        #expect(SRTPLibrary.initialisedNSS == Self.libsrtpUsesNSS)
    }

    /// Thread CPU nanoseconds per protect of a 172-byte packet over one pass of `count` fresh
    /// sessions taking packets in turn (about 4,000 protects); the sessions go when it returns.
    static func protectCost(sessions count: Int, backend: SRTPCryptoBackend) throws -> Double {
        var sessions: [SRTPSession] = []
        try SRTPSession.withCryptoBackend(backend) { () throws(SRTPError) in
            for _ in 0..<count {
                let key = try SRTPMasterKey.random(profile: .aeadAES128GCM)
                sessions.append(try SRTPSession(outbound: key, inbound: key))
            }
        }
        let rounds = max(1, 4000 / count)
        let slot = 256
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: slot, alignment: 16)
        defer { buffer.deallocate() }
        let start = threadCPUTime()
        for round in 0..<rounds {
            for session in sessions {
                // A fresh packet each time (protect works in place): 0x80, PT 0, the sequence number.
                buffer.initializeMemory(as: UInt8.self, repeating: 0x55, count: 172)
                buffer.storeBytes(of: UInt8(0x80), as: UInt8.self)
                buffer.storeBytes(of: UInt8(0), toByteOffset: 1, as: UInt8.self)
                buffer.storeBytes(of: UInt16(round + 1).bigEndian, toByteOffset: 2, as: UInt16.self)
                _ = try session.protectRTP(buffer, length: 172, capacity: slot)
            }
        }
        return Double(threadCPUTime() - start) / Double(rounds * count)
    }

    static func threadCPUTime() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// With NSS initialised optimised for space, 2,000 sessions make each AES-GCM protect about
    /// eight times as dear as 8 sessions (13–14 µs against 1.7–1.9 µs, debug build); initialised
    /// for speed, 2.2–2.8 times. (With 1,000 sessions the two were 3.2–3.8 and 1.7 times, too
    /// close once the other suites, running in parallel, load the machine.) The passes over the
    /// few and the many sessions alternate, so that whatever else runs at the time weighs on
    /// both, and the best of each is compared. Only one set of sessions is alive at a time: the
    /// keys of live sessions are what fills NSS's table.
    @Test(arguments: SRTPCryptoBackend.allCases)
    func protectCostStaysFlatWithManySessions(backend: SRTPCryptoBackend) throws {
        var few = Double.infinity
        var many = Double.infinity
        for _ in 0..<5 {
            few = min(few, try Self.protectCost(sessions: 8, backend: backend))
            many = min(many, try Self.protectCost(sessions: 2000, backend: backend))
        }
        #expect(many < few * 5, "\(backend): \(many) ns per protect with 2,000 sessions against \(few) ns with 8")
    }
}
