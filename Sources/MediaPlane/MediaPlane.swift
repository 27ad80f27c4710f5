public import Logging
import Media
public import NIOCore
import NIOPosix
public import SIP
import SRTP
import Synchronization
import WebRTC

/// What the media plane needs to know: where it binds and what it advertises, its port range,
/// timeouts and codec settings.
public struct MediaPlaneConfiguration: Sendable {
    /// The address media sockets bind.
    public var bindHost: String
    /// The address written into SDP and ICE candidates (`--public-ip`).
    public var advertisedHost: String
    /// `--rtp-ports`.
    public var ports: ClosedRange<Int>
    /// No RTP from either side for this long ends the call (`media-timeout`).
    public var mediaTimeout: Duration
    /// No ICE check from the browser this long after the answer ends the call.
    public var iceTimeout: Duration
    /// No consent refresh from the browser for this long ends the call (RFC 7675).
    public var consentTimeout: Duration
    /// libopus complexity (0–10) for the Opus the gateway encodes.
    public var opusComplexity: Int
    /// Where the DTLS certificate is kept (the data directory).
    public var certificateDirectory: String
    /// An IPv6 address the browser leg also binds and offers as a second ICE host candidate
    /// (RFC 8445 §5.1.1.1), for browsers that reach the gateway over IPv6 only.
    public var ipv6Host: String?
    /// How often each event loop plays out and transcodes the due frames of all its transcoding
    /// sessions (at multiples of it on the monotonic clock). A frame waits up to this long after
    /// its playout time, on top of the jitter buffer's delay; a longer tick batches more frames
    /// per wake-up. At least 1 ms.
    public var transcodingTick: Duration = .milliseconds(10)
    /// How often an event loop with busy media reads the datagrams queued on all its media
    /// sockets, in one turn (``MediaReceiver``). A datagram waits up to this long before it is
    /// read (half of it on average); a longer interval reads more sockets a wake-up. At least
    /// 0.1 ms. Nil: NIO always reads each socket's datagrams as they come, one wake-up and one
    /// trip through the channel's pipeline a datagram.
    public var receiveInterval: Duration? = .milliseconds(1)
    /// The datagrams a second on one event loop's media sockets above which it polls them every
    /// ``receiveInterval``, and under half of which it leaves the reads to NIO again (counted
    /// every second). Nil: it always polls.
    public var receivePollAbove: Int? = 12_000

    public init(
        bindHost: String, advertisedHost: String, ports: ClosedRange<Int>, mediaTimeout: Duration = .seconds(30),
        iceTimeout: Duration = .seconds(10), consentTimeout: Duration = .seconds(30), opusComplexity: Int = 8,
        certificateDirectory: String
    ) {
        self.bindHost = bindHost
        self.advertisedHost = advertisedHost
        self.ports = ports
        self.mediaTimeout = mediaTimeout
        self.iceTimeout = iceTimeout
        self.consentTimeout = consentTimeout
        self.opusComplexity = opusComplexity
        self.certificateDirectory = certificateDirectory
    }

    /// With an IPv6 host candidate on `ipv6Host`.
    public func withIPv6(_ host: String?) -> MediaPlaneConfiguration {
        var copy = self
        copy.ipv6Host = host
        return copy
    }
}

/// The media plane: the port pool, the gateway's DTLS certificate, and one ``MediaSession`` per
/// browser call, spread over the event loops of `group`.
public final class MediaPlane: Sendable {
    public let configuration: MediaPlaneConfiguration
    let pool: MediaPortPool
    /// The browser leg's IPv6 ports, with ``MediaPlaneConfiguration/ipv6Host``.
    let pool6: MediaPortPool?
    let certificate: DTLSCertificate
    let fingerprint: SDPFingerprint
    let group: any EventLoopGroup
    let logger: Logger
    /// The transcoding playout tick of each of the group's event loops, made once here: the
    /// sessions on a loop share its tick, and finding it takes no lock.
    let tickers: [ObjectIdentifier: TranscodingTicker]
    /// The media sockets' receive path of each of the group's event loops, made once here
    /// (none with ``MediaPlaneConfiguration/receiveInterval`` nil: NIO reads the sockets).
    let receivers: [ObjectIdentifier: MediaReceiver<MediaSession>]

