import CMediaRelaySystem
import Glibc
@_spi(Benchmark) import SRTP

/// libsrtp2's cost per packet through the project's `SRTPSession`: protect of a 172-byte RTP
/// packet (PCMU, 20 ms) and unprotect of the result, in thread CPU time, best of `passes`. The
/// cost depends on how many sessions the process holds (see `SRTPLibrary`), so it is measured
/// with as many sessions as the relay has calls, taking packets in turn. `backend` picks
/// libsrtp2's crypto for these sessions (nil: the process's, `SWITCHBOARD_SRTP_BACKEND`).
struct SRTPCost {
    var profile: SRTPProfile
    var backend: SRTPCryptoBackend
    var protectNanoseconds: Double
    var unprotectNanoseconds: Double

    static let packetLength = 172

    /// With `sessions` > 1, that many sessions take the packets in turn, as a relay's calls do.
    static func measure(
        profile: SRTPProfile, sessions: Int = 1, backend: SRTPCryptoBackend? = nil, passes: Int = 5, packets: Int = 20_000
    ) -> SRTPCost {
        // Whole rounds, so every session's sequence numbers keep rising from pass to pass.
        let packetsPerPass = (packets + sessions - 1) / sessions * sessions
        // One session per call, as in the gateway: packets protected with a session's outbound
        // context are unprotected with its inbound one (the same key both ways).
        let backend = backend ?? SRTPSession.cryptoBackend
        var calls: [SRTPSession] = []
        SRTPSession.withCryptoBackend(backend) {
            for _ in 0..<sessions {
                guard let key = try? SRTPMasterKey.random(profile: profile), let session = try? SRTPSession(outbound: key, inbound: key)
                else { fail("cannot make SRTP sessions for \(profile)") }
                calls.append(session)
            }
        }
        let slot = 256
        let packets = UnsafeMutableRawPointer.allocate(byteCount: slot * packetsPerPass, alignment: 16)
        defer { packets.deallocate() }
        var lengths = [Int](repeating: 0, count: packetsPerPass)
        var sequence: UInt16 = 1
        var timestamp: UInt32 = 160
        var bestProtect = Int64.max
        var bestUnprotect = Int64.max
        for _ in 0..<(passes + 1) {
            for index in 0..<packetsPerPass {
                writeRTP(into: packets + index * slot, sequence: sequence, timestamp: timestamp, ssrc: 0x1234_5678, payloadType: 0)
                if index % sessions == sessions - 1 {
                    sequence &+= 1
                    timestamp &+= 160
                }
            }
            var start = threadCPUNanoseconds()
            for index in 0..<packetsPerPass {
                guard let length = try? calls[index % sessions].protectRTP(packets + index * slot, length: packetLength, capacity: slot) else {
                    fail("protect failed")
                }
                lengths[index] = length
            }
            let protect = threadCPUNanoseconds() - start
            start = threadCPUNanoseconds()
            for index in 0..<packetsPerPass {
                guard (try? calls[index % sessions].unprotectRTP(packets + index * slot, length: lengths[index])) == packetLength else {
                    fail("unprotect failed")
                }
            }
            let unprotect = threadCPUNanoseconds() - start
            bestProtect = min(bestProtect, protect)
            bestUnprotect = min(bestUnprotect, unprotect)
        }
        return SRTPCost(
            profile: profile, backend: backend, protectNanoseconds: Double(bestProtect) / Double(packetsPerPass),
            unprotectNanoseconds: Double(bestUnprotect) / Double(packetsPerPass)
        )
    }
}

/// A 172-byte PCMU RTP packet (12-byte header, 160 bytes of payload) at `packet`.
func writeRTP(into packet: UnsafeMutableRawPointer, sequence: UInt16, timestamp: UInt32, ssrc: UInt32, payloadType: UInt8) {
    packet.storeBytes(of: UInt8(0x80), toByteOffset: 0, as: UInt8.self)
    packet.storeBytes(of: payloadType & 0x7F, toByteOffset: 1, as: UInt8.self)
    packet.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
    packet.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
    packet.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
    // μ-law of a quiet, varying signal: bytes near 0xFF.
    for index in 0..<160 {
        packet.storeBytes(of: UInt8(0xF0 | UInt8(truncatingIfNeeded: (Int(sequence) + index) & 0x0F)), toByteOffset: 12 + index, as: UInt8.self)
    }
}

/// The live heap (mallinfo2) one `SRTPSession` holds, made and after one packet each way (the
/// outbound and inbound streams are cloned for the packet's SSRC), over `sessions` sessions made
/// together; a first session has done NSS's and libsrtp2's one-time initialisation. What NSS
/// keeps after a batch is released (its caches grow with the number of sessions) counts in the
/// first batch of a process and not in the next: call it twice.
func srtpMemory(profile: SRTPProfile, sessions count: Int) -> (made: Double, used: Double) {
    func makeSession() -> SRTPSession? {
        guard let key = try? SRTPMasterKey.random(profile: profile) else { return nil }
        return try? SRTPSession(outbound: key, inbound: key)
    }
    // Made with the process's backend (the kernel is not switched, which would count the
    // self-tests' leftovers): run with SWITCHBOARD_SRTP_BACKEND=builtin for libsrtp2's own.
    guard makeSession() != nil else { fail("cannot make SRTP sessions for \(profile)") }
    let before = cmr_heap_in_use()
    var sessions: [SRTPSession] = []
    for _ in 0..<count {
        guard let session = makeSession() else { fail("cannot make SRTP sessions for \(profile)") }
        sessions.append(session)
    }
    let made = cmr_heap_in_use()
    let packet = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)
    defer { packet.deallocate() }
    for session in sessions {
        writeRTP(into: packet, sequence: 1, timestamp: 160, ssrc: 0x1234_5678, payloadType: 0)
        guard let length = try? session.protectRTP(packet, length: SRTPCost.packetLength, capacity: 256),
            (try? session.unprotectRTP(packet, length: length)) != nil
        else { fail("protect or unprotect failed") }
    }
    let used = cmr_heap_in_use()
    return (Double(made - before) / 1024 / Double(count), Double(used - before) / 1024 / Double(count))
}
