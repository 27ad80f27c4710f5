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

    /// Thread CPU nanoseconds per protect of a 172-byte packet, the sessions taking packets in
    /// turn, best of five passes.
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
        var best = Int64.max
        var sequence: UInt16 = 1
        for _ in 0..<5 {
            let start = threadCPUTime()
            for _ in 0..<rounds {
                for session in sessions {
                    // A fresh packet each time (protect works in place): 0x80, PT 0, the sequence number.
                    buffer.initializeMemory(as: UInt8.self, repeating: 0x55, count: 172)
                    buffer.storeBytes(of: UInt8(0x80), as: UInt8.self)
                    buffer.storeBytes(of: UInt8(0), toByteOffset: 1, as: UInt8.self)
                    buffer.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
                    _ = try session.protectRTP(buffer, length: 172, capacity: slot)
                }
                sequence &+= 1
            }
            best = min(best, threadCPUTime() - start)
        }
        return Double(best) / Double(rounds * count)
    }

    static func threadCPUTime() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// With NSS initialised optimised for space, 1,000 sessions made each AES-GCM protect about
    /// six times as dear as a few sessions (12 µs against 2 µs, release build); initialised for
    /// speed, about twice.
    @Test(arguments: SRTPCryptoBackend.allCases)
    func protectCostStaysFlatWithAThousandSessions(backend: SRTPCryptoBackend) throws {
        let few = try Self.protectCost(sessions: 8, backend: backend)
        let many = try Self.protectCost(sessions: 1000, backend: backend)
        #expect(many < few * 3.5, "\(backend): \(many) ns per protect with 1,000 sessions against \(few) ns with 8")
    }
}
