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

    /// Runs `body` while no session is being made and the library is not being initialised
    /// (under the same lock): for the heap trim, so that it never runs inside libsrtp2's or
    /// NSS's set-up.
    static func exclusively<T>(_ body: () -> T) -> T {
        initialised.withLock { _ in body() }
    }

    /// Held while ``withCryptoBackend(_:_:)`` runs its body: one pinned backend at a time.
    private static let pinned = Mutex(())

    /// Runs `body` with `backend`'s types in libsrtp2's kernel, so the sessions it makes use
    /// them, then puts the process's backend back: for tests and benchmarks that compare the
    /// backends. Sessions keep the types they were made with. Sessions made meanwhile on other
    /// threads get `backend` too (either backend is correct). Switching costs a self-test of
    /// every type (a tenth of a second or more), so make the sessions in one batch.
    static func withCryptoBackend<E: Error>(_ backend: SRTPCryptoBackend, _ body: () throws(E) -> Void) throws(E) {
        try pinned.withLock { _ throws(E) in
            _ = withInitialised { srtp_err_status_ok }
            let switched = initialised.withLock { _ -> Bool in
                guard backend != currentBackend else { return false }
                currentBackend = SRTPCryptoBackend.install(backend)
                return true
            }
            defer {
                if switched {
                    initialised.withLock { _ in currentBackend = SRTPCryptoBackend.install(processBackend) }
                }
            }
            try body()
        }
    }

    /// `srtp_init` answers `bad_param` when its debug module is already registered, that is when
    /// the library was already initialised by someone else in this process.
    ///
    /// Right after `srtp_init`, libsrtp2's AES and HMAC-SHA1 are replaced by the OpenSSL ones
    /// (``SRTPCryptoBackend``), unless `SWITCHBOARD_SRTP_BACKEND=builtin`; if libsrtp2 refuses
    /// them, its own stay. After an `srtp_shutdown` elsewhere the replacement is made again.
    private static func initialise() -> Bool {
        initialiseNSSForManyKeys()
        let status = srtp_init()
        guard status == srtp_err_status_ok || status == srtp_err_status_bad_param else { return false }
        processBackend = SRTPCryptoBackend.install(SRTPCryptoBackend.requested)
        currentBackend = processBackend
        return true
    }

    /// The crypto backend chosen at initialisation (under the lock).
    nonisolated(unsafe) private static var processBackend: SRTPCryptoBackend = .builtin
    /// The crypto backend in libsrtp2's kernel now: the process's, or a pinned one (under the lock).
    nonisolated(unsafe) private static var currentBackend: SRTPCryptoBackend = .builtin

    /// The crypto backend of the process's sessions, initialising the library if needed.
    static var cryptoBackend: SRTPCryptoBackend {
        _ = withInitialised { srtp_err_status_ok }
        return initialised.withLock { _ in processBackend }
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
    ///
    /// With the OpenSSL backend no packet goes through NSS, but `srtp_init` still self-tests
    /// the built-in (NSS) types, which initialises NSS; and the built-in backend stays the
    /// fallback (`SWITCHBOARD_SRTP_BACKEND=builtin`, or a libsrtp2 that refuses the
    /// replacement). So NSS is still initialised first, as before: it costs one context.
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
