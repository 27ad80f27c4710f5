public import Foundation

/// One call through the gateway: a caller leg (browser or inbound trunk) bridged to a callee leg
/// towards the call centre.
public struct Call: Sendable, Equatable {
    public var id: String
    public var status: CallStatus
    public var source: CallSource
    public var from: String
    public var to: String
    public var destination: String
    public var sipCode: Int?
    public var hangupCause: String?
    public var hangupBy: HangupParty?
    /// Caller context (compact JSON of an object) from the widget session, if any.
    public var contextJSON: String?
    public var contextVerified: Bool?
    /// The browser's `User-Agent`, as it opened the WebSocket.
    public var userAgent: String?
    public var createdAt: Date
    public var answeredAt: Date?
    public var endedAt: Date?
    /// How the call's audio flowed and how well, once its media has ended.
    public var media: CallMedia?

    public static let idPrefix = "cal"

    public init(
        id: String, status: CallStatus, source: CallSource, from: String, to: String, destination: String,
        sipCode: Int? = nil, hangupCause: String? = nil, hangupBy: HangupParty? = nil, contextJSON: String? = nil,
        contextVerified: Bool? = nil, userAgent: String? = nil, createdAt: Date, answeredAt: Date? = nil, endedAt: Date? = nil,
        media: CallMedia? = nil
    ) {
        self.id = id
        self.status = status
        self.source = source
        self.from = from
        self.to = to
        self.destination = destination
        self.sipCode = sipCode
        self.hangupCause = hangupCause
        self.hangupBy = hangupBy
        self.contextJSON = contextJSON
        self.contextVerified = contextVerified
        self.userAgent = userAgent
        self.createdAt = createdAt
        self.answeredAt = answeredAt
        self.endedAt = endedAt
        self.media = media
    }

    public var durationSeconds: Double? {
        guard let answeredAt, let endedAt else { return nil }
        return max(0, endedAt.timeIntervalSince(answeredAt))
    }
}

public enum CallStatus: String, Sendable, Codable, CaseIterable {
    case initiated, ringing, inProgress = "in-progress", completed, failed, busy, noAnswer = "no-answer", canceled

    public var isFinal: Bool {
        switch self {
        case .initiated, .ringing, .inProgress: false
        case .completed, .failed, .busy, .noAnswer, .canceled: true
        }
    }

    /// The status a call ends in when the callee leg's final response is `code` (>= 300).
    public static func forFailure(code: Int) -> CallStatus {
        switch code {
        case 486, 600: .busy
        case 408, 480: .noAnswer
        case 487: .canceled
        default: .failed
        }
    }
}

public struct CallSource: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case widget, trunk }
    public var kind: Kind
    public var widgetId: String?
    public var sessionId: String?
    public var trunkId: String?

    public init(kind: Kind, widgetId: String? = nil, sessionId: String? = nil, trunkId: String? = nil) {
        self.kind = kind
        self.widgetId = widgetId
        self.sessionId = sessionId
        self.trunkId = trunkId
    }
}

public enum HangupParty: String, Sendable, Codable {
    case caller, callee, api, system
}

/// What list filters a call query supports.
public struct CallFilter: Sendable, Equatable {
    public var status: CallStatus?
    public var widgetId: String?
    public var trunkId: String?

    public init(status: CallStatus? = nil, widgetId: String? = nil, trunkId: String? = nil) {
        self.status = status
        self.widgetId = widgetId
        self.trunkId = trunkId
    }
}

/// The signalling plane, as the domain sees it: what the API may ask of live calls.
public protocol CallSignalling: Sendable {
    /// Ends a live call (BYE, or CANCEL before the answer). False when the call is not live here.
    func hangup(callId: String) async -> Bool
}

/// The signalling plane's side of a browser's SIP-over-WebSocket connection.
public protocol BrowserSignalling: Sendable {
    /// A browser with a valid widget session connected; `send` delivers SIP messages to it.
    /// `userAgent` is the browser's, from the WebSocket upgrade request.
    func connect(session: WidgetSession, widget: Widget, userAgent: String?, send: @escaping @Sendable ([UInt8]) -> Void) async -> (any BrowserConnection)?
}

/// One connected browser: what it sends goes in through ``receive(_:)``.
public protocol BrowserConnection: Sendable {
    func receive(_ bytes: [UInt8])
    func close()
}

/// The media of a call anchored at the gateway: how audio crossed the bridge and the quality
/// each leg saw.
public struct CallMedia: Sendable, Equatable, Codable {
    /// `relay` (same codec both sides) or `transcode`.
    public var mode: String
    public var browserCodec: String?
    public var calleeCodec: String?
    public var browser: CallMediaLeg
    public var callee: CallMediaLeg
    /// Estimated mean opinion score (1–4.5, ITU-T G.107 E-model) of the worse leg.
    public var meanOpinionScore: Double
    /// The video relayed, for calls that had any.
    public var video: CallMediaVideo?

    public init(
        mode: String, browserCodec: String?, calleeCodec: String?, browser: CallMediaLeg, callee: CallMediaLeg, meanOpinionScore: Double,
        video: CallMediaVideo? = nil
    ) {
        self.mode = mode
        self.browserCodec = browserCodec
        self.calleeCodec = calleeCodec
        self.browser = browser
        self.callee = callee
        self.meanOpinionScore = meanOpinionScore
        self.video = video
    }
}

/// The video of a call, relayed between the legs: its codec, the RTP packets each way and the
/// PLI, FIR and NACK messages passed on.
public struct CallMediaVideo: Sendable, Equatable, Codable {
    public var codec: String?
    public var packetsToCallee: Int
    public var packetsToBrowser: Int
    public var feedbackToCallee: Int
    public var feedbackToBrowser: Int

    public init(codec: String?, packetsToCallee: Int, packetsToBrowser: Int, feedbackToCallee: Int, feedbackToBrowser: Int) {
        self.codec = codec
        self.packetsToCallee = packetsToCallee
        self.packetsToBrowser = packetsToBrowser
        self.feedbackToCallee = feedbackToCallee
        self.feedbackToBrowser = feedbackToBrowser
    }
}

/// What one leg of a call's media saw.
public struct CallMediaLeg: Sendable, Equatable, Codable {
    public var packetsReceived: Int
    public var packetsSent: Int
    public var packetsLost: Int
    public var jitterMilliseconds: Double
    public var roundTripMilliseconds: Double?
    /// Packets dropped because SRTP authentication or the replay check failed.
    public var authenticationFailures: Int
    /// The SRTP suite protecting the leg (its SDES name); nil for plain RTP.
    public var srtp: String?

    public init(
        packetsReceived: Int, packetsSent: Int, packetsLost: Int, jitterMilliseconds: Double,
        roundTripMilliseconds: Double?, authenticationFailures: Int, srtp: String? = nil
    ) {
        self.packetsReceived = packetsReceived
        self.packetsSent = packetsSent
        self.packetsLost = packetsLost
        self.jitterMilliseconds = jitterMilliseconds
        self.roundTripMilliseconds = roundTripMilliseconds
        self.authenticationFailures = authenticationFailures
        self.srtp = srtp
    }
}
