import Glibc
import Logging
import Media
import NIOCore
import RTP
import SIP
import SRTP
import WebRTC

/// Why a call's media ended on its own. The signalling plane ends the call with this cause.
public enum MediaEndCause: String, Sendable, Hashable {
    /// No ICE connectivity check arrived after the answer.
    case noICEChecks = "ice-no-checks"
    /// The browser stopped refreshing consent (RFC 7675).
    case consentExpired = "ice-consent-expired"
    /// The browser's certificate does not match the SDP fingerprint.
    case fingerprintMismatch = "dtls-fingerprint-mismatch"
    /// The DTLS handshake failed or timed out.
    case dtlsFailed = "dtls-failed"
    /// No RTP from either side for the media timeout.
    case mediaTimeout = "media-timeout"
    /// The SIP leg's SDES keys could not be installed (nothing is sent in clear instead).
    case calleeSRTPFailed = "sip-srtp-failed"
}

/// One call's media: the browser leg (one UDP port: ICE-lite, DTLS-SRTP, RTP and RTCP
/// multiplexed) and the SIP leg (RTP and RTCP ports), bridged by relaying or transcoding.
///
/// Confined to one event loop: every method runs on ``loop``, and nothing here locks. Relayed
/// packets are handled in the receive callback and sent to the other leg at once; channel
/// writes are flushed once per read batch. Transcoded audio is only unprotected and buffered
/// on arrival: the loop's shared ``TranscodingTicker`` plays it out, transcodes it and sends it
/// with `sendto(2)`, for all the loop's transcoding sessions in one wake-up.
///
/// RTCP is terminated per leg: each leg has its own ``RTCPReporter`` (the gateway's SSRC and
/// CNAME on that leg, the sources heard on it). Reports from the peer are read (LSR, round-trip
/// time); the gateway's own SR or RR with SDES goes out on the leg's schedule from the
/// half-second tick, built in a buffer allocated once, and a BYE when the session closes.
final class MediaSession: TranscodingTickTarget, @unchecked Sendable {
    enum Socket: Hashable, Sendable {
        case browser, callee, calleeRTCP, calleeVideo, calleeVideoRTCP
        /// The browser leg's IPv6 socket, when the gateway offers an IPv6 candidate.
        case browser6
    }

    struct Configuration: Sendable {
        var mediaTimeout: Duration
        var iceTimeout: Duration
        var consentTimeout: Duration
        var opus: OpusEncoder.Configuration
    }