    public init(configuration: MediaPlaneConfiguration, group: any EventLoopGroup, logger: Logger) throws {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        var tickers: [ObjectIdentifier: TranscodingTicker] = [:]
        for loop in group.makeIterator() {
            tickers[ObjectIdentifier(loop)] = TranscodingTicker(loop: loop, interval: .nanoseconds(configuration.transcodingTick.nanoseconds))
        }
        self.tickers = tickers
        var receivers: [ObjectIdentifier: MediaReceiver<MediaSession>] = [:]
        if let interval = configuration.receiveInterval {
            for loop in group.makeIterator() {
                receivers[ObjectIdentifier(loop)] = try MediaReceiver(
                    loop: loop, interval: .nanoseconds(interval.nanoseconds), pollAbove: configuration.receivePollAbove
                )
            }
        }
        self.receivers = receivers
        pool = MediaPortPool(range: configuration.ports, host: configuration.bindHost)
        pool6 = configuration.ipv6Host.map { MediaPortPool(range: configuration.ports, host: $0) }
        certificate = try DTLSCertificate.loadOrCreate(directory: configuration.certificateDirectory)
        fingerprint = SDPFingerprint(hashFunction: certificate.fingerprint.algorithm.rawValue, bytes: certificate.fingerprint.digest)
    }

    /// Ports still free in the range.
    public var availablePorts: Int { pool.available }

