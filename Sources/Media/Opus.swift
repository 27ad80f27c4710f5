internal import CSwitchboardOpus

/// An Opus encoder (RFC 6716) through libopus: 48 kHz mono, tuned for voice (`OPUS_APPLICATION_VOIP`).
///
/// Owns the libopus state and frees it on deinit. Not thread-safe: one per direction of a call,
/// used from one event loop. Encoding allocates nothing.
public final class OpusEncoder {
    /// Encoder settings; the defaults suit a WebRTC leg.
    public struct Configuration: Sendable, Equatable {
        /// Target bitrate in bit/s (500...512000).
        public var bitrate: Int
        /// Computational complexity, 0 (cheapest) ... 10 (best quality). The default, 8, is chosen
        /// from `Benchmarks/transcoding.sh`: for G.711 audio going to Opus at 32 kb/s it scores
        /// the same PESQ-NB as 10 (about 3.77, against 3.1-3.2 at 5 and 2.3 at 0) for about the
        /// same CPU (some 0.6 ms per 20 ms frame on the benchmark machine, 1.7 times complexity 5).
        public var complexity: Int
        /// Whether to embed forward error correction (LBRR) data for the previous frame.
        public var inBandFEC: Bool
        /// Packet loss the encoder should expect, in percent (0...100); drives how much FEC it sends.
        public var expectedPacketLossPercent: Int
        /// Discontinuous transmission: during silence, frames of at most 2 bytes that need not be sent.
        public var discontinuousTransmission: Bool

        /// Settings with the given values; see each property.
        public init(
            bitrate: Int = 32_000,
            complexity: Int = 8,
            inBandFEC: Bool = true,
            expectedPacketLossPercent: Int = 10,
            discontinuousTransmission: Bool = false
        ) {
            self.bitrate = bitrate
            self.complexity = complexity
            self.inBandFEC = inBandFEC
            self.expectedPacketLossPercent = expectedPacketLossPercent
            self.discontinuousTransmission = discontinuousTransmission
        }
    }

    /// The sample rate of the PCM the encoder takes.
    public static let sampleRate = 48_000
    /// The largest payload `encode` writes (RFC 6716 §3.4 bounds a frame at 1275 bytes; a packet
    /// of one frame stays within this).
    public static let maximumPayloadSize = 1_500

    /// The settings in force.
    public let configuration: Configuration
    private let state: OpaquePointer
    private let channels: Int

    /// Creates a mono encoder with `configuration`.
    /// - Throws: `MediaError.invalidConfiguration` for out-of-range settings, `MediaError.opus` when
    ///   libopus refuses them.
    public convenience init(configuration: Configuration = Configuration()) throws(MediaError) {
        try self.init(configuration: configuration, channels: 1)
    }

    /// An encoder of `channels` interleaved channels (tests use stereo to exercise downmixing).
    init(configuration: Configuration, channels: Int) throws(MediaError) {
        guard channels == 1 || channels == 2 else {
            throw .invalidConfiguration("\(channels) channels; Opus takes 1 or 2")
        }
        guard (500...512_000).contains(configuration.bitrate) else {
            throw .invalidConfiguration("bitrate \(configuration.bitrate) outside 500...512000")
        }
        guard (0...10).contains(configuration.complexity) else {
            throw .invalidConfiguration("complexity \(configuration.complexity) outside 0...10")
        }
        guard (0...100).contains(configuration.expectedPacketLossPercent) else {
            throw .invalidConfiguration("packet loss \(configuration.expectedPacketLossPercent)% outside 0...100")
        }
        var error: Int32 = OPUS_OK
        guard let state = opus_encoder_create(Int32(Self.sampleRate), Int32(channels), OPUS_APPLICATION_VOIP, &error),
              error == OPUS_OK
        else { throw .opus(code: error) }
        self.state = state
        self.configuration = configuration
        self.channels = channels
        let results = [
            cswitchboard_opus_set_bitrate(state, Int32(configuration.bitrate)),
            cswitchboard_opus_set_complexity(state, Int32(configuration.complexity)),
            cswitchboard_opus_set_inband_fec(state, configuration.inBandFEC ? 1 : 0),
            cswitchboard_opus_set_packet_loss_perc(state, Int32(configuration.expectedPacketLossPercent)),
            cswitchboard_opus_set_dtx(state, configuration.discontinuousTransmission ? 1 : 0),
            cswitchboard_opus_set_signal_voice(state),
        ]
        if let failure = results.first(where: { $0 != OPUS_OK }) {
            opus_encoder_destroy(state)
            throw .opus(code: failure)
        }
    }