    let loop: any EventLoop
    let logger: Logger
    let configuration: Configuration
    let local: WebRTCTransportParameters
    var channels: [Socket: any Channel] = [:]
    private var pendingFlush: Set<Socket> = []
    /// Room to rebuild one packet in, allocated once: relayed audio is unprotected, rewritten
    /// and protected here, and sent from here.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
    /// The descriptors of the sockets relayed audio is sent on with `sendto(2)`, while their
    /// channels are open (-1 otherwise). The sockets are the media port pool's, bound before
    /// they were handed to their channels.
    private var browserDescriptor: CInt = -1
    private var browser6Descriptor: CInt = -1
    private var calleeDescriptor: CInt = -1
    /// Where relayed audio goes on each leg, made again whenever the address or the socket
    /// changes; nil while it has nowhere to go.
    private(set) var browserDestination: DatagramDestination?
    private(set) var calleeDestination: DatagramDestination?
    /// The plan's rewrite of relayed audio, nil unless the plan relays.
    private(set) var relayRewrite: RelayRewrite?
    /// The header of relayed audio to the browser (``BrowserHeaderTemplate``) and its length.
    let browserHeader = UnsafeMutableRawBufferPointer.allocate(byteCount: BrowserHeaderTemplate.capacity, alignment: 8)
    private(set) var browserHeaderLength = 0
    /// Room to build one RTCP compound packet in, allocated once.
    let rtcpScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: MediaSession.rtcpCapacity, alignment: 8)
    /// The RTCP datagram being sent, reused.
    var rtcpBuffer = ByteBuffer()
    /// The largest compound report: SR, 8 blocks, SDES, BYE; SRTCP's trailer fits after it.
    static let rtcpCapacity = 512

    // Browser leg.
    var ice: ICELiteAgent
    private let localICE: ICECredentials
    private let iceConfiguration: ICELiteAgent.Configuration
    /// The DTLS endpoint until the browser's SRTP has authenticated a packet (see
    /// ``browserAuthenticated()``), nil after.
    var dtls: DTLSEndpoint?
    private var dtlsStarted = false
    var srtp: SRTPSession?
    var browserAddress: SocketAddress? {
        didSet { updateBrowserDestination() }
    }
    private var dtlsTimer: Scheduled<Void>?
    /// The playout tick of the loop's transcoding sessions, and this session's place on it while
    /// it transcodes (from the first transcoding plan until it closes).
    let ticker: TranscodingTicker
    private(set) var tickRegistration: TranscodingTicker.Registration?

    // SIP leg.
    var calleeAddress: SocketAddress? {
        didSet { updateCalleeDestination() }
    }
    private var calleeLatched = false
    /// Where the call centre receives RTCP: the answer's RTCP port (the RTP port with rtcp-mux),
    /// latched to where its RTCP comes from.
    private var calleeRTCPAddress: SocketAddress?
    private var calleeRTCPLatched = false
    /// The SSRC of everything the gateway sends the call centre, relayed or transcoded, so the
    /// browser's SSRC does not cross the bridge.
    let calleeSSRC: UInt32
    /// The gateway's CNAME on the SIP leg, unrelated to the browser leg's.
    let calleeCNAME: String
    /// The call centre put the call on hold: nothing is sent to it, and silence is not a timeout.
    var calleeHolding = false
    /// Whether the SIP leg is SRTP (the trunk requires it), set before any packet: from then
    /// on nothing goes to the call centre in clear and only authenticated packets come in;
    /// before the answer's keys arrive, nothing at all.
    var calleeSecured = false
    /// SRTP on the SIP leg, from the SDES keys of the answer (or of a re-offer); the video has
    /// its own.
    var calleeSRTP: SRTPSession?
    private(set) var calleeSRTPKeys: SRTPKeys?
    var calleeVideoSRTP: SRTPSession?
    private(set) var calleeVideoSRTPKeys: SRTPKeys?

    // Video, relayed: the call centre's RTP and RTCP ports for it, each latched like the audio's.
    var calleeVideoAddress: SocketAddress?
    var calleeVideoLatched = false
    var calleeVideoRTCPAddress: SocketAddress?
    var calleeVideoRTCPLatched = false
    /// The SSRC of the video the gateway sends the call centre.
    let calleeVideoSSRC: UInt32
    /// The SSRCs each side sends its video with, as last seen: feedback about them is addressed
    /// to them when passed on.
    var calleeVideoSource: UInt32?
    var browserVideoSource: UInt32?

    // The bridge.
    var plan: MediaBridgePlan? {
        didSet { updateRelayRewrite() }
    }
    var transcoding: TranscodingPath?
    var statistics = MediaStatistics()
    private var reported = MediaStatistics()
    var lastMedia: NIODeadline
    private var tick: RepeatedTask?
    private var ended = false
    private var isClosing = false
    /// Called once, on ``loop``, when the media ends on its own.
    var onEnded: (@Sendable (MediaEndCause) -> Void)?
    /// Called once, on ``loop``, with the final counters when the session closes.
    var onClosed: (@Sendable (MediaStatistics) -> Void)?
    /// Each leg's RTCP: what the gateway sent on it, what each source sent (RFC 3550 A.1, A.8).
    var browserRTCP: RTCPReporter?
    var calleeRTCP: RTCPReporter?
    /// The wallclock of SR NTP timestamps, as the monotonic clock plus the real time at start,
    /// so LSR and round-trip times are not disturbed by clock steps.
    private let wallclockBase: (deadline: NIODeadline, unixNanoseconds: Int64)

    init(
        loop: any EventLoop, configuration: Configuration, local: WebRTCTransportParameters,
        certificate: DTLSCertificate, remoteFingerprint: SDPFingerprint, dtlsRole: SDPSetupRole, logger: Logger,
        ticker: TranscodingTicker? = nil
    ) throws {
        self.loop = loop
        self.ticker = ticker ?? TranscodingTicker(loop: loop)
        self.configuration = configuration
        self.local = local
        self.logger = logger
        localICE = try ICECredentials(usernameFragment: local.iceUsernameFragment, password: local.icePassword)
        iceConfiguration = .init(
            connectivityTimeout: .nanoseconds(configuration.iceTimeout.nanoseconds), consentTimeout: .nanoseconds(configuration.consentTimeout.nanoseconds)
        )
        ice = ICELiteAgent(local: localICE, configuration: iceConfiguration, now: .now())
        guard let algorithm = DTLSFingerprint.Algorithm(sdpName: remoteFingerprint.hashFunction),
            let fingerprint = DTLSFingerprint(algorithm: algorithm, digest: remoteFingerprint.bytes)
        else {
            throw MediaPlanError.unsupportedOffer("unsupported fingerprint \(remoteFingerprint.hashFunction)")
        }
        dtls = try DTLSEndpoint(
            configuration: .init(role: dtlsRole == .passive ? .server : .client, certificate: certificate, remoteFingerprint: fingerprint)
        )
        lastMedia = .now()
        calleeSSRC = UInt32.random(in: 1...UInt32.max)
        calleeVideoSSRC = UInt32.random(in: 1...UInt32.max)
        calleeCNAME = MediaPlan.randomCNAME()
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        wallclockBase = (.now(), Int64(realtime.tv_sec) * 1_000_000_000 + Int64(realtime.tv_nsec))
        MediaMetrics.shared.sessions.increment()
    }

    deinit {
        scratch.deallocate()
        rtcpScratch.deallocate()
        browserHeader.deallocate()
    }

    // MARK: Sockets

    /// A leg's channel is registered: `descriptor` is its socket's.
    func attach(_ channel: any Channel, descriptor: CInt, as socket: Socket) {
        channels[socket] = channel
        setDescriptor(descriptor, for: socket)
    }

    /// A leg's channel closed (its socket's descriptor is closed): nothing more is sent on it.
    func detach(_ socket: Socket) {
        setDescriptor(-1, for: socket)
    }

    private func setDescriptor(_ descriptor: CInt, for socket: Socket) {
        switch socket {
        case .browser: browserDescriptor = descriptor
        case .browser6: browser6Descriptor = descriptor
        case .callee: calleeDescriptor = descriptor
        case .calleeRTCP, .calleeVideo, .calleeVideoRTCP: return
        }
        updateBrowserDestination()
        updateCalleeDestination()
    }

    private func updateBrowserDestination() {
        // The browser leg answers from the socket of the address family it is reached on.
        let descriptor = browserAddress?.protocol == .inet6 && browser6Descriptor >= 0 ? browser6Descriptor : browserDescriptor
        browserDestination = DatagramDestination(descriptor: descriptor, address: browserAddress)
    }

    private func updateCalleeDestination() {
        calleeDestination = DatagramDestination(descriptor: calleeDescriptor, address: calleeAddress)
    }

    private func updateRelayRewrite() {
        guard let plan, plan.mode == .relay else {
            relayRewrite = nil
            browserHeaderLength = 0
            return
        }
        relayRewrite = RelayRewrite(plan)
        browserHeaderLength = BrowserHeaderTemplate.write(for: plan, into: browserHeader)
    }

    /// The browser's SRTP authenticated a packet: DTLS has done its part (the keys were exported
    /// when it connected), so the endpoint and its OpenSSL objects are released. DTLS datagrams
    /// that arrive on the port afterwards (a retransmitted flight, a close_notify) are ignored:
    /// a browser that sends SRTP has finished its handshake, and nothing here restarts DTLS on a
    /// re-offer (the answer keeps the transport); a new association would need a new endpoint.
    func browserAuthenticated() {
        guard dtls != nil else { return }
        dtls = nil
        dtlsTimer?.cancel()
        dtlsTimer = nil
        HeapTrimmer.shared.noteRelease()
    }

    /// The NTP wallclock at `deadline`.
    func wallclock(_ deadline: NIODeadline) -> NTPTimestamp {
        NTPTimestamp(unixNanoseconds: wallclockBase.unixNanoseconds + (deadline - wallclockBase.deadline).nanoseconds)
    }

    // MARK: Life cycle

    /// The call centre answered: start bridging as `plan` says.
    func start(plan: MediaBridgePlan, remoteICE: ICECredentials) {
        self.plan = plan
        statistics.mode = plan.mode == .relay ? "relay" : "transcode"
        statistics.browserCodec = plan.browserAudio.codec.rtpMapEncoding
        statistics.calleeCodec = plan.calleeAudio.codec.rtpMapEncoding
        makeReporters(plan)
        setCalleeKeys(plan.calleeSRTP)
        rtcpBuffer.reserveCapacity(Self.rtcpCapacity + 64)
        if !calleeLatched {
            calleeAddress = try? SocketAddress(ipAddress: plan.calleeHost, port: Int(plan.calleePort))
        }
        if !calleeRTCPLatched {
            calleeRTCPAddress = try? SocketAddress(ipAddress: plan.calleeHost, port: Int(plan.calleeRTCPPort))
        }
        if plan.mode == .transcode {
            transcoding = try? TranscodingPath(plan: plan, opus: configuration.opus, calleeSSRC: calleeSSRC)
            joinTick()
        }
        updateVideo(plan.video, previous: nil)
        let now = NIODeadline.now()
        // The connectivity timeout counts from the answer, not from the offer.
        ice = ICELiteAgent(local: localICE, remote: remoteICE, configuration: iceConfiguration, now: now)
        lastMedia = now
        if plan.dtlsRole == .passive {
            // As the DTLS server the gateway waits for the browser's ClientHello.
            startDTLS(now: now)
        }
        tick = loop.scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) { [self] _ in
            periodic()
        }
    }

    /// A new answer from the call centre (a 2xx after a 183 with other SDP).
    func update(plan: MediaBridgePlan) {
        let previous = self.plan
        self.plan = plan
        if !calleeLatched || previous?.calleeHost != plan.calleeHost || previous?.calleePort != plan.calleePort {
            calleeLatched = false
            calleeAddress = try? SocketAddress(ipAddress: plan.calleeHost, port: Int(plan.calleePort))
        }
        if !calleeRTCPLatched || previous?.calleeHost != plan.calleeHost || previous?.calleeRTCPPort != plan.calleeRTCPPort {
            calleeRTCPLatched = false
            calleeRTCPAddress = try? SocketAddress(ipAddress: plan.calleeHost, port: Int(plan.calleeRTCPPort))
        }
        if plan.mode == .transcode, previous?.calleeAudio != plan.calleeAudio || previous?.browserAudio != plan.browserAudio {
            transcoding = try? TranscodingPath(plan: plan, opus: configuration.opus, calleeSSRC: calleeSSRC)
            joinTick()
        }
        updateVideo(plan.video, previous: previous?.video)
        makeReporters(plan)
        setCalleeKeys(plan.calleeSRTP)
    }

    /// Takes the SIP leg's SDES keys: the inbound context alone is replaced when only the call
    /// centre's key changed (the gateway's outbound stream goes on under its key); other
    /// changes make a new session.
    func setCalleeKeys(_ keys: SRTPKeys?) {
        guard keys != calleeSRTPKeys else { return }
        plan?.calleeSRTP = keys
        statistics.callee.srtpSuite = keys?.profile.sdesSuiteName
        if !Self.install(keys, session: &calleeSRTP, current: &calleeSRTPKeys) {
            logger.warning("the SIP leg's SRTP keys cannot be used")
            end(.calleeSRTPFailed)
        }
    }

    /// The same for the SIP leg's video.
    func setCalleeVideoKeys(_ keys: SRTPKeys?) {
        guard keys != calleeVideoSRTPKeys else { return }
        plan?.video?.calleeSRTP = keys
        if !Self.install(keys, session: &calleeVideoSRTP, current: &calleeVideoSRTPKeys) {
            logger.warning("the SIP leg's video SRTP keys cannot be used")
            end(.calleeSRTPFailed)
        }
    }

    /// Puts `keys` in place of `current`: the inbound context alone when the local key stays,
    /// otherwise a new session. False (and no session) when libsrtp2 refuses them.
    private static func install(_ keys: SRTPKeys?, session: inout SRTPSession?, current: inout SRTPKeys?) -> Bool {
        let previous = current
        current = keys
        guard let keys else {
            session = nil
            return true
        }
        do {
            if let existing = session, let previous, previous.local == keys.local {
                try existing.replaceInbound(with: keys.remote)
            } else {
                session = try SRTPSession(keys: keys)
            }
            return true
        } catch {
            session = nil
            return false
        }
    }

    /// Protects a packet for the call centre (its audio, or with `video` its video) when its leg
    /// is SRTP; false when it must not be sent (no usable session, or protection failed):
    /// nothing goes in clear on such a leg.
    func protectForCallee(_ buffer: inout ByteBuffer, rtcp: Bool, video: Bool = false) -> Bool {
        guard calleeSecured else { return true }
        guard let session = video ? calleeVideoSRTP : calleeSRTP else { return false }
        do {
            if rtcp { try session.protectRTCP(&buffer) } else { try session.protectRTP(&buffer) }
            return true
        } catch {
            return false
        }
    }

    /// Unprotects a packet from the call centre when its leg is SRTP; false (and counted as an
    /// authentication failure) when it fails authentication or the replay check.
    func unprotectFromCallee(_ buffer: inout ByteBuffer, rtcp: Bool, video: Bool = false) -> Bool {
        guard calleeSecured else { return true }
        guard let session = video ? calleeVideoSRTP : calleeSRTP else { return false }
        do {
            if rtcp { try session.unprotectRTCP(&buffer) } else { try session.unprotectRTP(&buffer) }
            return true
        } catch {
            if statistics.callee.authenticationFailures == 0 {
                // Once per call: what failed, never the packet or the keys.
                logger.debug(
                    "SRTP from the call centre refused",
                    metadata: ["kind": "\(video ? "video " : "")\(rtcp ? "SRTCP" : "SRTP")", "error": "\(error)", "length": "\(buffer.readableBytes)"]
                )
            }
            statistics.callee.authenticationFailures += 1
            return false
        }
    }

    /// Where the call centre's video goes: the answer's address until its own packets latch it.
    private func updateVideo(_ video: VideoBridgePlan?, previous: VideoBridgePlan?) {
        setCalleeVideoKeys(video?.calleeSRTP)
        if let video { statistics.video.codec = video.browserFormat.codec.rtpMapEncoding }
        guard let video else {
            calleeVideoAddress = nil
            calleeVideoRTCPAddress = nil
            calleeVideoLatched = false
            calleeVideoRTCPLatched = false
            return
        }
        if !calleeVideoLatched || previous?.calleeHost != video.calleeHost || previous?.calleePort != video.calleePort {
            calleeVideoLatched = false
            calleeVideoAddress = try? SocketAddress(ipAddress: video.calleeHost, port: Int(video.calleePort))
        }
        if !calleeVideoRTCPLatched || previous?.calleeHost != video.calleeHost || previous?.calleeRTCPPort != video.calleeRTCPPort {
            calleeVideoRTCPLatched = false
            calleeVideoRTCPAddress = try? SocketAddress(ipAddress: video.calleeHost, port: Int(video.calleeRTCPPort))
        }
    }

    /// A reporter per leg, at the clock rate of the leg's codec (kept while that stays).
    private func makeReporters(_ plan: MediaBridgePlan) {
        if browserRTCP?.clockRate != Int(plan.browserAudio.codec.clockRate) {
            browserRTCP = RTCPReporter(ssrc: plan.browserSSRC, cname: plan.browserCNAME, clockRate: Int(plan.browserAudio.codec.clockRate))
        }
        if calleeRTCP?.clockRate != Int(plan.calleeAudio.codec.clockRate) {
            calleeRTCP = RTCPReporter(ssrc: calleeSSRC, cname: calleeCNAME, clockRate: Int(plan.calleeAudio.codec.clockRate))
        }
    }

    /// The call centre re-offered: a new address (latching starts again) or hold, and on an
    /// SRTP leg the keys of the gateway's answer.
    func calleeMoved(to address: (host: String, port: UInt16)?, holding: Bool, keys: SRTPKeys? = nil, videoKeys: SRTPKeys? = nil) {
        calleeHolding = holding
        if let keys { setCalleeKeys(keys) }
        if let videoKeys { setCalleeVideoKeys(videoKeys) }
        if let address, let socket = try? SocketAddress(ipAddress: address.host, port: Int(address.port)), socket != calleeAddress {
            calleeAddress = socket
            calleeLatched = false
            // The re-offer's answer does not multiplex RTCP: it goes to the next port.
            calleeRTCPAddress = try? SocketAddress(ipAddress: address.host, port: Int(address.port &+ 1))
            calleeRTCPLatched = false
        }
        lastMedia = .now()
    }

    /// The browser restarted ICE (a new network): checks must use the new credentials.
    func restartICE(local: ICECredentials, remote: ICECredentials) {
        ice.restart(local: local, remote: remote, now: .now())
    }

    var isClosed: Bool { isClosing }

    func close() {
        if !isClosing {
            isClosing = true
            // The last reports, with BYE (RFC 3550 §6.6).
            let now = NIODeadline.now()
            sendBrowserReport(now: now, goodbye: true)
            sendCalleeReport(now: now, goodbye: true)
            reportMetrics()
            updateQuality()
            onClosed?(statistics)
            MediaMetrics.shared.sessions.decrement()
            MediaMetrics.shared.ended.increment()
            HeapTrimmer.shared.noteRelease()
        }
        ended = true
        tick?.cancel()
        dtlsTimer?.cancel()
        tickRegistration?.cancel()
        tickRegistration = nil
        for channel in channels.values { channel.close(promise: nil) }
        channels = [:]
        for socket in [Socket.browser, .browser6, .callee] { detach(socket) }
    }

    private func end(_ cause: MediaEndCause) {
        guard !ended else { return }
        ended = true
        logger.info("media ended", metadata: ["cause": "\(cause.rawValue)"])
        onEnded?(cause)
    }

    /// Adds what was counted since the last report to the process-wide metrics.
    private func reportMetrics() {
        let relay = plan?.mode != .transcode
        let sent = statistics.browser.packetsSent + statistics.callee.packetsSent
        let sentBefore = reported.browser.packetsSent + reported.callee.packetsSent
        var delta = MediaMetrics.Delta()
        if relay { delta.relayed = sent - sentBefore } else { delta.transcoded = sent - sentBefore }
        delta.authenticationFailures = statistics.browser.authenticationFailures + statistics.callee.authenticationFailures
            - reported.browser.authenticationFailures - reported.callee.authenticationFailures
        delta.malformed = statistics.browser.malformed + statistics.callee.malformed - reported.browser.malformed - reported.callee.malformed
        reported = statistics
        if !delta.isEmpty { MediaMetrics.shared.add(delta) }
    }

    /// Loss and jitter of each leg's main source (its audio) into ``statistics``.
    private func updateQuality() {
        if let source = browserRTCP?.mainSource {
            statistics.browser.packetsLost = Int(max(0, source.cumulativeLost))
            statistics.browser.jitterMilliseconds = source.jitterSeconds * 1000
        }
        if let source = calleeRTCP?.mainSource {
            statistics.callee.packetsLost = Int(max(0, source.cumulativeLost))
            statistics.callee.jitterMilliseconds = source.jitterSeconds * 1000
        }
    }

    enum Leg {
        case browser, callee
    }

    /// Feeds a received RTP packet's header into the leg's RTCP (every payload type of a source
    /// shares its sequence numbers).
    private func trackReceived(_ buffer: ByteBuffer, on leg: Leg, at now: NIODeadline) {
        buffer.withUnsafeReadableBytes { bytes in
            guard let header = try? RTPHeader(parsing: bytes) else { return }
            switch leg {
            case .browser:
                browserRTCP?.recordReceived(
                    ssrc: header.ssrc, sequenceNumber: header.sequenceNumber, timestamp: header.timestamp,
                    payloadLength: header.payloadLength, arrival: now
                )
            case .callee:
                calleeRTCP?.recordReceived(
                    ssrc: header.ssrc, sequenceNumber: header.sequenceNumber, timestamp: header.timestamp,
                    payloadLength: header.payloadLength, arrival: now
                )
            }
        }
    }

    /// Counts an RTP packet (not yet protected) the gateway sends on a leg, for its SR. Only the
    /// audio payload type moves the SR's RTP timestamp mapping.
    private func trackSent(_ bytes: UnsafeRawBufferPointer, on leg: Leg, at now: NIODeadline) {
        guard let plan, let header = try? RTPHeader(parsing: bytes) else { return }
        switch leg {
        case .browser:
            browserRTCP?.recordSent(
                timestamp: header.timestamp, payloadLength: header.payloadLength,
                timing: header.payloadType == plan.browserAudio.payloadType, at: now
            )
        case .callee:
            calleeRTCP?.recordSent(
                timestamp: header.timestamp, payloadLength: header.payloadLength,
                timing: header.payloadType == plan.calleeAudio.payloadType, at: now
            )
        }
    }

    private func trackSent(_ buffer: ByteBuffer, on leg: Leg, at now: NIODeadline) {
        buffer.withUnsafeReadableBytes { trackSent($0, on: leg, at: now) }
    }

    private func periodic() {
        reportMetrics()
        guard !ended else { return }
        let now = NIODeadline.now()
        if let event = ice.tick(now: now) {
            iceEvent(event)
        }
        if !calleeHolding, now - lastMedia > TimeAmount.nanoseconds(configuration.mediaTimeout.nanoseconds) {
            end(.mediaTimeout)
            return
        }
        sendBrowserReport(now: now, goodbye: false)
        sendCalleeReport(now: now, goodbye: false)
    }

    // MARK: Receive

    func receive(_ buffer: inout ByteBuffer, from address: SocketAddress, on socket: Socket) {
        guard !ended else { return }
        switch socket {
        case .browser, .browser6: receiveFromBrowser(&buffer, from: address)
        case .callee: receiveFromCallee(&buffer, from: address)
        case .calleeRTCP: receiveCalleeRTCP(&buffer, from: address)
        case .calleeVideo: receiveCalleeVideo(&buffer, from: address)
        case .calleeVideoRTCP: receiveCalleeVideoRTCP(&buffer, from: address)
        }
    }

    private func receiveFromBrowser(_ buffer: inout ByteBuffer, from address: SocketAddress) {
        let kind = buffer.withUnsafeReadableBytes { DatagramKind(classifying: $0) }
        switch kind {
        case .stun:
            let answer = buffer.withUnsafeReadableBytes { ice.receive($0, from: address, now: .now()) }
            if let response = answer.response {
                var reply = ByteBuffer()
                _ = response.withUnsafeBytes { reply.writeBytes($0) }
                send(reply, on: .browser, to: address)
            }
            if let event = answer.event { iceEvent(event) }
            if answer.outcome != .valid, ice.statistics.validChecks == 0 {
                logger.debug("ICE check refused", metadata: ["outcome": "\(answer.outcome)", "from": "\(address)"])
            }
            if answer.outcome == .valid {
                if browserAddress == nil { browserAddress = address }
                // As the DTLS client, the ClientHello goes out once a check shows where the browser is.
                if !dtlsStarted, plan != nil { startDTLS(now: .now()) }
            }
        case .dtls:
            guard let dtls else { return }
            let output = buffer.withUnsafeReadableBytes { dtls.receive($0, now: .now()) }
            if browserAddress == nil { browserAddress = address }
            perform(output)
        case .rtp:
            statistics.browser.packetsReceived += 1
            statistics.browser.bytesReceived += buffer.readableBytes
            guard let srtp, address == browserAddress || browserAddress == nil else { return }
            if let relayRewrite, buffer.withUnsafeReadableBytes({ relayFromBrowser($0, srtp: srtp, rewrite: relayRewrite) }) { return }
            do {
                try srtp.unprotectRTP(&buffer)
            } catch {
                statistics.browser.authenticationFailures += 1
                return
            }
            browserAuthenticated()
            let now = NIODeadline.now()
            lastMedia = now
            if let video = plan?.video, Self.payloadType(of: buffer) == video.browserFormat.payloadType {
                forwardVideoToCallee(&buffer, video: video)
                return
            }
            trackReceived(buffer, on: .browser, at: now)
            forwardToCallee(&buffer)
        case .rtcp:
            guard let srtp else { return }
            do {
                try srtp.unprotectRTCP(&buffer)
            } catch {
                statistics.browser.authenticationFailures += 1
                return
            }
            absorbRTCP(buffer, on: .browser)
            if plan?.video != nil { relayFeedbackToCallee(buffer) }
        default:
            statistics.browser.malformed += 1
        }
    }

    private func receiveFromCallee(_ buffer: inout ByteBuffer, from address: SocketAddress) {
        // Symmetric RTP (RFC 4961): send to where the call centre's audio comes from. On an
        // SRTP leg only an authenticated packet latches.
        if calleeLatched, address != calleeAddress { return }
        if !calleeSecured, !calleeLatched {
            calleeLatched = true
            calleeAddress = address
        }
        let kind = buffer.withUnsafeReadableBytes { DatagramKind(classifying: $0) }
        if kind == .rtcp {
            guard unprotectFromCallee(&buffer, rtcp: true) else { return }
            latchCallee(address)
            absorbRTCP(buffer, on: .callee)
            return
        }
        guard kind == .rtp else {
            statistics.callee.malformed += 1
            return
        }
        statistics.callee.packetsReceived += 1
        statistics.callee.bytesReceived += buffer.readableBytes
        guard unprotectFromCallee(&buffer, rtcp: false) else { return }
        latchCallee(address)
        let now = NIODeadline.now()
        lastMedia = now
        if let relayRewrite {
            buffer.withUnsafeReadableBytes { bytes in
                guard let header = try? RTPHeader(parsing: bytes) else { return }
                calleeRTCP?.recordReceived(
                    ssrc: header.ssrc, sequenceNumber: header.sequenceNumber, timestamp: header.timestamp,
                    payloadLength: header.payloadLength, arrival: now
                )
                // Nothing goes to the browser before DTLS has given the keys.
                guard let srtp else { return }
                relayToBrowser(bytes, header: header, srtp: srtp, rewrite: relayRewrite, now: now)
            }
            return
        }
        trackReceived(buffer, on: .callee, at: now)
        forwardToBrowser(&buffer)
    }

    private func latchCallee(_ address: SocketAddress) {
        guard !calleeLatched else { return }
        calleeLatched = true
        calleeAddress = address
    }

    private func receiveCalleeRTCP(_ buffer: inout ByteBuffer, from address: SocketAddress) {
        // Symmetric RTCP: reports go back to where the call centre's reports come from (on an
        // SRTP leg, once they authenticate).
        if calleeRTCPLatched, address != calleeRTCPAddress { return }
        guard unprotectFromCallee(&buffer, rtcp: true) else { return }
        if !calleeRTCPLatched {
            calleeRTCPLatched = true
            calleeRTCPAddress = address
        }
        absorbRTCP(buffer, on: .callee)
    }

    /// RTCP is terminated per leg: it is validated and read into the leg's reporter (LSR of the
    /// peer's SRs, round-trip time from its blocks about the gateway); nothing is relayed.
    private func absorbRTCP(_ buffer: ByteBuffer, on leg: Leg) {
        let now = NIODeadline.now()
        let wallclock = self.wallclock(now)
        let outcome = buffer.withUnsafeReadableBytes { bytes -> (valid: Bool, rtt: TimeAmount?) in
            guard let compound = try? RTCPCompoundPacket(validating: bytes) else { return (false, nil) }
            switch leg {
            case .browser: return (true, browserRTCP?.receive(compound, arrival: now, wallclock: wallclock))
            case .callee: return (true, calleeRTCP?.receive(compound, arrival: now, wallclock: wallclock))
            }
        }
        let milliseconds = outcome.rtt.map { Double($0.nanoseconds) / 1e6 }
        switch leg {
        case .browser:
            if !outcome.valid { statistics.browser.malformed += 1 }
            if let milliseconds { statistics.browser.roundTripMilliseconds = milliseconds }
        case .callee:
            if !outcome.valid { statistics.callee.malformed += 1 }
            if let milliseconds { statistics.callee.roundTripMilliseconds = milliseconds }
        }
    }

    private func iceEvent(_ event: ICEEvent) {
        switch event {
        case .selectedAddressChanged(let address):
            logger.debug("ICE selected the browser's address", metadata: ["address": "\(address)"])
            browserAddress = address
        case .noConnectivity:
            end(.noICEChecks)
        case .consentExpired:
            end(.consentExpired)
        }
    }

    // MARK: Forward

    private func forwardToCallee(_ buffer: inout ByteBuffer) {
        guard let plan, let calleeAddress, !calleeHolding else { return }
        if plan.mode == .transcode, let transcoding {
            let now = NIODeadline.now()
            transcoding.browserToCallee(buffer, at: now) { packet, length in emitToCallee(packet, length: length, at: now) }
            return
        }
        let calleeSSRC = self.calleeSSRC
        let forwarded = buffer.withUnsafeMutableReadableBytes { bytes -> Int? in
            guard let packet = try? RTPMutablePacket(bytes) else { return nil }
            if packet.payloadType == plan.browserAudio.payloadType {
                packet.payloadType = plan.calleeAudio.payloadType
            } else if let event = plan.browserTelephoneEvent, packet.payloadType == event.payloadType, let out = plan.calleeTelephoneEvent {
                packet.payloadType = out.payloadType
            } else {
                return nil
            }
            packet.ssrc = calleeSSRC
            return try? packet.removeExtension()
        }
        guard let length = forwarded else { return }
        buffer.moveWriterIndex(to: buffer.readerIndex + length)
        trackSent(buffer, on: .callee, at: .now())
        guard protectForCallee(&buffer, rtcp: false) else { return }
        statistics.callee.packetsSent += 1
        statistics.callee.bytesSent += buffer.readableBytes
        send(buffer, on: .callee, to: calleeAddress)
    }

    private func forwardToBrowser(_ buffer: inout ByteBuffer) {
        guard let plan, let srtp, let browserAddress else { return }
        if plan.mode == .transcode, let transcoding {
            let now = NIODeadline.now()
            transcoding.calleeToBrowser(buffer, at: now) { packet, length in emitToBrowser(packet, length: length, srtp: srtp, at: now) }
            return
        }
        // Rebuilt under the announced SSRC with the BUNDLE MID extension (RFC 8843 §9.2), so the
        // browser routes it to the audio transceiver whatever SSRC the call centre uses.
        let scratch = self.scratch
        let length = buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard let header = try? RTPHeader(parsing: bytes) else { return nil }
            let payloadType: UInt8
            if header.payloadType == plan.calleeAudio.payloadType {
                payloadType = plan.browserAudio.payloadType
            } else if let event = plan.calleeTelephoneEvent, header.payloadType == event.payloadType, let out = plan.browserTelephoneEvent {
                payloadType = out.payloadType
            } else {
                return nil
            }
            let fields = RTPHeaderFields(
                marker: header.marker, payloadType: payloadType, sequenceNumber: header.sequenceNumber, timestamp: header.timestamp, ssrc: plan.browserSSRC
            )
            return Self.writeBrowserPacket(into: scratch, fields: fields, plan: plan, payload: UnsafeRawBufferPointer(rebasing: bytes[header.payload]))
        }
        guard let length else { return }
        trackSent(UnsafeRawBufferPointer(rebasing: scratch[..<length]), on: .browser, at: .now())
        buffer.clear()
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[..<length]))
        guard (try? srtp.protectRTP(&buffer)) != nil else { return }
        statistics.browser.packetsSent += 1
        statistics.browser.bytesSent += buffer.readableBytes
        send(buffer, on: .browser, to: browserAddress)
    }

    // MARK: Transcoding playout

    /// Puts the session on its loop's playout tick, once.
    private func joinTick() {
        guard tickRegistration == nil, transcoding != nil, !isClosing else { return }
        tickRegistration = ticker.register(self)
    }

    /// A transcoded packet (RTP, in `packet` from its start, `length` bytes) to the call centre:
    /// protected there on an SRTP leg and sent with `sendto(2)`, as relayed audio is.
    private func emitToCallee(_ packet: UnsafeMutableRawBufferPointer, length: Int, at now: NIODeadline) {
        guard let destination = calleeDestination, let base = packet.baseAddress else { return }
        trackSent(UnsafeRawBufferPointer(rebasing: packet[..<length]), on: .callee, at: now)
        var sent = length
        if calleeSecured {
            guard let calleeSRTP, let protected = try? calleeSRTP.protectRTP(base, length: length, capacity: packet.count) else { return }
            sent = protected
        }
        destination.send(base, length: sent).count(bytes: sent, in: &statistics.callee)
    }

    /// A transcoded packet to the browser: protected in place and sent with `sendto(2)`.
    private func emitToBrowser(_ packet: UnsafeMutableRawBufferPointer, length: Int, srtp: SRTPSession, at now: NIODeadline) {
        guard let destination = browserDestination, let base = packet.baseAddress else { return }
        trackSent(UnsafeRawBufferPointer(rebasing: packet[..<length]), on: .browser, at: now)
        guard let protected = try? srtp.protectRTP(base, length: length, capacity: packet.count) else { return }
        destination.send(base, length: protected).count(bytes: protected, in: &statistics.browser)
    }

    /// The frames of both directions whose playout time has come at `now` (the loop's tick).
    func transcodingTick(at now: NIODeadline) {
        guard let transcoding, !ended else { return }
        if calleeAddress != nil, !calleeHolding {
            _ = transcoding.toCallee.drain(at: now) { packet, length in emitToCallee(packet, length: length, at: now) }
        }
        if let srtp, browserAddress != nil {
            _ = transcoding.toBrowser.drain(at: now) { packet, length in emitToBrowser(packet, length: length, srtp: srtp, at: now) }
        }
    }

    /// An RTP packet for the browser in `buffer`: `fields`, the MID extension when negotiated,
    /// `payload`. Returns its length, or nil when it does not fit.
    static func writeBrowserPacket(
        into buffer: UnsafeMutableRawBufferPointer, fields: RTPHeaderFields, plan: MediaBridgePlan, payload: UnsafeRawBufferPointer
    ) -> Int? {
        guard var writer = try? RTPPacketWriter(into: buffer, fields: fields) else { return nil }
        if let id = plan.midExtensionID, id < 15, let mid = plan.audioMid {
            try? writer.appendExtensionElement(id: UInt8(id), bytes: mid.utf8)
        }
        return try? writer.finish(payload: payload)
    }

    // MARK: DTLS

    private func startDTLS(now: NIODeadline) {
        guard !dtlsStarted, let dtls else { return }
        dtlsStarted = true
        logger.debug("DTLS handshake starts", metadata: ["role": "\(dtls.configuration.role)"])
        perform(dtls.start(now: now))
    }

    private func perform(_ output: DTLSOutput) {
        if let address = browserAddress, !output.datagrams.isEmpty {
            for datagram in output.datagrams {
                send(datagram, on: .browser, to: address)
            }
            flush(.browser)
        }
        dtlsTimer?.cancel()
        dtlsTimer = nil
        if let deadline = output.nextTimer {
            dtlsTimer = loop.scheduleTask(deadline: deadline) { [self] in
                guard let dtls else { return }
                perform(dtls.timerFired(now: .now()))
            }
        }
        switch output.event {
        case .connected(let keys)?:
            do {
                srtp = try SRTPSession(keys: keys)
                statistics.browser.srtpSuite = keys.profile.sdesSuiteName
                logger.debug("DTLS-SRTP established", metadata: ["profile": "\(keys.profile)"])
            } catch {
                end(.dtlsFailed)
            }
        case .failed(let failure)?:
            logger.info("DTLS failed", metadata: ["failure": "\(failure)"])
            if case .fingerprintMismatch = failure { end(.fingerprintMismatch) } else { end(.dtlsFailed) }
        default:
            break
        }
    }

    // MARK: RTCP

    /// Sends the browser leg's report over SRTCP on the muxed port when it is due (or a final
    /// one with BYE).
    private func sendBrowserReport(now: NIODeadline, goodbye: Bool) {
        guard let srtp, let browserAddress, browserRTCP != nil else { return }
        var random = SystemRandomNumberGenerator()
        guard goodbye || browserRTCP?.reportIsDue(at: now, using: &random) == true else { return }
        let wallclock = self.wallclock(now)
        guard let length = try? browserRTCP?.writeReport(into: rtcpScratch, at: now, wallclock: wallclock, goodbye: goodbye, using: &random)
        else { return }
        rtcpBuffer.clear()
        rtcpBuffer.writeBytes(UnsafeRawBufferPointer(rebasing: rtcpScratch[..<length]))
        guard (try? srtp.protectRTCP(&rtcpBuffer)) != nil else { return }
        send(rtcpBuffer, on: .browser, to: browserAddress)
        // Flushed at once, so the buffer is no longer shared when it is reused.
        flush(.browser)
    }

    /// Sends the SIP leg's report in RTCP (SRTCP on an SRTP leg) when it is due (or a final one with BYE): from
    /// the RTP socket with rtcp-mux, otherwise from the RTCP socket (RTP port + 1). Nothing goes
    /// to a call centre that holds the call.
    private func sendCalleeReport(now: NIODeadline, goodbye: Bool) {
        guard let plan, !calleeHolding, calleeRTCP != nil else { return }
        let multiplexed = plan.calleeRTCPPort == plan.calleePort
        guard let address = multiplexed ? calleeAddress : calleeRTCPAddress else { return }
        var random = SystemRandomNumberGenerator()
        guard goodbye || calleeRTCP?.reportIsDue(at: now, using: &random) == true else { return }
        let wallclock = self.wallclock(now)
        guard let length = try? calleeRTCP?.writeReport(into: rtcpScratch, at: now, wallclock: wallclock, goodbye: goodbye, using: &random)
        else { return }
        rtcpBuffer.clear()
        rtcpBuffer.writeBytes(UnsafeRawBufferPointer(rebasing: rtcpScratch[..<length]))
        guard protectForCallee(&rtcpBuffer, rtcp: true) else { return }
        send(rtcpBuffer, on: multiplexed ? .callee : .calleeRTCP, to: address)
        flush(.callee)
    }

    // MARK: Send

    func send(_ buffer: ByteBuffer, on socket: Socket, to address: SocketAddress) {
        // The browser leg answers from the socket of the address family it is reached on.
        var socket = socket
        if socket == .browser, address.protocol == .inet6, channels[.browser6] != nil { socket = .browser6 }
        guard let channel = channels[socket] else { return }
        channel.write(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
        pendingFlush.insert(socket)
    }

    private func send(_ bytes: [UInt8], on socket: Socket, to address: SocketAddress) {
        send(ByteBuffer(bytes: bytes), on: socket, to: address)
    }

    func flush(_ socket: Socket) {
        for pending in pendingFlush {
            channels[pending]?.flush()
        }
        pendingFlush.removeAll(keepingCapacity: true)
    }
}

