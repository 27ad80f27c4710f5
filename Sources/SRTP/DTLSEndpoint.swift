internal import CSwitchboardOpenSSL
public import NIOCore

/// A DTLS 1.2 endpoint for DTLS-SRTP (RFC 5764) as a sans-I/O driver over system OpenSSL with
/// memory BIOs: datagrams and the clock go in, datagrams to send, the next timer deadline and
/// events come out. It owns an `SSL *` and is not thread-safe: confine it to one event loop.
///
/// **Timers.** OpenSSL's DTLS retransmission timer always reads the real clock: it arms
/// `next_timeout = gettimeofday() + duration` whenever it sends a flight, and
/// `DTLSv1_handle_timeout` does nothing until that real instant has passed. The driver keeps
/// OpenSSL's timer as the single source of truth and only translates it to the caller's clock:
/// - the duration of each retransmission interval comes from a `DTLS_set_timer_cb` callback
///   implementing RFC 6347 §4.2.4 (initial interval, doubled after each timeout, capped);
/// - after every input, `DTLSv1_get_timeout` (time left on OpenSSL's clock) is added to the
///   caller's `now` to give ``DTLSOutput/nextTimer``;
/// - ``timerFired(now:)`` calls `DTLSv1_handle_timeout`; if OpenSSL's clock has not reached the
///   deadline yet (the caller's clock runs ahead of the real one, as a test clock does), nothing
///   is retransmitted and the timer is armed again for the time OpenSSL still reports.
/// OpenSSL therefore never retransmits at an instant the driver did not announce (its read path
/// also retransmits once the same real deadline has passed), and retransmissions always need
/// real time to pass: tests use a short initial interval. The handshake limit
/// (``Configuration/handshakeTimeout``) is counted on the caller's clock alone.
///
/// **Datagrams.** OpenSSL packs handshake records up to the MTU using the write BIO's pending
/// length; the driver splits the write BIO's bytes at DTLS record boundaries and packs the records
/// again into datagrams of at most the MTU (several records per datagram, RFC 6347 §4.1.1).
/// Each received datagram is written to the read BIO alone and consumed before the next.
public final class DTLSEndpoint {
    /// Which side of the handshake this endpoint plays.
    public enum Role: Sendable, Hashable {
        /// Sends the ClientHello: SDP `a=setup:active`. The gateway's role when the browser offers `actpass`.
        case client
        /// Waits for the ClientHello: SDP `a=setup:passive`.
        case server

        /// The role to take when answering an offer with this `a=setup` value (RFC 5763 §5):
        /// `actpass` and `passive` make this side the client, `active` makes it the server.
        public init?(answeringOfferedSetup setup: some StringProtocol) {
            switch setup.lowercased() {
            case "actpass", "passive": self = .client
            case "active": self = .server
            default: return nil
            }
        }

        /// The `a=setup` value that announces this role.
        public var sdpSetup: String {
            switch self {
            case .client: "active"
            case .server: "passive"
            }
        }
    }

    /// How the endpoint runs its handshake.
    public struct Configuration: Sendable {
        /// Client (`active`) or server (`passive`).
        public var role: Role
        /// This side's certificate and key.
        public var certificate: DTLSCertificate
        /// The peer's `a=fingerprint`; its hash function is the one used to check the peer's certificate.
        public var remoteFingerprint: DTLSFingerprint
        /// SRTP profiles offered (client) or accepted (server), most preferred first. OpenSSL
        /// applies the server's order, so GCM wins whenever this side serves and both offer it.
        public var srtpProfiles: [SRTPProfile]
        /// Largest datagram sent, in bytes.
        public var mtu: Int
        /// The handshake fails with ``DTLSFailure/timedOut`` if not complete this long after `start`.
        public var handshakeTimeout: TimeAmount
        /// First retransmission interval (RFC 6347 §4.2.4.1 recommends 1 s).
        public var initialRetransmissionInterval: TimeAmount
        /// Cap of the doubled retransmission interval (RFC 6347: 60 s).
        public var maximumRetransmissionInterval: TimeAmount