    deinit {
        opus_encoder_destroy(state)
    }

    /// The encoder's look-ahead in samples at 48 kHz (its algorithmic delay beyond the frame).
    public var lookahead: Int {
        var value: Int32 = 0
        _ = cswitchboard_opus_get_lookahead(state, &value)
        return Int(value)
    }

    /// Whether `count` samples at 48 kHz is a frame duration Opus encodes (2.5, 5, 10, 20, 40 or 60 ms).
    public static func isValidFrameSize(_ count: Int) -> Bool {
        switch count {
        case 120, 240, 480, 960, 1920, 2880: true
        default: false
        }
    }

    /// Encodes one frame of 48 kHz mono PCM into `payload`; returns the payload size in bytes.
    /// With discontinuous transmission on, a result of 2 bytes or fewer is a silence frame that
    /// need not be sent.
    /// - Throws: `MediaError.unsupportedFrameSize` unless `pcm` is 2.5, 5, 10, 20, 40 or 60 ms;
    ///   `MediaError.opus` when libopus fails (for example `OPUS_BUFFER_TOO_SMALL`).
    public func encode(
        _ pcm: UnsafeBufferPointer<Int16>,
        into payload: UnsafeMutableRawBufferPointer
    ) throws(MediaError) -> Int {
        let frameSize = pcm.count / channels
        guard Self.isValidFrameSize(frameSize), frameSize * channels == pcm.count, let input = pcm.baseAddress else {
            throw .unsupportedFrameSize(pcm.count)
        }
        guard let output = payload.baseAddress, !payload.isEmpty else { throw .outputBufferTooSmall(needed: 1) }
        let result = opus_encode(
            state, input, Int32(frameSize),
            output.assumingMemoryBound(to: UInt8.self), Int32(clamping: payload.count)
        )
        guard result >= 0 else { throw .opus(code: result) }
        return Int(result)
    }

    /// Forgets all history, as for a new stream (settings are kept).
    public func reset() {
        _ = cswitchboard_opus_encoder_reset_state(state)
    }
}

/// An Opus decoder through libopus: decodes any Opus stream (mono or stereo, any internal
/// bandwidth) to 48 kHz mono, conceals lost frames and recovers them from in-band FEC.
///
/// Owns the libopus state and frees it on deinit. Not thread-safe: one per direction of a call.
/// Decoding allocates nothing.
public final class OpusDecoder {
    /// The sample rate of the PCM the decoder writes.
    public static let sampleRate = 48_000
    /// The longest frame a packet can carry: 120 ms at 48 kHz.
    public static let maximumFrameSize = 5_760

    private let state: OpaquePointer

    /// Creates a decoder producing 48 kHz mono.
    /// - Throws: `MediaError.opus` when libopus cannot create its state.
    public init() throws(MediaError) {
        var error: Int32 = OPUS_OK
        guard let state = opus_decoder_create(Int32(Self.sampleRate), 1, &error), error == OPUS_OK else {
            throw .opus(code: error)
        }
        self.state = state
    }

    deinit {
        opus_decoder_destroy(state)
    }

