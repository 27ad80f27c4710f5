internal import CSwitchboardSRTP
public import NIOCore

/// One SRTP/SRTCP session over libsrtp2: an outbound context that protects what this side sends
/// and an inbound context that unprotects what the peer sends.
///
/// Packets are transformed in place in a buffer the caller owns; nothing is allocated per
/// packet (libsrtp2 clones its stream template once per new SSRC). The inbound context accepts
/// any SSRC, so new streams after a re-INVITE or hold/resume are taken without rekeying; the
/// outbound context allows repeated sequence numbers, so relayed retransmissions are protected.
///
/// Not thread-safe: confine a session to one event loop.
public final class SRTPSession {
    /// The profile both directions use.
    public let profile: SRTPProfile
    /// The replay window of the inbound context, in packets.
    public let replayWindow: Int

    private let outbound: OpaquePointer
    private var inbound: OpaquePointer

    /// The largest packet the session transforms (a UDP payload).
    public static let maximumPacketLength = 65_535

    /// A session from the two keys.
    ///
    /// - Parameter replayWindow: inbound replay window in packets, 64 to 32768 (libsrtp2's range).
    public init(keys: SRTPKeys, replayWindow: Int = 1024) throws(SRTPError) {
        guard (64...32768).contains(replayWindow) else { throw .invalidReplayWindow(replayWindow) }
        self.profile = keys.profile
        self.replayWindow = replayWindow
        let outbound = try Self.makeContext(
            key: keys.local, direction: ssrc_any_outbound, replayWindow: replayWindow, allowRepeatTransmission: true)
        do {
            self.inbound = try Self.makeContext(
                key: keys.remote, direction: ssrc_any_inbound, replayWindow: replayWindow, allowRepeatTransmission: false)
        } catch {
            srtp_dealloc(outbound)
            throw error
        }
        self.outbound = outbound
    }

    /// A session from an outbound (local) and an inbound (remote) key of the same profile.
    public convenience init(outbound: SRTPMasterKey, inbound: SRTPMasterKey, replayWindow: Int = 1024) throws(SRTPError) {
        try self.init(keys: SRTPKeys(profile: outbound.profile, local: outbound, remote: inbound), replayWindow: replayWindow)
    }

    /// Replaces the inbound context with one for `key`, keeping the outbound context and its
    /// packet indices: for a peer that rekeys in a re-offer while this side keeps its own key
    /// (so no packet index is ever used twice under it).
    ///
    /// - Throws: ``SRTPError/profileMismatch`` when `key` is for another profile; the session
    ///   is unchanged then.
    public func replaceInbound(with key: SRTPMasterKey) throws(SRTPError) {
        guard key.profile == profile else { throw .profileMismatch }
        let context = try Self.makeContext(key: key, direction: ssrc_any_inbound, replayWindow: replayWindow, allowRepeatTransmission: false)
        srtp_dealloc(inbound)
        inbound = context
    }

    /// The crypto backend libsrtp2 uses for new sessions in this process: OpenSSL unless
    /// `SWITCHBOARD_SRTP_BACKEND=builtin` or libsrtp2 refused the replacement.
    @_spi(Benchmark) public static var cryptoBackend: SRTPCryptoBackend { SRTPLibrary.cryptoBackend }

    /// Runs `body` with libsrtp2 on `backend`'s crypto: the sessions it makes use it for their
    /// life. One switch costs a self-test of every crypto type; make the sessions in a batch.
    @_spi(Benchmark) public static func withCryptoBackend<E: Error>(_ backend: SRTPCryptoBackend, _ body: () throws(E) -> Void) throws(E) {
        try SRTPLibrary.withCryptoBackend(backend, body)
    }

    deinit {
        srtp_dealloc(outbound)
        srtp_dealloc(inbound)
    }

    private static func makeContext(
        key: SRTPMasterKey, direction: srtp_ssrc_type_t, replayWindow: Int, allowRepeatTransmission: Bool
    ) throws(SRTPError) -> OpaquePointer {
        var policy = srtp_policy_t()
        switch key.profile {
        case .aeadAES128GCM:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        case .aes128CMHMACSHA1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aes128CMHMACSHA1_32:
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        }
        policy.ssrc.type = direction
        policy.window_size = UInt(replayWindow)
        policy.allow_repeat_tx = allowRepeatTransmission ? 1 : 0
        var keyBytes = key.keyAndSalt
        var context: OpaquePointer?
        let status = keyBytes.withUnsafeMutableBufferPointer { keyBuffer in
            policy.key = keyBuffer.baseAddress
            return SRTPLibrary.withInitialised { srtp_create(&context, &policy) }
        }
        // libsrtp2 derives the session keys at creation and keeps no pointer to the master key.
        keyBytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        guard status == srtp_err_status_ok, let context else { throw SRTPError(status: status) }
        return context
    }

    // MARK: - In place, raw buffers