    /// Sets up the media of a browser call: binds the browser leg's port and the SIP leg's RTP
    /// and RTCP ports, and returns the media with the offer for the call centre. `onEnded` is
    /// called (on any thread) if the media ends on its own.
    ///
    /// With `allowsVideo` (the widget's `video`), the browser's video is offered to the call
    /// centre and relayed; without it, video is refused.
    ///
    /// With `calleeSecurity` ``CalleeMediaSecurity/sdesSRTP`` (the trunk's `srtp: required`),
    /// the audio is offered as `RTP/SAVP` with fresh SDES keys and the call centre's answer must
    /// accept one of them; video the same way, with keys of its own.
    public func openBrowserCall(
        offer: BrowserOffer, calleeCodecs: [SDPCodec], callId: String, allowsVideo: Bool = false,
        calleeSecurity: CalleeMediaSecurity = .plainRTP, onEnded: @escaping @Sendable (MediaEndCause) -> Void
    ) throws -> BrowserCallMedia {
        var offer = offer
        if !allowsVideo { offer.video = nil }
        let sdes = calleeSecurity == .sdesSRTP ? try SDESOffer.random() : nil
        let videoSDES = calleeSecurity == .sdesSRTP ? try SDESOffer.random() : nil
        let browserSocket = try pool.bind().socket
        let callee: (socket: BoundMediaSocket, companion: BoundMediaSocket?)
        do {
            callee = try pool.bind(pair: true)
        } catch {
            Self.discard(browserSocket, pool: pool)
            throw error
        }
        var browserSocket6: BoundMediaSocket?
        if let pool6 {
            do {
                browserSocket6 = try pool6.bind().socket
            } catch {
                for socket in [browserSocket, callee.socket] + [callee.companion].compactMap({ $0 }) { Self.discard(socket, pool: pool) }
                throw error
            }
        }
        let credentials = ICECredentials.random()
        var local = WebRTCTransportParameters(
            host: configuration.advertisedHost, port: UInt16(browserSocket.port),
            iceUsernameFragment: credentials.usernameFragment, icePassword: credentials.password, fingerprint: fingerprint
        )
        if let browserSocket6, let host6 = configuration.ipv6Host {
            local.host6 = host6
            local.port6 = UInt16(browserSocket6.port)
        }
        let sessionID = String(UInt64.random(in: 1...UInt64(Int64.max)))
        var video: (socket: BoundMediaSocket, companion: BoundMediaSocket?)?
        let calleeOffer: SDPSessionDescription
        do {
            if offer.video != nil { video = try pool.bind(pair: true) }
            calleeOffer = try MediaPlan.calleeOffer(
                for: offer, codecs: calleeCodecs, host: configuration.advertisedHost, port: UInt16(callee.socket.port), sessionID: sessionID,
                videoPort: video.map { UInt16($0.socket.port) }, sdes: sdes, videoSDES: videoSDES
            )
        } catch {
            let bound = [browserSocket, callee.socket] + [callee.companion, video?.socket, video?.companion].compactMap { $0 }
            for socket in bound { Self.discard(socket, pool: pool) }
            if let browserSocket6, let pool6 { Self.discard(browserSocket6, pool: pool6) }
            throw error
        }
        var callLogger = logger
        callLogger[metadataKey: "call"] = "\(callId)"
        let loop = group.next()
        let session = try MediaSession(
            loop: loop,
            configuration: .init(
                mediaTimeout: configuration.mediaTimeout, iceTimeout: configuration.iceTimeout, consentTimeout: configuration.consentTimeout,
                opus: OpusEncoder.Configuration(complexity: configuration.opusComplexity)
            ),
            local: local, certificate: certificate, remoteFingerprint: offer.fingerprint, dtlsRole: offer.setup.answer, logger: callLogger,
            ticker: ticker(for: loop)
        )
        session.onEnded = onEnded
        session.calleeSecured = sdes != nil
        let media = BrowserCallMedia(
            offer: offer, calleeOffer: calleeOffer, calleeCodecs: calleeCodecs, allowsVideo: allowsVideo, local: local, sessionID: sessionID,
            session: session, plane: self, sdes: sdes, videoSDES: videoSDES
        )
        var sockets: [(MediaSession.Socket, BoundMediaSocket)] =
            [(.browser, browserSocket), (.callee, callee.socket)] + (callee.companion.map { [(.calleeRTCP, $0)] } ?? [])
        if let video {
            media.videoPort = UInt16(video.socket.port)
            sockets += [(.calleeVideo, video.socket)] + (video.companion.map { [(.calleeVideoRTCP, $0)] } ?? [])
        }
        for (leg, socket) in sockets {
            media.ports.append(socket.port)
            register(socket, as: leg, session: session)
        }
        if let browserSocket6, let pool6 {
            register(browserSocket6, as: .browser6, session: session, pool: pool6)
        }
        return media
    }

    /// The playout tick of `loop`: the shared one of the group's loops (a loop the group did not
    /// list when the plane was made gets a tick of its own).
    func ticker(for loop: any EventLoop) -> TranscodingTicker {
        tickers[ObjectIdentifier(loop)] ?? TranscodingTicker(loop: loop, interval: .nanoseconds(configuration.transcodingTick.nanoseconds))
    }

    /// Binds the SIP leg's video RTP and RTCP ports of a call that adds video, and returns the
    /// RTP port.
    func openVideo(for media: BrowserCallMedia) throws -> UInt16 {
        let video = try pool.bind(pair: true)
        for (leg, socket) in [(MediaSession.Socket.calleeVideo, video.socket)] + (video.companion.map { [(.calleeVideoRTCP, $0)] } ?? []) {
            media.ports.append(socket.port)
            register(socket, as: leg, session: media.session)
        }
        return UInt16(video.socket.port)
    }

    /// The largest datagram read whole: DTLS flights are at most the MTU (1200), RTP well under,
    /// nothing on these ports is larger than an Ethernet frame.
    static let maximumDatagram = 1536

