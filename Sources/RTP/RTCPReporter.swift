public import NIOCore

/// The RTCP of one participant in one RTP session (RFC 3550 §6), for a gateway that terminates
/// RTCP per leg: it counts what the participant sends under its SSRC and what arrives from each
/// source, reads the peer's compound packets (the LSR of each source's SR, the round-trip time
/// from report blocks about this participant), and writes its own compound reports on the
/// RFC 3550 schedule:
///
/// - an SR when the participant sent RTP in the current or the previous reporting interval
///   (RFC 3550 §6.4: "since issuing the last report or the previous one"), otherwise an RR;
/// - one report block per valid source heard since the last report (at most 31);
/// - SDES with the CNAME; BYE after them when leaving (RFC 3550 §6.6).
///
/// A plain value driven by events, with the clock and the randomness injected. After the first
/// ``maximumSources`` sources it never allocates: sources and report blocks live in arrays
/// reserved at initialisation.
/// A source that sends BYE stops being a member but keeps its statistics for the call's report.
public struct RTCPReporter: Sendable {
    /// One source heard on the session.
    public struct Source: Sendable {
        /// The source's SSRC.
        public let ssrc: UInt32
        /// Its reception statistics.
        public internal(set) var statistics: RTPReceiveStatistics
        /// It sent RTP since the last report.
        public internal(set) var heardSinceReport = false
        /// When it was last heard (RTP or RTCP).
        public internal(set) var lastHeard: NIODeadline
        /// It sent a BYE (and no RTP since): no longer a member, its statistics kept.
        public internal(set) var hasLeft = false
    }

    /// Sources kept at once; a new one replaces the one heard least recently.
    public static let maximumSources = 8
    /// UDP and IPv4 headers, counted in the average RTCP packet size (RFC 3550 §6.2).
    public static let lowerLayerOverhead = 28

    /// The participant's SSRC.
    public let ssrc: UInt32
    /// Its canonical name (SDES CNAME), at most 255 bytes of UTF-8.
    public let cname: String
    /// The RTP clock rate of the session's media.
    public let clockRate: Int
    /// How often reports go out.
    public var interval: RTCPReportInterval
    /// What the participant sent.
    public private(set) var sending: RTPSendStatistics
    /// The sources heard, at most ``maximumSources``.
    public private(set) var sources: [Source]
    /// The latest round-trip time from a report block about this participant.
    public private(set) var roundTripTime: TimeAmount?
    /// When the next report is due, once media has started.
    public private(set) var nextReport: NIODeadline?
    /// Compound packets written.
    public private(set) var reportsSent = 0

    private var blocks: [RTCPReportBlock]
    private var mediaStarted: NIODeadline?
    private var sentSinceReport = false
    private var sentInPreviousInterval = false
    private var averagePacketSize: Double

    /// A participant with `ssrc` and `cname` in a session whose media runs at `clockRate`.
    public init(ssrc: UInt32, cname: String, clockRate: Int, interval: RTCPReportInterval = RTCPReportInterval()) {
        self.ssrc = ssrc
        let name = cname.utf8.count <= 255 ? cname : String(decoding: cname.utf8.prefix(255), as: UTF8.self)
        self.cname = name
        self.clockRate = min(max(clockRate, 1), 10_000_000)
        self.interval = interval
        sending = RTPSendStatistics(clockRate: clockRate)
        sources = []
        sources.reserveCapacity(Self.maximumSources)
        blocks = []
        blocks.reserveCapacity(Self.maximumSources)
        // The probable size of the first report: an SR with one block and the SDES.
        averagePacketSize = Double(28 + RTCPReportBlock.length + 12 + name.utf8.count + Self.lowerLayerOverhead)
    }

    /// The statistics of the source that sent the most packets (the leg's audio), if any.
    public var mainSource: RTPReceiveStatistics? {
        sources.max { $0.statistics.receivedPackets < $1.statistics.receivedPackets }?.statistics
    }