    /// Protects the RTP packet of `length` bytes at `packet` in place and returns the SRTP length.
    /// `capacity` bytes must be writable at `packet`; ``SRTPProfile/rtpOverhead`` more than `length`.
    @inlinable
    public func protectRTP(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int) throws(SRTPError) -> Int {
        try transform(packet, length: length, capacity: capacity, kind: .protectRTP)
    }

    /// Unprotects the SRTP packet of `length` bytes at `packet` in place and returns the RTP length.
    @inlinable
    public func unprotectRTP(_ packet: UnsafeMutableRawPointer, length: Int) throws(SRTPError) -> Int {
        try transform(packet, length: length, capacity: length, kind: .unprotectRTP)
    }

    /// Protects the RTCP compound packet of `length` bytes at `packet` in place and returns the
    /// SRTCP length; ``SRTPProfile/rtcpOverhead`` more than `length` must fit in `capacity`.
    @inlinable
    public func protectRTCP(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int) throws(SRTPError) -> Int {
        try transform(packet, length: length, capacity: capacity, kind: .protectRTCP)
    }

    /// Unprotects the SRTCP packet of `length` bytes at `packet` in place and returns the RTCP length.
    @inlinable
    public func unprotectRTCP(_ packet: UnsafeMutableRawPointer, length: Int) throws(SRTPError) -> Int {
        try transform(packet, length: length, capacity: length, kind: .unprotectRTCP)
    }

    // MARK: - In place, ByteBuffer

    /// Protects the RTP packet in `buffer`'s readable bytes in place (growing the buffer only if it
    /// has fewer than ``SRTPProfile/rtpOverhead`` writable bytes).
    public func protectRTP(_ buffer: inout ByteBuffer) throws(SRTPError) {
        try transform(&buffer, kind: .protectRTP)
    }

    /// Unprotects the SRTP packet in `buffer`'s readable bytes in place.
    public func unprotectRTP(_ buffer: inout ByteBuffer) throws(SRTPError) {
        try transform(&buffer, kind: .unprotectRTP)
    }

    /// Protects the RTCP packet in `buffer`'s readable bytes in place.
    public func protectRTCP(_ buffer: inout ByteBuffer) throws(SRTPError) {
        try transform(&buffer, kind: .protectRTCP)
    }

    /// Unprotects the SRTCP packet in `buffer`'s readable bytes in place.
    public func unprotectRTCP(_ buffer: inout ByteBuffer) throws(SRTPError) {
        try transform(&buffer, kind: .unprotectRTCP)
    }

    // MARK: - Implementation

    @usableFromInline
    enum Transform {
        case protectRTP, unprotectRTP, protectRTCP, unprotectRTCP
    }

    @usableFromInline
    func transform(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int, kind: Transform) throws(SRTPError) -> Int {
        let isRTCP = kind == .protectRTCP || kind == .unprotectRTCP
        // RTP needs its fixed 12-byte header, RTCP its 8-byte header; both are version 2.
        guard length >= (isRTCP ? 8 : 12), length <= Self.maximumPacketLength,
            packet.load(as: UInt8.self) >> 6 == 2
        else { throw .malformedPacket }
        var octets = Int32(length)
        let status: srtp_err_status_t
        switch kind {
        case .protectRTP:
            let required = length + profile.rtpOverhead
            guard capacity >= required else { throw .insufficientCapacity(required: required, available: capacity) }
            status = srtp_protect(outbound, packet, &octets)
        case .protectRTCP:
            let required = length + profile.rtcpOverhead
            guard capacity >= required else { throw .insufficientCapacity(required: required, available: capacity) }
            status = srtp_protect_rtcp(outbound, packet, &octets)
        case .unprotectRTP:
            status = srtp_unprotect(inbound, packet, &octets)
        case .unprotectRTCP:
            status = srtp_unprotect_rtcp(inbound, packet, &octets)
        }
        guard status == srtp_err_status_ok else { throw SRTPError(status: status) }
        return Int(octets)
    }

    private func transform(_ buffer: inout ByteBuffer, kind: Transform) throws(SRTPError) {
        let overhead: Int
        switch kind {
        case .protectRTP: overhead = profile.rtpOverhead
        case .protectRTCP: overhead = profile.rtcpOverhead
        case .unprotectRTP, .unprotectRTCP: overhead = 0
        }
        if buffer.writableBytes < overhead {
            buffer.reserveCapacity(minimumWritableBytes: overhead)
        }
        let start = buffer.readerIndex
        let length = buffer.readableBytes
        let result: Result<Int, SRTPError> = buffer.withVeryUnsafeMutableBytes { storage in
            guard let base = storage.baseAddress else { return .failure(.malformedPacket) }
            do throws(SRTPError) {
                return .success(try transform(base + start, length: length, capacity: storage.count - start, kind: kind))
            } catch {
                return .failure(error)
            }
        }
        let newLength = try result.get()
        buffer.moveWriterIndex(to: start + newLength)
    }
}
