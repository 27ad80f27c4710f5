internal import CSwitchboardSRTP
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
        let status = srtp_init()
        return status == srtp_err_status_ok || status == srtp_err_status_bad_param
    }
}
