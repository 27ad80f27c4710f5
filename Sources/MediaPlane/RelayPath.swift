import Glibc
import NIOCore
import RTP
import SRTP

/// What a relayed audio packet needs from the plan, taken when the plan changes: the per-packet
/// path reads these plain values instead of copying the plan (its strings and nested optionals)
/// for every packet.
struct RelayRewrite {
    /// The audio's payload type on each leg.
    var browserAudio: UInt8
    var calleeAudio: UInt8
    /// telephone-event's payload type on each leg, when both legs have it.
    var browserEvent: UInt8?
    var calleeEvent: UInt8?
    /// The browser's video payload type (its packets take the video path), when video is relayed.
    var browserVideo: UInt8?

    init(_ plan: MediaBridgePlan) {
        browserAudio = plan.browserAudio.payloadType
        calleeAudio = plan.calleeAudio.payloadType
        if let browser = plan.browserTelephoneEvent, let callee = plan.calleeTelephoneEvent {
            browserEvent = browser.payloadType
            calleeEvent = callee.payloadType
        }
        browserVideo = plan.video?.browserFormat.payloadType
    }

    /// The call centre's payload type for a browser packet's, nil for one that is not relayed.
    @inline(__always)
    func towardsCallee(_ payloadType: UInt8) -> UInt8? {
        if payloadType == browserAudio { return calleeAudio }
        if let browserEvent, payloadType == browserEvent { return calleeEvent }
        return nil
    }

    /// The browser's payload type for a call-centre packet's, nil for one that is not relayed.
    @inline(__always)
    func towardsBrowser(_ payloadType: UInt8) -> UInt8? {
        if payloadType == calleeAudio { return browserAudio }
        if let calleeEvent, payloadType == calleeEvent { return browserEvent }
        return nil
    }
}

/// Where relayed packets go on one leg: the socket they leave from and the peer's address as a
/// `sockaddr`, made once when the address or the socket changes, for `sendto(2)`.
struct DatagramDestination {
    var descriptor: CInt
    var address = sockaddr_storage()
    var length: socklen_t = 0

    init?(descriptor: CInt, address: SocketAddress?) {
        guard descriptor >= 0, let address else { return nil }
        self.descriptor = descriptor
        let copied = withUnsafeMutableBytes(of: &self.address) { storage in
            address.withSockAddr { pointer, length -> Int in
                guard length <= storage.count, let base = storage.baseAddress else { return 0 }
                base.copyMemory(from: pointer, byteCount: length)
                return length
            }
        }
        guard copied > 0 else { return nil }
        length = socklen_t(copied)
    }

    /// How a send ended.
    enum Outcome {
        case sent
        /// The socket's send buffer is full (`EAGAIN`, `ENOBUFS`): the packet was dropped.
        case bufferFull
        /// Any other error (the packet was dropped too).
        case failed

        /// Counts a packet of `bytes` that ended this way in the statistics of the leg it left on.
        @inline(__always)
        func count(bytes: Int, in leg: inout MediaStatistics.Leg) {
            switch self {
            case .sent:
                leg.packetsSent += 1
                leg.bytesSent += bytes
            case .bufferFull:
                leg.sendBufferDrops += 1
            case .failed:
                leg.sendFailures += 1
            }
        }
    }

    /// Sends `length` bytes at `bytes` without blocking; a packet the kernel does not take at
    /// once is dropped, never queued.
    @inline(__always)
    func send(_ bytes: UnsafeRawPointer, length: Int) -> Outcome {
        var address = self.address
        while true {
            let result = withUnsafePointer(to: &address) { storage in
                storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.sendto(descriptor, bytes, length, CInt(MSG_DONTWAIT), $0, self.length) }
            }
            if result >= 0 { return .sent }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK, ENOBUFS: return .bufferFull
            default: return .failed
            }
        }
    }
}

/// The header the gateway puts on everything relayed to the browser, but for the marker, payload
/// type, sequence number and timestamp of each packet: version 2, its SSRC, and the BUNDLE MID
/// extension when negotiated (RFC 8843 §9.2). Made once per plan in storage of its own.
struct BrowserHeaderTemplate {
    /// Room for the fixed header and a one-byte-form extension with a MID of up to 16 bytes.
    static let capacity = 12 + 4 + 20