// MARK: Video

extension MediaSession {
    /// The payload type of an RTP packet, 0 when it is too short to have one.
    static func payloadType(of buffer: ByteBuffer) -> UInt8 {
        buffer.readableBytes >= 12 ? (buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) ?? 0) & 0x7F : 0
    }

    /// The browser's video, decrypted, to the call centre: its payload type, the gateway's
    /// SSRC, no header extensions; sequence numbers and timestamps as they came, so the call
    /// centre's NACKs name the browser's packets.
    fileprivate func forwardVideoToCallee(_ buffer: inout ByteBuffer, video: VideoBridgePlan) {
        guard let address = calleeVideoAddress, !calleeHolding, video.browserDirection.receives else { return }
        let ssrc = calleeVideoSSRC
        let forwarded = buffer.withUnsafeMutableReadableBytes { bytes -> (length: Int, source: UInt32)? in
            guard let packet = try? RTPMutablePacket(bytes) else { return nil }
            let source = packet.ssrc
            packet.payloadType = video.calleeFormat.payloadType
            packet.ssrc = ssrc
            guard let length = try? packet.removeExtension() else { return nil }
            return (length, source)
        }
        guard let forwarded else { return }
        browserVideoSource = forwarded.source
        buffer.moveWriterIndex(to: buffer.readerIndex + forwarded.length)
        guard protectForCallee(&buffer, rtcp: false, video: true) else { return }
        statistics.video.packetsToCallee += 1
        send(buffer, on: .calleeVideo, to: address)
    }

    fileprivate func receiveCalleeVideo(_ buffer: inout ByteBuffer, from address: SocketAddress) {
        // Latched like the audio: on an SRTP leg by an authenticated packet only.
        if calleeVideoLatched, address != calleeVideoAddress { return }
        if !calleeSecured, !calleeVideoLatched {
            calleeVideoLatched = true
            calleeVideoAddress = address
        }
        let kind = buffer.withUnsafeReadableBytes { DatagramKind(classifying: $0) }
        if kind == .rtcp {
            guard unprotectFromCallee(&buffer, rtcp: true, video: true) else { return }
            latchCalleeVideo(address)
            relayFeedbackToBrowser(buffer)
            return
        }
        guard kind == .rtp, let video = plan?.video else {
            statistics.callee.malformed += 1
            return
        }
        guard unprotectFromCallee(&buffer, rtcp: false, video: true) else { return }
        latchCalleeVideo(address)
        lastMedia = .now()
        forwardVideoToBrowser(&buffer, video: video)
    }

    private func latchCalleeVideo(_ address: SocketAddress) {
        guard !calleeVideoLatched else { return }
        calleeVideoLatched = true
        calleeVideoAddress = address
    }

    fileprivate func receiveCalleeVideoRTCP(_ buffer: inout ByteBuffer, from address: SocketAddress) {
        if calleeVideoRTCPLatched, address != calleeVideoRTCPAddress { return }
        guard unprotectFromCallee(&buffer, rtcp: true, video: true) else { return }
        if !calleeVideoRTCPLatched {
            calleeVideoRTCPLatched = true
            calleeVideoRTCPAddress = address
        }
        relayFeedbackToBrowser(buffer)
    }

    /// The call centre's video to the browser, rebuilt under the announced video SSRC with the
    /// video's MID, then protected.
    private func forwardVideoToBrowser(_ buffer: inout ByteBuffer, video: VideoBridgePlan) {
        guard let srtp, let browserAddress, video.browserDirection.sends else { return }
        let scratch = self.scratch
        let result = buffer.withUnsafeReadableBytes { bytes -> (length: Int, source: UInt32)? in
            guard let header = try? RTPHeader(parsing: bytes), header.payloadType == video.calleeFormat.payloadType else { return nil }
            let fields = RTPHeaderFields(
                marker: header.marker, payloadType: video.browserFormat.payloadType, sequenceNumber: header.sequenceNumber,
                timestamp: header.timestamp, ssrc: video.browserSSRC
            )
            guard var writer = try? RTPPacketWriter(into: scratch, fields: fields) else { return nil }
            if let id = video.midExtensionID, id < 15, let mid = video.mid {
                try? writer.appendExtensionElement(id: UInt8(id), bytes: mid.utf8)
            }
            guard let length = try? writer.finish(payload: UnsafeRawBufferPointer(rebasing: bytes[header.payload])) else { return nil }
            return (length, header.ssrc)
        }
        guard let result else { return }
        calleeVideoSource = result.source
        buffer.clear()
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[..<result.length]))
        guard (try? srtp.protectRTP(&buffer)) != nil else { return }
        statistics.video.packetsToBrowser += 1
        send(buffer, on: .browser, to: browserAddress)
    }

    /// Writes the PLI, FIR and NACK messages of `compound` that are about `about` into
    /// `buffer` as a new compound packet from `sender` about `source`: an empty RR first
    /// (RFC 3550 §6.1), then each message. Returns the length and the number of messages, or
    /// nil when there is none.
    static func writeFeedback(
        from compound: RTCPCompoundPacket, about: UInt32, into buffer: UnsafeMutableRawBufferPointer, sender: UInt32, source: UInt32
    ) -> (length: Int, messages: Int)? {
        var writer = RTCPCompoundWriter(into: buffer)
        var messages = 0
        for packet in compound {
            guard let message = try? packet.message() else { continue }
            do {
                switch message {
                case .pictureLossIndication(let pli) where pli.mediaSSRC == about:
                    if messages == 0 { try writer.appendReceiverReport(ssrc: sender, reportBlocks: [RTCPReportBlock]()) }
                    try writer.appendPictureLossIndication(senderSSRC: sender, mediaSSRC: source)
                case .fullIntraRequest(let fir):
                    for index in 0..<fir.entryCount {
                        guard let entry = fir.entry(at: index), entry.ssrc == about else { continue }
                        if messages == 0 { try writer.appendReceiverReport(ssrc: sender, reportBlocks: [RTCPReportBlock]()) }
                        try writer.appendFullIntraRequest(senderSSRC: sender, mediaSSRC: source, sequenceNumber: entry.sequenceNumber)
                    }
                case .genericNACK(let nack) where nack.mediaSSRC == about:
                    if messages == 0 { try writer.appendReceiverReport(ssrc: sender, reportBlocks: [RTCPReportBlock]()) }
                    try writer.appendGenericNACK(senderSSRC: sender, mediaSSRC: source, lostSequenceNumbers: nack)
                default:
                    continue
                }
                messages += 1
            } catch {
                break
            }
        }
        return messages > 0 ? (writer.count, messages) : nil
    }

    /// The browser's feedback about the call centre's video (sent to the browser under the
    /// gateway's video SSRC), passed to the call centre about its own SSRC.
    fileprivate func relayFeedbackToCallee(_ buffer: ByteBuffer) {
        guard let video = plan?.video, let source = calleeVideoSource, !calleeHolding else { return }
        let multiplexed = video.calleeRTCPPort == video.calleePort
        guard let address = multiplexed ? calleeVideoAddress : calleeVideoRTCPAddress else { return }
        let scratch = rtcpScratch
        let sender = calleeVideoSSRC
        let written = buffer.withUnsafeReadableBytes { bytes -> (length: Int, messages: Int)? in
            guard let compound = try? RTCPCompoundPacket(validating: bytes) else { return nil }
            return Self.writeFeedback(from: compound, about: video.browserSSRC, into: scratch, sender: sender, source: source)
        }
        guard let written else { return }
        rtcpBuffer.clear()
        rtcpBuffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[..<written.length]))
        guard protectForCallee(&rtcpBuffer, rtcp: true, video: true) else { return }
        statistics.video.feedbackToCallee += written.messages
        send(rtcpBuffer, on: multiplexed ? .calleeVideo : .calleeVideoRTCP, to: address)
        flush(.calleeVideo)
    }

    /// The call centre's feedback about the browser's video (sent to it under the gateway's
    /// SSRC), passed to the browser about its own SSRC over SRTCP.
    private func relayFeedbackToBrowser(_ buffer: ByteBuffer) {
        guard let video = plan?.video, let srtp, let browserAddress, let source = browserVideoSource else { return }
        let scratch = rtcpScratch
        let about = calleeVideoSSRC
        let written = buffer.withUnsafeReadableBytes { bytes -> (length: Int, messages: Int)? in
            guard let compound = try? RTCPCompoundPacket(validating: bytes) else { return nil }
            return Self.writeFeedback(from: compound, about: about, into: scratch, sender: video.browserSSRC, source: source)
        }
        guard let written else { return }
        rtcpBuffer.clear()
        rtcpBuffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[..<written.length]))
        guard (try? srtp.protectRTCP(&rtcpBuffer)) != nil else { return }
        statistics.video.feedbackToBrowser += written.messages
        send(rtcpBuffer, on: .browser, to: browserAddress)
        flush(.browser)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension MediaSession: MediaDatagramSink {
    func readByChannel(_ enabled: Bool, on socket: Socket) {
        guard let channel = channels[socket] else { return }
        if let options = channel.syncOptions {
            try? options.setOption(.autoRead, value: enabled)
        } else {
            channel.setOption(.autoRead, value: enabled).whenFailure { _ in }
        }
    }
}