        /// A configuration with RFC 6347's retransmission intervals and GCM preferred over CM_80.
        public init(
            role: Role,
            certificate: DTLSCertificate,
            remoteFingerprint: DTLSFingerprint,
            srtpProfiles: [SRTPProfile] = [.aeadAES128GCM, .aes128CMHMACSHA1_80],
            mtu: Int = 1200,
            handshakeTimeout: TimeAmount = .seconds(20),
            initialRetransmissionInterval: TimeAmount = .seconds(1),
            maximumRetransmissionInterval: TimeAmount = .seconds(60)
        ) {
            self.role = role
            self.certificate = certificate
            self.remoteFingerprint = remoteFingerprint
            self.srtpProfiles = srtpProfiles
            self.mtu = mtu
            self.handshakeTimeout = handshakeTimeout
            self.initialRetransmissionInterval = initialRetransmissionInterval
            self.maximumRetransmissionInterval = maximumRetransmissionInterval
        }
    }

    /// Where the endpoint is.
    public enum State: Sendable, Hashable {
        /// Made, ``start(now:)`` not called yet.
        case idle
        /// Started, not yet connected.
        case handshaking
        /// Connected; ``DTLSEndpoint/keys`` holds the SRTP keys.
        case connected
        /// Closed by either side.
        case closed
        /// Failed; the event said why.
        case failed
    }

    /// The configuration the endpoint was made with.
    public let configuration: Configuration
    /// Where the endpoint is.
    public private(set) var state: State = .idle
    /// The SRTP keys once connected.
    public private(set) var keys: SRTPKeys?

    /// Received datagrams larger than this are dropped (no DTLS record the gateway expects is).
    public static let maximumDatagramLength = 16_384

    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private let allocator = ByteBufferAllocator()
    private var handshakeDeadline: NIODeadline?
    private var retransmissionDeadline: NIODeadline?
    /// Set by the verify callback when the peer's certificate does not match.
    private var verificationFailure: DTLSFailure?
    /// Application data read after the handshake is discarded into a buffer on the stack: an
    /// idle endpoint keeps no read buffer.
    private static let discardCapacity = 4096

    /// A new endpoint; no datagram is produced until ``start(now:)``.
    public init(configuration: Configuration) throws(DTLSFailure) {
        guard !configuration.srtpProfiles.isEmpty, configuration.mtu >= 256, configuration.mtu <= 65_507 else {
            throw .setupFailed(reason: "no SRTP profile, or an MTU outside 256...65507")
        }
        OpenSSLErrorQueue.clear()
        let certificate = configuration.certificate
        let context = try certificate.context { () throws(DTLSFailure) -> OpaquePointer in
            guard let context = SSL_CTX_new(DTLS_method()) else {
                throw .setupFailed(reason: OpenSSLErrorQueue.drain(fallback: "SSL_CTX_new failed"))
            }
            guard cswitchboard_SSL_CTX_set_min_proto_version(context, DTLS1_2_VERSION) == 1,
                cswitchboard_SSL_CTX_set_max_proto_version(context, DTLS1_2_VERSION) == 1,
                SSL_CTX_use_certificate(context, certificate.certificate) == 1,
                SSL_CTX_use_PrivateKey(context, certificate.privateKey) == 1,
                SSL_CTX_check_private_key(context) == 1,
                SSL_CTX_set_cipher_list(context, Self.cipherList) == 1
            else {
                SSL_CTX_free(context)
                throw .setupFailed(reason: OpenSSLErrorQueue.drain(fallback: "could not configure the DTLS context"))
            }
            return context
        }
        let profiles = configuration.srtpProfiles.map(\.dtlsProfileName).joined(separator: ":")
        guard let ssl = SSL_new(context) else {
            throw .setupFailed(reason: OpenSSLErrorQueue.drain(fallback: "SSL_new failed"))
        }
        let readBIO = BIO_new(BIO_s_mem())
        let writeBIO = BIO_new(BIO_s_mem())
        guard let readBIO, let writeBIO else {
            if let readBIO { BIO_free(readBIO) }
            if let writeBIO { BIO_free(writeBIO) }
            SSL_free(ssl)
            throw .setupFailed(reason: OpenSSLErrorQueue.drain(fallback: "BIO_new failed"))
        }
        // An empty memory BIO reads as "retry later", not as end of file.
        _ = cswitchboard_BIO_set_mem_eof_return(readBIO, -1)
        _ = cswitchboard_BIO_set_mem_eof_return(writeBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)  // the SSL object owns both BIOs from here
        // The MTU is the configured one; sessions are never resumed (no tickets) nor renegotiated.
        _ = SSL_set_options(
            ssl, cswitchboard_SSL_OP_NO_QUERY_MTU() | cswitchboard_SSL_OP_NO_TICKET() | cswitchboard_SSL_OP_NO_RENEGOTIATION())
        // Record buffers only while a record is in flight: a call's endpoint idles after the handshake.
        _ = cswitchboard_SSL_set_mode_release_buffers(ssl)
        guard cswitchboard_SSL_set_mtu(ssl, configuration.mtu) > 0,
            cswitchboard_SSL_set_tlsext_use_srtp(ssl, profiles) == 0
        else {
            SSL_free(ssl)
            throw .setupFailed(reason: OpenSSLErrorQueue.drain(fallback: "could not set the MTU or the SRTP profiles"))
        }
        SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, Self.verifyCallback)
        DTLS_set_timer_cb(ssl, Self.timerCallback)
        switch configuration.role {
        case .client: SSL_set_connect_state(ssl)
        case .server: SSL_set_accept_state(ssl)
        }
        self.configuration = configuration
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        // The callbacks find the endpoint through the SSL object; it never outlives the endpoint.
        _ = cswitchboard_SSL_set_app_data(ssl, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        SSL_free(ssl)
    }