    private func register(_ socket: BoundMediaSocket, as leg: MediaSession.Socket, session: MediaSession, pool: MediaPortPool? = nil) {
        // NIO writes and closes the socket; it reads it too unless the loop's receiver polls
        // (which turns `autoRead` on or off as it goes). NIO's reads are one datagram per read
        // (recvmsg, no vectored reads) and one read per wake-up, as a call's media runs at 50
        // packets a second a direction, so a read rarely finds more than one, and NIO's vectored
        // path costs more per read than it saves (see the relay section of
        // Benchmarks/RESULTS.md).
        let receiver = receivers[ObjectIdentifier(session.loop)]
        let handler = MediaSocketHandler(session: session, leg: leg)
        let future = DatagramBootstrap(group: session.loop)
            .channelOption(.autoRead, value: receiver == nil)
            .channelOption(.datagramVectorReadMessageCount, value: 0)
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.maximumDatagram))
            .channelOption(.socketOption(.so_rcvbuf), value: 1 << 20)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .withBoundSocket(socket.descriptor)
        let pool = pool ?? self.pool
        let logger = session.logger
        future.whenComplete { result in
            switch result {
            case .success(let channel):
                channel.closeFuture.whenComplete { _ in pool.release(socket.port) }
                if session.isClosed {
                    channel.close(promise: nil)
                    return
                }
                session.attach(channel, descriptor: socket.descriptor, as: leg)
                guard let receiver else { return }
                do {
                    handler.registration = (receiver, try receiver.add(descriptor: socket.descriptor, sink: session, leg: leg))
                } catch {
                    // The channel reads the socket itself.
                    logger.warning("a media socket could not be watched", metadata: ["port": "\(socket.port)", "error": "\(error)"])
                    session.readByChannel(true, on: leg)
                }
            case .failure(let error):
                // The leg gets no packets: the call's media timeout ends it with a clear cause.
                logger.warning("a media socket could not be registered", metadata: ["port": "\(socket.port)", "error": "\(error)"])
                Self.discard(socket, pool: pool)
            }
        }
    }

    private static func discard(_ socket: BoundMediaSocket, pool: MediaPortPool) {
        _ = systemClose(socket.descriptor)
        pool.release(socket.port)
    }
}

/// The media of one browser call as the signalling plane holds it: the offer sent to the call
/// centre, the answer given to the browser, and the session behind them.
public final class BrowserCallMedia: @unchecked Sendable {
    public internal(set) var offer: BrowserOffer
    public let calleeOffer: SDPSessionDescription
    /// The codecs the trunk allows, for offers to the call centre during the call.
    let calleeCodecs: [SDPCodec]
    /// The SDES keys offered to the call centre, when its leg is SRTP: for the audio, and the
    /// video's own (offered with the browser's video, or answered to the call centre's).
    let sdes: SDESOffer?
    let videoSDES: SDESOffer?
    /// Whether the widget allows video.
    public let allowsVideo: Bool
    /// The SIP leg's video RTP port, once video was offered to the call centre.
    var videoPort: UInt16?
    /// The last video `m=` line offered to the call centre: kept, with port 0, once video stops.
    var calleeVideoMedia: SDPMediaDescription?
    /// The browser's re-offer that waits for the call centre's answer to a re-offer of ours.
    public internal(set) var pendingBrowserOffer: BrowserOffer?
    /// The SSRC of the video the browser receives.
    let browserVideoSSRC = UInt32.random(in: 1...UInt32.max)
    /// The call centre's re-offer adding video, while the browser is asked.
    var pendingVideoUpgrade: PendingVideoUpgrade?
    var local: WebRTCTransportParameters
    let sessionID: String
    let session: MediaSession
    unowned let plane: MediaPlane
    var ports: [Int] = []
    var calleeSessionVersion: UInt64 = 1
    /// What the browser receives is sent under this SSRC, whatever the call centre uses.
    let browserSSRC = UInt32.random(in: 1...UInt32.max)
    /// The gateway's CNAME towards the browser (its SDES and `a=ssrc`), stable for the call.
    let browserCNAME = MediaPlan.randomCNAME()
    /// The call centre's SDP the browser answer was made from, and that answer.
    var answered: (callee: SDPSessionDescription, browser: SDPSessionDescription, plan: MediaBridgePlan)?
    /// The `o=` version of the descriptions sent to the browser (answers and re-offers alike).
    var browserSessionVersion: UInt64 = 0
    /// The call centre's audio direction, from its own point of view: as it answered, then as
    /// it last re-offered (`c=0.0.0.0` counts as not receiving).
    public internal(set) var calleeDirection: SDPDirection = .sendrecv
    /// The gateway's audio direction on the browser leg as the browser last agreed to it.
    public internal(set) var browserLegDirection: SDPDirection = .sendrecv