    /// The number of 48 kHz samples `payload` decodes to, or nil when its TOC is invalid.
    public static func sampleCount(of payload: UnsafeRawBufferPointer) -> Int? {
        guard let base = payload.baseAddress, !payload.isEmpty else { return nil }
        let result = opus_packet_get_nb_samples(
            base.assumingMemoryBound(to: UInt8.self), Int32(clamping: payload.count), Int32(sampleRate)
        )
        return result > 0 ? Int(result) : nil
    }

    /// Decodes one packet into `pcm`; returns the number of samples written (48 kHz mono).
    /// - Throws: `MediaError.opus` for a corrupt packet or a `pcm` too short for it
    ///   (`OPUS_BUFFER_TOO_SMALL`), `MediaError.outputBufferTooSmall` for an empty `pcm`.
    public func decode(
        _ payload: UnsafeRawBufferPointer,
        into pcm: UnsafeMutableBufferPointer<Int16>
    ) throws(MediaError) -> Int {
        guard let input = payload.baseAddress, !payload.isEmpty else { throw .opus(code: OPUS_INVALID_PACKET) }
        return try run(input.assumingMemoryBound(to: UInt8.self), Int32(clamping: payload.count), pcm, pcm.count, fec: false)
    }

    /// Conceals one missing frame of `frameSize` samples (packet-loss concealment) into `pcm`;
    /// returns `frameSize`.
    /// - Throws: `MediaError.unsupportedFrameSize` unless `frameSize` is a multiple of 2.5 ms up to
    ///   120 ms that fits in `pcm`; `MediaError.opus` if libopus fails.
    public func concealLoss(
        frameSize: Int,
        into pcm: UnsafeMutableBufferPointer<Int16>
    ) throws(MediaError) -> Int {
        try checkConcealedSize(frameSize, pcm)
        return try run(nil, 0, pcm, frameSize, fec: false)
    }

    /// Recovers a missing frame of `frameSize` samples from the in-band FEC data of the packet
    /// that follows it (`nextPayload`), into `pcm`; returns `frameSize`. When `nextPayload` has no
    /// FEC data, libopus conceals instead. Decode `nextPayload` itself normally afterwards.
    /// - Throws: as `concealLoss(frameSize:into:)`, and `MediaError.opus` for a corrupt packet.
    public func recoverLoss(
        frameSize: Int,
        fromNext nextPayload: UnsafeRawBufferPointer,
        into pcm: UnsafeMutableBufferPointer<Int16>
    ) throws(MediaError) -> Int {
        try checkConcealedSize(frameSize, pcm)
        guard let input = nextPayload.baseAddress, !nextPayload.isEmpty else {
            return try run(nil, 0, pcm, frameSize, fec: false)
        }
        return try run(input.assumingMemoryBound(to: UInt8.self), Int32(clamping: nextPayload.count), pcm, frameSize, fec: true)
    }

    /// Forgets all history, as for a new stream.
    public func reset() {
        _ = cswitchboard_opus_decoder_reset_state(state)
    }

    private func checkConcealedSize(_ frameSize: Int, _ pcm: UnsafeMutableBufferPointer<Int16>) throws(MediaError) {
        guard frameSize > 0, frameSize % 120 == 0, frameSize <= Self.maximumFrameSize else {
            throw .unsupportedFrameSize(frameSize)
        }
        guard pcm.count >= frameSize else { throw .outputBufferTooSmall(needed: frameSize) }
    }

    private func run(
        _ input: UnsafePointer<UInt8>?, _ length: Int32,
        _ pcm: UnsafeMutableBufferPointer<Int16>, _ frameSize: Int, fec: Bool
    ) throws(MediaError) -> Int {
        guard let output = pcm.baseAddress, frameSize > 0 else { throw .outputBufferTooSmall(needed: 1) }
        let result = opus_decode(state, input, length, output, Int32(clamping: frameSize), fec ? 1 : 0)
        guard result >= 0 else { throw .opus(code: result) }
        return Int(result)
    }
}