    /// ECDHE only, AEAD first; ECDSA for the gateway's own certificate, RSA accepted from peers.
    private static let cipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
        + "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA"

    // MARK: - Inputs

    /// Starts the handshake: a client sends its ClientHello, a server waits for one. Both start
    /// counting ``Configuration/handshakeTimeout`` from `now`.
    public func start(now: NIODeadline) -> DTLSOutput {
        guard state == .idle else { return DTLSOutput(nextTimer: nextTimer()) }
        state = .handshaking
        handshakeDeadline = now + configuration.handshakeTimeout
        switch configuration.role {
        case .client: return advance(now: now)
        case .server: return DTLSOutput(nextTimer: nextTimer())
        }
    }

    /// Processes one received DTLS datagram (RFC 7983: first byte 20...63).
    public func receive(_ datagram: ByteBuffer, now: NIODeadline) -> DTLSOutput {
        datagram.withUnsafeReadableBytes { receive($0, now: now) }
    }

    /// Processes one received DTLS datagram given as raw bytes.
    public func receive(_ datagram: UnsafeRawBufferPointer, now: NIODeadline) -> DTLSOutput {
        guard state == .handshaking || state == .connected else { return DTLSOutput() }
        guard let base = datagram.baseAddress, !datagram.isEmpty, datagram.count <= Self.maximumDatagramLength else {
            return DTLSOutput(nextTimer: nextTimer())
        }
        guard BIO_write(readBIO, base, Int32(datagram.count)) == Int32(datagram.count) else {
            return fail(.connectionFailed(reason: "read BIO refused the datagram"), now: now)
        }
        let output = advance(now: now)
        // A datagram is never left half read for the next one to be appended to.
        if BIO_ctrl_pending(readBIO) > 0 {
            _ = BIO_ctrl(readBIO, BIO_CTRL_RESET, 0, nil)
        }
        return output
    }

    /// The timer announced in ``DTLSOutput/nextTimer`` fired: fails the handshake when its limit
    /// has passed, otherwise lets OpenSSL retransmit its last flight if its timer has expired.
    public func timerFired(now: NIODeadline) -> DTLSOutput {
        switch state {
        case .idle, .closed, .failed:
            return DTLSOutput()
        case .handshaking:
            if let handshakeDeadline, now >= handshakeDeadline {
                return fail(.timedOut, now: now)
            }
        case .connected:
            break
        }
        if let retransmissionDeadline, now >= retransmissionDeadline {
            OpenSSLErrorQueue.clear()
            if cswitchboard_DTLS_handle_timeout(ssl) < 0 {
                // OpenSSL's own limit on timeouts (DTLS1_TMO_ALERT_COUNT) was reached.
                return fail(state == .handshaking ? .timedOut : .connectionFailed(reason: "retransmission limit"), now: now)
            }
        }
        updateRetransmissionDeadline(now: now)
        return DTLSOutput(datagrams: drainWriteBIO(), nextTimer: nextTimer())
    }

    /// Closes the endpoint; once connected, the output carries close_notify for the peer.
    public func close(now: NIODeadline) -> DTLSOutput {
        guard state == .handshaking || state == .connected else { return DTLSOutput() }
        OpenSSLErrorQueue.clear()
        if state == .connected {
            _ = SSL_shutdown(ssl)
        }
        state = .closed
        OpenSSLErrorQueue.clear()
        return DTLSOutput(datagrams: drainWriteBIO())
    }