    init(
        offer: BrowserOffer, calleeOffer: SDPSessionDescription, calleeCodecs: [SDPCodec], allowsVideo: Bool, local: WebRTCTransportParameters,
        sessionID: String, session: MediaSession, plane: MediaPlane, sdes: SDESOffer? = nil, videoSDES: SDESOffer? = nil
    ) {
        self.offer = offer
        self.sdes = sdes
        self.videoSDES = videoSDES
        self.calleeOffer = calleeOffer
        self.calleeCodecs = calleeCodecs
        self.allowsVideo = allowsVideo
        calleeVideoMedia = calleeOffer.media.first { $0.media == .video }
        self.local = local
        self.sessionID = sessionID
        self.session = session
        self.plane = plane
    }

    /// The browser's answer for the call centre's SDP (from a 183 or the 2xx). The same SDP
    /// again gives the same answer; the first answer starts the media.
    public func answer(_ calleeAnswer: SDPSessionDescription) throws(MediaPlanError) -> SDPSessionDescription {
        if let answered, answered.callee == calleeAnswer { return answered.browser }
        let version = browserSessionVersion + 1
        let (answer, plan) = try MediaPlan.browserAnswer(
            for: offer, calleeAnswer: calleeAnswer, local: local, sessionID: sessionID, sessionVersion: version, browserSSRC: browserSSRC,
            browserCNAME: browserCNAME, videoSSRC: browserVideoSSRC, sdes: sdes, videoSDES: videoSDES
        )
        let first = answered == nil
        answered = (calleeAnswer, answer, plan)
        browserSessionVersion = version
        calleeDirection = plan.calleeDirection
        browserLegDirection = answer.media[offer.audioIndex].attributes.direction ?? .sendrecv
        let session = self.session
        guard let remote = try? ICECredentials(usernameFragment: plan.remoteICEUsernameFragment, password: plan.remoteICEPassword) else {
            throw .unsupportedOffer("invalid ICE credentials")
        }
        session.loop.execute {
            if first { session.start(plan: plan, remoteICE: remote) } else { session.update(plan: plan) }
        }
        return answer
    }

    /// The browser answer once the call centre has answered.
    public var browserAnswer: SDPSessionDescription? { answered?.browser }

    /// How audio flows, once answered.
    public var plan: MediaBridgePlan? { answered?.plan }

    /// The counters so far.
    public func statistics() async -> MediaStatistics {
        let session = self.session
        return (try? await session.loop.submit { session.statistics }.get()) ?? MediaStatistics()
    }

    /// Called once, on any thread, with the final counters when the media closes.
    public func onClosed(_ body: @escaping @Sendable (MediaStatistics) -> Void) {
        let session = self.session
        session.loop.execute { session.onClosed = body }
    }

    /// Releases the ports and stops the session.
    public func close() {
        let session = self.session
        session.loop.execute { session.close() }
    }
}