    /// Whether the next report is an SR (RFC 3550 §6.4).
    public var isSender: Bool { sentSinceReport || sentInPreviousInterval }

    // MARK: Events

    /// Records an RTP packet sent under ``ssrc``. `timing` false leaves the SR's RTP timestamp
    /// mapping alone, for packets whose timestamp does not follow the media clock (telephone
    /// events keep the start time of the event).
    public mutating func recordSent(timestamp: UInt32, payloadLength: Int, timing: Bool = true, at now: NIODeadline) {
        if timing {
            sending.record(payloadLength: payloadLength, timestamp: timestamp, at: now)
        } else {
            sending.count(payloadLength: payloadLength)
        }
        sentSinceReport = true
        if mediaStarted == nil { mediaStarted = now }
    }

    /// Records an RTP packet received from `ssrc` (RFC 3550 A.1, A.8).
    @discardableResult
    public mutating func recordReceived(
        ssrc: UInt32, sequenceNumber: UInt16, timestamp: UInt32, payloadLength: Int, arrival: NIODeadline
    ) -> RTPSequenceOutcome {
        if mediaStarted == nil { mediaStarted = arrival }
        let index = sourceIndex(ssrc, at: arrival)
        sources[index].lastHeard = arrival
        sources[index].heardSinceReport = true
        sources[index].hasLeft = false
        return sources[index].statistics.record(
            sequenceNumber: sequenceNumber, timestamp: timestamp, payloadLength: payloadLength, arrival: arrival
        )
    }

    /// Reads a compound packet from the peer that arrived at `arrival`, when the wallclock read
    /// `wallclock`: an SR's NTP timestamp becomes the LSR of its source, report blocks about
    /// ``ssrc`` give the round-trip time (RFC 3550 §6.4.1), BYE removes its sources. Returns the
    /// round-trip time measured from this packet, if any.
    @discardableResult
    public mutating func receive(_ compound: RTCPCompoundPacket, arrival: NIODeadline, wallclock: NTPTimestamp) -> TimeAmount? {
        averagePacketSize += (Double(compound.bytes.count + Self.lowerLayerOverhead) - averagePacketSize) / 16
        var measured: TimeAmount?
        for packet in compound {
            guard let message = try? packet.message() else { continue }
            switch message {
            case .senderReport(let report):
                if report.ssrc != ssrc {
                    let index = sourceIndex(report.ssrc, at: arrival)
                    sources[index].lastHeard = arrival
                    sources[index].statistics.recordSenderReport(report.senderInfo.ntpTimestamp, arrival: arrival)
                }
                if let rtt = roundTrip(report.reportBlocks, wallclock: wallclock) { measured = rtt }
            case .receiverReport(let report):
                if let rtt = roundTrip(report.reportBlocks, wallclock: wallclock) { measured = rtt }
            case .goodbye(let goodbye):
                for index in 0..<goodbye.sourceCount {
                    guard let source = goodbye.source(at: index) else { continue }
                    for member in sources.indices where sources[member].ssrc == source { sources[member].hasLeft = true }
                }
            default:
                continue
            }
        }
        if let measured { roundTripTime = measured }
        return measured
    }

    private func roundTrip(_ blocks: RTCPReportBlocks, wallclock: NTPTimestamp) -> TimeAmount? {
        var rtt: TimeAmount?
        for index in 0..<blocks.count {
            let block = blocks[index]
            if block.ssrc == ssrc, let value = RoundTripTime.from(block, arrival: wallclock) { rtt = value }
        }
        return rtt
    }