    // MARK: - The handshake and the records

    private func advance(now: NIODeadline) -> DTLSOutput {
        OpenSSLErrorQueue.clear()
        var event: DTLSEvent?
        if state == .handshaking {
            let result = SSL_do_handshake(ssl)
            if result == 1 {
                event = completeHandshake()
            } else {
                let error = SSL_get_error(ssl, result)
                switch error {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                    break
                case SSL_ERROR_ZERO_RETURN:
                    state = .closed
                    event = .closed
                default:
                    let failure = verificationFailure
                        ?? .handshakeFailed(reason: OpenSSLErrorQueue.drain(fallback: "handshake failed (SSL error \(error))"))
                    state = .failed
                    event = .failed(failure)
                }
            }
        }
        if state == .connected {
            if let readEvent = readRecords() { event = readEvent }
        }
        updateRetransmissionDeadline(now: now)
        return DTLSOutput(datagrams: drainWriteBIO(), nextTimer: nextTimer(), event: event)
    }

    /// Checks the peer's certificate and the SRTP profile, exports the keys and connects.
    private func completeHandshake() -> DTLSEvent {
        let expected = configuration.remoteFingerprint
        guard let peer = SSL_get0_peer_certificate(ssl) else {
            return failHandshake(.fingerprintMismatch(expected: expected, actual: nil))
        }
        let actual = try? DTLSFingerprint(algorithm: expected.algorithm, certificate: peer)
        guard actual == expected else {
            return failHandshake(.fingerprintMismatch(expected: expected, actual: actual))
        }
        guard let selected = SSL_get_selected_srtp_profile(ssl), let name = selected.pointee.name,
            let profile = SRTPProfile(dtlsProfileName: String(cString: name)),
            configuration.srtpProfiles.contains(profile)
        else {
            return failHandshake(.noCommonSRTPProfile)
        }
        let keyLength = profile.masterKeyLength
        let saltLength = profile.masterSaltLength
        var material = [UInt8](repeating: 0, count: 2 * (keyLength + saltLength))
        let label = "EXTRACTOR-dtls_srtp"
        let exported = material.withUnsafeMutableBufferPointer { out in
            SSL_export_keying_material(ssl, out.baseAddress, out.count, label, label.utf8.count, nil, 0, 0)
        }
        guard exported == 1 else {
            return failHandshake(.handshakeFailed(reason: OpenSSLErrorQueue.drain(fallback: "keying material export failed")))
        }
        // RFC 5764 §4.2: client key, server key, client salt, server salt.
        let clientKey = material[0..<keyLength] + material[(2 * keyLength)..<(2 * keyLength + saltLength)]
        let serverKey = material[keyLength..<(2 * keyLength)] + material[(2 * keyLength + saltLength)...]
        material.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        do throws(SRTPError) {
            let client = try SRTPMasterKey(profile: profile, keyAndSalt: Array(clientKey))
            let server = try SRTPMasterKey(profile: profile, keyAndSalt: Array(serverKey))
            let keys: SRTPKeys
            switch configuration.role {
            case .client: keys = try SRTPKeys(profile: profile, local: client, remote: server)
            case .server: keys = try SRTPKeys(profile: profile, local: server, remote: client)
            }
            self.keys = keys
            state = .connected
            handshakeDeadline = nil
            return .connected(keys)
        } catch {
            return failHandshake(.handshakeFailed(reason: "keying material of the wrong length"))
        }
    }

    private func failHandshake(_ failure: DTLSFailure) -> DTLSEvent {
        // The handshake is complete on this side: close_notify tells the peer, in this output.
        _ = SSL_shutdown(ssl)
        state = .failed
        return .failed(failure)
    }

    /// Reads records after the handshake: answers retransmitted flights (inside OpenSSL), drops
    /// application data (no data channel), and reports close_notify and fatal alerts.
    private func readRecords() -> DTLSEvent? {
        while true {
            let count = withUnsafeTemporaryAllocation(byteCount: Self.discardCapacity, alignment: 1) {
                SSL_read(ssl, $0.baseAddress, Int32($0.count))
            }
            if count > 0 { continue }
            let error = SSL_get_error(ssl, count)
            switch error {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return nil
            case SSL_ERROR_ZERO_RETURN:
                _ = SSL_shutdown(ssl)
                state = .closed
                return .closed
            default:
                state = .failed
                return .failed(.connectionFailed(reason: OpenSSLErrorQueue.drain(fallback: "SSL error \(error)")))
            }
        }
    }