extension BrowserCallMedia {
    /// The gateway's answer to a re-offer from the call centre (hold, resume, a moved address),
    /// from the codec already in use; nil when the re-offer has no audio the call can keep.
    public func answerCalleeReoffer(_ reoffer: SDPSessionDescription) -> SDPSessionDescription? {
        guard let answered, let audio = reoffer.media.first(where: { $0.media == .audio && !$0.isDisabled }),
            let connection = audio.effectiveConnection(in: reoffer)
        else { return nil }
        let plan = answered.plan
        guard audio.payloadFormats.contains(where: { $0.codec.matches(plan.calleeAudio.codec) }) else { return nil }
        // An SRTP leg stays SRTP with the suite in use (the gateway keeps its key); a plain leg stays plain.
        var srtp: (crypto: SDPCrypto, keys: SRTPKeys)?
        if let current = plan.calleeSRTP {
            guard let kept = SDESOffer.answerReoffer(audio, current: current) else { return nil }
            srtp = kept
        } else if audio.transportProtocol.isSecure {
            return nil
        }
        let offeredDirection = audio.effectiveDirection(in: reoffer)
        var capabilities = SDPLocalCapabilities.plainRTP
        capabilities.audioCodecs = [plan.calleeAudio.codec]
        capabilities.transportProtocols = [srtp == nil ? .rtpAVP : .rtpSAVP]
        capabilities.maximumCodecsPerMedia = 1
        guard let negotiation = try? SDPNegotiation(offer: reoffer, capabilities: capabilities) else { return nil }
        calleeSessionVersion += 1
        let port = calleeOffer.media.first?.port ?? 0
        var answer = negotiation.makeAnswer(
            origin: SDPOrigin(
                sessionID: calleeOffer.origin.sessionID, sessionVersion: calleeSessionVersion,
                addressType: calleeOffer.origin.addressType, unicastAddress: calleeOffer.origin.unicastAddress
            ),
            connection: calleeOffer.connection ?? SDPConnection(networkType: "IN", addressType: .ip4, address: local.host),
            sessionName: "Switchboard"
        ) { decision in
            var attributes = SDPAttributeList()
            if decision.media == .audio, let srtp { attributes.append(srtp.crypto) }
            return SDPMediaTransport(port: port, attributes: attributes)
        }
        // Video already relayed stays, with its codec, in the direction the browser has it (and
        // on an SRTP leg its suite and the gateway's key, as the audio).
        var videoKeys: SRTPKeys?
        if let video = plan.video, let videoPort,
            let index = reoffer.media.firstIndex(where: { $0.media == .video && !$0.isDisabled }), answer.media.indices.contains(index),
            let format = reoffer.media[index].payloadFormats.first(where: { $0.codec.matches(video.calleeFormat.codec) })
        {
            var crypto: SDPCrypto?
            if let current = video.calleeSRTP {
                guard let kept = SDESOffer.answerReoffer(reoffer.media[index], current: current) else { return nil }
                crypto = kept.crypto
                videoKeys = kept.keys
            } else if reoffer.media[index].transportProtocol.isSecure {
                return nil
            }
            let browserSide = SDPDirection(sends: video.browserDirection.receives, receives: video.browserDirection.sends)
            let direction = reoffer.media[index].effectiveDirection(in: reoffer).answer(local: browserSide)
            answer.media[index] = Self.calleeVideoAnswerMedia(
                offered: reoffer.media[index], format: format, port: videoPort, direction: direction, crypto: crypto
            )
        }
        let holding = offeredDirection == .inactive || offeredDirection == .sendonly || connection.isUnspecifiedAddress
        calleeDirection = offeredDirection
        let address = connection.isUnspecifiedAddress ? nil : (host: connection.address, port: audio.port)
        if let srtp { self.answered?.plan.calleeSRTP = srtp.keys }
        if let videoKeys { self.answered?.plan.video?.calleeSRTP = videoKeys }
        let keys = srtp?.keys
        let newVideoKeys = videoKeys
        let session = self.session
        session.loop.execute { session.calleeMoved(to: address, holding: holding, keys: keys, videoKeys: newVideoKeys) }
        return answer
    }
}