    /// The index of `ssrc` among the sources, adding it (in place of the source heard least
    /// recently when the table is full).
    private mutating func sourceIndex(_ ssrc: UInt32, at now: NIODeadline) -> Int {
        for index in sources.indices where sources[index].ssrc == ssrc { return index }
        let source = Source(ssrc: ssrc, statistics: RTPReceiveStatistics(clockRate: clockRate), lastHeard: now)
        if sources.count < Self.maximumSources {
            sources.append(source)
            return sources.count - 1
        }
        var oldest = 0
        for index in sources.indices where sources[index].lastHeard < sources[oldest].lastHeard { oldest = index }
        sources[oldest] = source
        return oldest
    }

    // MARK: Reports

    /// Whether a report is due at `now`. The first is scheduled when media has started (RTP
    /// sent or received): after the randomised initial interval (half the minimum, RFC 3550
    /// §6.2) from the first packet.
    public mutating func reportIsDue(at now: NIODeadline, using generator: inout some RandomNumberGenerator) -> Bool {
        if nextReport == nil {
            guard let mediaStarted else { return false }
            nextReport = mediaStarted + RTCPReportInterval.randomised(deterministicInterval(initial: true), using: &generator)
        }
        guard let nextReport else { return false }
        return now >= nextReport
    }

    /// The deterministic interval for the session as it is now.
    public func deterministicInterval(initial: Bool) -> TimeAmount {
        var members = 1
        var heard = 0
        for source in sources where !source.hasLeft {
            members += 1
            if source.heardSinceReport { heard += 1 }
        }
        return interval.deterministic(
            members: members, senders: heard + (isSender ? 1 : 0), weSent: isSender,
            averagePacketSize: averagePacketSize, initial: initial
        )
    }

    /// Writes a compound report at the start of `buffer` and schedules the next one: SR (with
    /// the sender information at `now`, whose wallclock is `wallclock`) or RR, a block per
    /// source heard since the last report, SDES CNAME, and a BYE when `goodbye`. Returns its
    /// length. Nothing is changed when it does not fit.
    public mutating func writeReport(
        into buffer: UnsafeMutableRawBufferPointer, at now: NIODeadline, wallclock: NTPTimestamp, goodbye: Bool = false,
        using generator: inout some RandomNumberGenerator
    ) throws(RTCPWriteError) -> Int {
        // Everything is checked to fit before the interval state (fraction lost) moves on.
        var blockCount = 0
        for source in sources where source.heardSinceReport && !source.hasLeft && source.statistics.isValid { blockCount += 1 }
        blockCount = min(blockCount, 31)
        let reportLength = (isSender ? 28 : 8) + RTCPReportBlock.length * blockCount
        let descriptionLength = (4 + 4 + 2 + cname.utf8.count + 1 + 3) & ~3
        guard buffer.count >= reportLength + descriptionLength + (goodbye ? 8 : 0) else { throw .bufferTooSmall }
        blocks.removeAll(keepingCapacity: true)
        for index in sources.indices {
            if blocks.count < blockCount, sources[index].heardSinceReport, !sources[index].hasLeft, sources[index].statistics.isValid {
                blocks.append(sources[index].statistics.makeReportBlock(ssrc: sources[index].ssrc, now: now))
            }
            sources[index].heardSinceReport = false
        }
        var writer = RTCPCompoundWriter(into: buffer)
        if isSender {
            try writer.appendSenderReport(ssrc: ssrc, senderInfo: sending.senderInfo(at: now, wallclock: wallclock), reportBlocks: blocks)
        } else {
            try writer.appendReceiverReport(ssrc: ssrc, reportBlocks: blocks)
        }
        try writer.appendSourceDescription(ssrc: ssrc, cname: cname.utf8)
        if goodbye { try writer.appendGoodbye(sources: CollectionOfOne(ssrc)) }
        averagePacketSize += (Double(writer.count + Self.lowerLayerOverhead) - averagePacketSize) / 16
        sentInPreviousInterval = sentSinceReport
        sentSinceReport = false
        reportsSent += 1
        nextReport = now + RTCPReportInterval.randomised(deterministicInterval(initial: false), using: &generator)
        return writer.count
    }
}