    /// Writes the template for `plan` into `storage` and returns its length.
    static func write(for plan: MediaBridgePlan, into storage: UnsafeMutableRawBufferPointer) -> Int {
        let fields = RTPHeaderFields(marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: plan.browserSSRC)
        let empty = UnsafeRawBufferPointer(rebasing: storage[0..<0])
        return MediaSession.writeBrowserPacket(into: storage, fields: fields, plan: plan, payload: empty) ?? 0
    }
}

extension MediaSession {
    /// The relayed audio from the browser (SRTP, in `datagram`) to the call centre: copied into
    /// the session's scratch buffer, unprotected, its header rewritten there (the call centre's
    /// payload type, the gateway's SSRC, no extensions; sequence numbers and timestamps as the
    /// browser sent them), protected again on an SRTP leg, and sent with `sendto(2)` on the
    /// SIP leg's socket. Returns false when the packet is not for this path (the caller takes
    /// it the general way); true once it was handled, sent or dropped.
    func relayFromBrowser(_ datagram: UnsafeRawBufferPointer, srtp: SRTPSession, rewrite: RelayRewrite) -> Bool {
        let length = datagram.count
        guard length >= RTPHeader.fixedLength, let source = datagram.baseAddress else { return false }
        // The payload type is in clear in SRTP: the browser's video takes the general path.
        let payloadType = datagram[1] & 0x7F
        if let video = rewrite.browserVideo, payloadType == video { return false }
        let scratch = self.scratch
        guard let base = scratch.baseAddress, length <= scratch.count else { return false }
        base.copyMemory(from: source, byteCount: length)
        let clear: Int
        do {
            clear = try srtp.unprotectRTP(base, length: length)
        } catch {
            statistics.browser.authenticationFailures += 1
            return true
        }
        browserAuthenticated()
        let now = NIODeadline.now()
        lastMedia = now
        let packet = UnsafeMutableRawBufferPointer(start: base, count: clear)
        guard let header = try? RTPHeader(parsing: UnsafeRawBufferPointer(packet)) else { return true }
        browserRTCP?.recordReceived(
            ssrc: header.ssrc, sequenceNumber: header.sequenceNumber, timestamp: header.timestamp,
            payloadLength: header.payloadLength, arrival: now
        )
        guard !calleeHolding, let destination = calleeDestination, let out = rewrite.towardsCallee(header.payloadType),
            let rewritten = try? RTPMutablePacket(packet)
        else { return true }
        rewritten.payloadType = out
        rewritten.ssrc = calleeSSRC
        guard var sent = try? rewritten.removeExtension() else { return true }
        calleeRTCP?.recordSent(
            timestamp: header.timestamp, payloadLength: header.payloadLength, timing: out == rewrite.calleeAudio, at: now
        )
        if calleeSecured {
            guard let calleeSRTP, let protected = try? calleeSRTP.protectRTP(base, length: sent, capacity: scratch.count) else { return true }
            sent = protected
        }
        destination.send(base, length: sent).count(bytes: sent, in: &statistics.callee)
        return true
    }

    /// The relayed audio from the call centre (already unprotected on an SRTP leg, in
    /// `datagram`) to the browser: rebuilt in the scratch buffer under the template header
    /// (the announced SSRC, the MID extension), protected there and sent with `sendto(2)`.
    func relayToBrowser(_ datagram: UnsafeRawBufferPointer, header: RTPHeader, srtp: SRTPSession, rewrite: RelayRewrite, now: NIODeadline) {
        guard let destination = browserDestination, let out = rewrite.towardsBrowser(header.payloadType),
            let source = datagram.baseAddress
        else { return }
        let scratch = self.scratch
        let prefix = browserHeaderLength
        let payload = header.payloadLength
        guard prefix > 0, let base = scratch.baseAddress, let template = browserHeader.baseAddress, prefix + payload <= scratch.count
        else { return }
        base.copyMemory(from: template, byteCount: prefix)
        base.storeBytes(of: (header.marker ? 0x80 : 0) | out, toByteOffset: 1, as: UInt8.self)
        base.storeBytes(of: header.sequenceNumber.bigEndian, toByteOffset: 2, as: UInt16.self)
        base.storeBytes(of: header.timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        (base + prefix).copyMemory(from: source + header.payloadOffset, byteCount: payload)
        browserRTCP?.recordSent(timestamp: header.timestamp, payloadLength: payload, timing: out == rewrite.browserAudio, at: now)
        guard let length = try? srtp.protectRTP(base, length: prefix + payload, capacity: scratch.count) else { return }
        destination.send(base, length: length).count(bytes: length, in: &statistics.browser)
    }
}
