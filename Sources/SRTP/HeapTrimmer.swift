import CSwitchboardOpenSSL
import Dispatch
import Glibc
import Synchronization

/// Gives the kernel back the memory a burst of call set-ups leaves free in the allocator.
///
/// A DTLS handshake holds about 50 KiB of OpenSSL state (the `SSL` object, its handshake
/// buffers, the peer's certificate, the ECDH keys) that the session frees once the browser's SRTP
/// flows. When many calls are set up at once, those blocks sit between the calls' long-lived
/// allocations, and glibc's `free` returns only the top of a heap to the kernel: the resident set
/// keeps the holes (reused by later calls, never returned). `malloc_trim(0)` releases every whole
/// free page of every arena (`madvise(MADV_DONTNEED)`).
///
/// Releases are counted; once `threshold` of them have come since the last trim, one trim runs
/// `delay` later on a utility queue, off the event loops (a trim takes each arena's lock in turn,
/// so a loop allocating meanwhile waits for it; the relay path does not allocate per packet).
/// Later releases during that delay join the same trim.
public final class HeapTrimmer: Sendable {
    /// The process's trimmer. `SWITCHBOARD_HEAP_TRIM=0` turns it off (for before/after
    /// measurements of the resident set).
    public static let shared = HeapTrimmer(threshold: getenv("SWITCHBOARD_HEAP_TRIM").map { String(cString: $0) } == "0" ? .max : defaultThreshold)

    /// About 1.5 MiB of freed handshake state.
    static let defaultThreshold = 32

    /// Releases (each about one DTLS handshake's state) that make a trim worth its cost.
    let threshold: Int
    let delay: DispatchTimeInterval
    private let released = Atomic<Int>(0)
    private let scheduled = Atomic<Bool>(false)
    private let trims = Atomic<Int>(0)

    init(threshold: Int = defaultThreshold, delay: DispatchTimeInterval = .seconds(1)) {
        self.threshold = threshold
        self.delay = delay
    }

    /// How many trims have run.
    var trimCount: Int { trims.load(ordering: .relaxed) }

    /// A session freed the state of one handshake (or its whole self).
    public func noteRelease() {
        let count = released.wrappingAdd(1, ordering: .relaxed).newValue
        guard count >= threshold else { return }
        guard scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + delay) { [self] in
            released.store(0, ordering: .relaxed)
            scheduled.store(false, ordering: .releasing)
            // Not while a session is being made or the library initialises: in one unit-test run
            // of about a dozen every `srtp_create` of the process failed with init_fail, and a
            // trim may have run during the library's initialisation; the cause is not known,
            // so the two are kept apart.
            _ = SRTPLibrary.exclusively { malloc_trim(0) }
            trims.wrappingAdd(1, ordering: .relaxed)
        }
    }
}
