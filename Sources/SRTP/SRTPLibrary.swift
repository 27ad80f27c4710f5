internal import CSwitchboardSRTP
#if canImport(Glibc)
internal import Glibc
#endif
internal import Synchronization

/// libsrtp2's process-wide crypto kernel: initialised once, under a lock, before the first
/// session is created. Session creation is a control-path operation; packets never take the lock.
enum SRTPLibrary {
    private static let initialised = Mutex(false)

    /// Runs `body` (an `srtp_create` call) with the library initialised. If another part of the
    /// process shut libsrtp down (`srtp_shutdown`), `srtp_create` reports `init_fail`: the kernel
    /// is initialised again and `body` retried once.
    static func withInitialised(_ body: () -> srtp_err_status_t) -> srtp_err_status_t {
        initialised.withLock { isInitialised in
            if !isInitialised {
                isInitialised = initialise()
            }
            let status = body()
            guard status == srtp_err_status_init_fail else { return status }
            isInitialised = initialise()
            return body()
        }
    }

    /// `srtp_init` answers `bad_param` when its debug module is already registered, that is when
    /// the library was already initialised by someone else in this process.
    private static func initialise() -> Bool {
        initialiseNSSForManyKeys()
        let status = srtp_init()
        return status == srtp_err_status_ok || status == srtp_err_status_bad_param
    }

    /// Where libsrtp2 does its crypto through NSS (Debian's build), every cipher it allocates
    /// calls `NSS_InitContext` with `NSS_INIT_OPTIMIZESPACE`, and the first initialisation in the
    /// process fixes the size of the softoken's session-object hash table: 32 buckets when
    /// optimised for space, 1,024 otherwise. Each protect and unprotect looks its key up in that
    /// table (`PK11_Encrypt` → `C_EncryptInit`), and every session holds several keys, so with 32
    /// buckets the cost grows with the number of calls: 2.0 µs per AES-GCM protect of a 172-byte
    /// packet with one session, 6.3 µs with 500 sessions taking packets in turn, 12.4 µs with
    /// 1,000 (AES-CM/HMAC-SHA1: 5.3, 18, 41 µs). Initialising NSS first, with libsrtp2's flags but
    /// not that one, keeps the lookups short: 3.6 µs with 500 sessions, 4.7 µs with 1,000.
    /// The context is kept for the life of the process. `NSS_InitContext` is looked up at run
    /// time, so a libsrtp2 built on OpenSSL (no NSS in the process) needs nothing.
    private static func initialiseNSSForManyKeys() {
        #if canImport(Glibc)
        typealias InitContext = @convention(c) (
            UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UInt32
        ) -> OpaquePointer?
        guard nssContext == nil, let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "NSS_InitContext") else { return }
        let initContext = unsafeBitCast(symbol, to: InitContext.self)
        // NSS_INIT_READONLY | NSS_INIT_NOCERTDB | NSS_INIT_NOMODDB | NSS_INIT_FORCEOPEN.
        let flags: UInt32 = 0x1 | 0x2 | 0x4 | 0x8
        nssContext = initContext("", "", "", "", nil, flags)
        #endif
    }

    /// The NSS context opened by ``initialiseNSSForManyKeys()``, if any (under the lock).
    nonisolated(unsafe) private static var nssContext: OpaquePointer?

    /// Whether this process initialised NSS for libsrtp2 (false where libsrtp2 does not use NSS).
    static var initialisedNSS: Bool {
        initialised.withLock { _ in nssContext != nil }
    }
}