extension BrowserCallMedia {
    /// The answer to a re-offer from the browser (hold, resume, an ICE restart after a network
    /// change): the same codec as before; new ICE credentials when the browser restarts ICE
    /// (RFC 8839 §4.4.1.1.1). nil when the re-offer cannot be answered.
    public func answerBrowserReoffer(_ reoffer: SDPSessionDescription) -> SDPSessionDescription? {
        guard let answered, var browser = try? BrowserOffer(reoffer) else { return nil }
        if !allowsVideo { browser.video = nil }
        let restart = browser.iceUsernameFragment != offer.iceUsernameFragment || browser.icePassword != offer.icePassword
        if restart {
            let credentials = ICECredentials.random()
            local.iceUsernameFragment = credentials.usernameFragment
            local.icePassword = credentials.password
        }
        // The direction the browser knows of: a hold it has not been told about yet comes in a
        // re-offer of the gateway's own afterwards.
        let version = browserSessionVersion + 1
        guard let (answer, answeredPlan) = try? MediaPlan.browserAnswer(
            for: browser, calleeAnswer: answered.callee, local: local, sessionID: sessionID, sessionVersion: version, browserSSRC: browserSSRC,
            browserCNAME: browserCNAME, direction: browserLegDirection, videoSSRC: browserVideoSSRC, sdes: sdes, videoSDES: videoSDES
        ),
            let remote = try? ICECredentials(usernameFragment: browser.iceUsernameFragment, password: browser.icePassword),
            let localCredentials = try? ICECredentials(usernameFragment: local.iceUsernameFragment, password: local.icePassword)
        else { return nil }
        offer = browser
        var plan = answeredPlan
        // The call centre's keys as its last re-offer left them.
        plan.calleeSRTP = answered.plan.calleeSRTP
        if let keys = answered.plan.video?.calleeSRTP, plan.video != nil { plan.video?.calleeSRTP = keys }
        self.answered = (answered.callee, answer, plan)
        browserSessionVersion = version
        let session = self.session
        let updated = plan
        session.loop.execute {
            session.update(plan: updated)
            if restart { session.restartICE(local: localCredentials, remote: remote) }
        }
        return answer
    }
}

extension BrowserCallMedia {
    /// Whether the browser must be told of a change of the call centre's direction (hold or
    /// resume) with a re-offer of the gateway's own.
    public var needsBrowserReoffer: Bool {
        answered != nil && calleeDirection != browserLegDirection
    }

    /// The gateway's re-offer to the browser for the call centre's current direction, mirrored
    /// (it sends what the call centre sends, receives what it receives); nil before the answer.
    public func browserReoffer() -> SDPSessionDescription? {
        guard let answered else { return nil }
        browserSessionVersion += 1
        return MediaPlan.browserReoffer(
            after: answered.browser, audioIndex: offer.audioIndex, direction: calleeDirection, sessionVersion: browserSessionVersion
        )
    }

    /// The browser answered `reoffer`: the direction it offered is now agreed.
    ///
    /// - Throws: ``MediaPlanError/unusableAnswer(_:)`` when the answer cannot keep the call's
    ///   transport (see ``MediaPlan/checkBrowserReofferAnswer(_:offer:audioIndex:browser:dtlsRole:)``);
    ///   nothing changes then.
    @discardableResult
    public func browserAnswered(_ answer: SDPSessionDescription, to reoffer: SDPSessionDescription) throws(MediaPlanError) -> SDPDirection {
        guard let answered else { throw .unusableAnswer("no call to re-offer") }
        let answeredDirection = try MediaPlan.checkBrowserReofferAnswer(
            answer, offer: reoffer, audioIndex: offer.audioIndex, browser: offer, dtlsRole: answered.plan.dtlsRole
        )
        browserLegDirection = reoffer.media[offer.audioIndex].attributes.direction ?? .sendrecv
        return answeredDirection
    }
}
