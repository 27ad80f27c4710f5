#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Randomness for branches, tags and Call-IDs: the operating system's CSPRNG, read 4 KiB at a
/// time. `SystemRandomNumberGenerator` makes one system call per value, and a
/// bridged call draws about ten (two branches, two tags, a Call-ID...). The bytes are the same
/// kernel randomness, only fetched in bulk; the pool is behind an uncontended lock.
public struct SIPRandom: RandomNumberGenerator, Sendable {
    public init() {}

    public mutating func next() -> UInt64 {
        Self.pool.withLock { $0.next() }
    }

    private static let pool = Mutex(Pool())

    private struct Pool: ~Copyable {
        var words = [UInt64](repeating: 0, count: 512)
        var index = 512

        mutating func next() -> UInt64 {
            if index == words.count { refill() }
            defer { index += 1 }
            return words[index]
        }

        mutating func refill() {
            let filled = words.withUnsafeMutableBytes { bytes -> Bool in
                #if canImport(Glibc)
                // getrandom(2) is not in the Glibc module; /dev/urandom is the same pool.
                let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return false }
                defer { close(fd) }
                var offset = 0
                while offset < bytes.count {
                    let got = read(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if got < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    if got == 0 { return false }
                    offset += got
                }
                return true
                #else
                arc4random_buf(bytes.baseAddress!, bytes.count)
                return true
                #endif
            }
            if !filled {
                var system = SystemRandomNumberGenerator()
                for i in words.indices { words[i] = system.next() }
            }
            index = 0
        }
    }
}