    private func fail(_ failure: DTLSFailure, now: NIODeadline) -> DTLSOutput {
        state = .failed
        handshakeDeadline = nil
        retransmissionDeadline = nil
        return DTLSOutput(datagrams: drainWriteBIO(), event: .failed(failure))
    }

    // MARK: - Timers

    private func updateRetransmissionDeadline(now: NIODeadline) {
        guard state == .handshaking || state == .connected else {
            retransmissionDeadline = nil
            return
        }
        let remaining = cswitchboard_DTLS_get_timeout_us(ssl)
        retransmissionDeadline = remaining >= 0 ? now + .microseconds(Int64(remaining)) : nil
    }

    private func nextTimer() -> NIODeadline? {
        switch (state == .handshaking ? handshakeDeadline : nil, retransmissionDeadline) {
        case let (handshake?, retransmission?): min(handshake, retransmission)
        case let (handshake?, nil): handshake
        case let (nil, retransmission?): retransmission
        case (nil, nil): nil
        }
    }

    /// RFC 6347 §4.2.4: the initial interval, then doubled after each timeout, up to the cap.
    func retransmissionInterval(after previous: UInt32) -> UInt32 {
        let initial = UInt32(clamping: configuration.initialRetransmissionInterval.nanoseconds / 1000)
        let maximum = UInt32(clamping: configuration.maximumRetransmissionInterval.nanoseconds / 1000)
        guard previous > 0 else { return max(initial, 1) }
        let doubled = previous.multipliedReportingOverflow(by: 2)
        return doubled.overflow ? maximum : min(doubled.partialValue, maximum)
    }

    fileprivate func verifyPeer(_ certificate: OpaquePointer) -> Bool {
        let expected = configuration.remoteFingerprint
        let actual = try? DTLSFingerprint(algorithm: expected.algorithm, certificate: certificate)
        guard actual == expected else {
            verificationFailure = .fingerprintMismatch(expected: expected, actual: actual)
            return false
        }
        return true
    }

    private static let timerCallback: DTLS_timer_cb = { ssl, previous in
        guard let ssl, let endpoint = cswitchboard_SSL_get_app_data(ssl) else { return 1_000_000 }
        return Unmanaged<DTLSEndpoint>.fromOpaque(endpoint).takeUnretainedValue().retransmissionInterval(after: previous)
    }

    /// Accepts the self-signed peer certificate exactly when its fingerprint is the expected one.
    private static let verifyCallback: SSL_verify_cb = { _, store in
        guard let store,
            let sslPointer = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
            let endpoint = cswitchboard_SSL_get_app_data(OpaquePointer(sslPointer)),
            let certificate = X509_STORE_CTX_get0_cert(store)
        else { return 0 }
        return Unmanaged<DTLSEndpoint>.fromOpaque(endpoint).takeUnretainedValue().verifyPeer(certificate) ? 1 : 0
    }

    // MARK: - Datagrams

    /// Splits what OpenSSL wrote at record boundaries and packs the records into datagrams of at
    /// most the MTU.
    private func drainWriteBIO() -> [ByteBuffer] {
        let pending = Int(BIO_ctrl_pending(writeBIO))
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = bytes.withUnsafeMutableBytes { BIO_read(writeBIO, $0.baseAddress, Int32($0.count)) }
        guard read > 0 else { return [] }
        let total = Int(read)
        var datagrams: [ByteBuffer] = []
        var current = allocator.buffer(capacity: min(total, configuration.mtu))
        var offset = 0
        while offset < total {
            // DTLS record header: type, version (2), epoch (2), sequence (6), length (2).
            var end = total
            if total - offset >= 13 {
                let length = Int(bytes[offset + 11]) << 8 | Int(bytes[offset + 12])
                end = min(offset + 13 + length, total)
            }
            if current.readableBytes > 0, current.readableBytes + (end - offset) > configuration.mtu {
                datagrams.append(current)
                current = allocator.buffer(capacity: configuration.mtu)
            }
            current.writeBytes(bytes[offset..<end])
            offset = end
        }
        if current.readableBytes > 0 { datagrams.append(current) }
        return datagrams
    }
}
