import Metrics

/// The media plane's Prometheus metrics, made once. Sessions count per packet in plain
/// integers and add their counts here from their half-second tick and when they close, so the
/// packet path touches no shared counter.
struct MediaMetrics: Sendable {
    let packetsRelayed = Counter(label: "switchboard_media_packets_total", dimensions: [("path", "relay")])
    let packetsTranscoded = Counter(label: "switchboard_media_packets_total", dimensions: [("path", "transcode")])
    let authenticationFailures = Counter(label: "switchboard_media_srtp_failures_total")
    let malformed = Counter(label: "switchboard_media_malformed_total")
    let sessions = Meter(label: "switchboard_media_sessions")
    let ended = Counter(label: "switchboard_media_sessions_ended_total")
    /// Datagrams the media sockets' channels read, and those the loops' receivers polled.
    let readByChannels = Counter(label: "switchboard_media_datagrams_read_total", dimensions: [("by", "channel")])
    let readByPolls = Counter(label: "switchboard_media_datagrams_read_total", dimensions: [("by", "poll")])

    static let shared = MediaMetrics()

    /// What a session counted since it last reported.
    struct Delta {
        var relayed = 0
        var transcoded = 0
        var authenticationFailures = 0
        var malformed = 0

        var isEmpty: Bool { relayed == 0 && transcoded == 0 && authenticationFailures == 0 && malformed == 0 }
    }

    func add(_ delta: Delta) {
        if delta.relayed > 0 { packetsRelayed.increment(by: delta.relayed) }
        if delta.transcoded > 0 { packetsTranscoded.increment(by: delta.transcoded) }
        if delta.authenticationFailures > 0 { authenticationFailures.increment(by: delta.authenticationFailures) }
        if delta.malformed > 0 { malformed.increment(by: delta.malformed) }
    }
}
