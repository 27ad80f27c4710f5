/// One direction of a transcoded call: takes payloads of one codec and writes payloads of
/// another (decode → tap → resample → encode), one output frame per input frame of the same
/// duration, concealing frames that are missing.
///
/// All buffers and codec states are made at creation; transcoding allocates nothing, takes no
/// lock and dispatches through no existential. Not thread-safe: use one per direction, from the
/// event loop that handles the call's media. RTP headers and telephone-event are the RTP
/// module's business; this sees payloads only.
public final class Transcoder {
    /// The codec of the payloads `transcode` takes.
    public let source: AudioCodec
    /// The codec of the payloads `transcode` writes.
    public let destination: AudioCodec
    /// The PCM tap between decoding and encoding, at `tapSampleRate`.
    public let tap: PCMTap?
    /// Sample rate of the frames the tap sees: the source codec's.
    public var tapSampleRate: Int { source.sampleRate }

    /// Longest frame handled: 120 ms.
    public static let maximumFrameDuration = Duration.milliseconds(120)
    /// An output buffer of this many bytes is always large enough.
    public static let maximumPayloadSize = OpusEncoder.maximumPayloadSize

    private var g722Decoder = G722Decoder()
    private var g722Encoder = G722Encoder()
    private let opusDecoder: OpusDecoder?
    private let opusEncoder: OpusEncoder?
    private let resampler: Resampler?
    /// Decoded PCM at the source rate (what the tap sees).
    private let decoded: UnsafeMutableBufferPointer<Int16>
    /// The last decoded frame, for concealing losses of codecs without their own concealment.
    private let lastFrame: UnsafeMutableBufferPointer<Int16>
    private var lastFrameCount = 0
    /// PCM at the destination rate.
    private let resampled: UnsafeMutableBufferPointer<Int16>
    /// Consecutive frames concealed since the last one received.
    private var consecutiveLosses = 0
    /// Samples (at the source rate) in the last frame seen; a missing frame is assumed as long.
    private var frameSamples: Int

    /// Creates the chain from `source` to `destination`.
    /// - Parameters:
    ///   - opus: settings for the Opus encoder, when `destination` is Opus.
    ///   - tap: the PCM tap, if the call is recorded, mixed or played to.
    /// - Throws: `MediaError` when the Opus state cannot be made or `opus` is out of range.
    public init(
        from source: AudioCodec,
        to destination: AudioCodec,
        opus: OpusEncoder.Configuration = OpusEncoder.Configuration(),
        tap: PCMTap? = nil
    ) throws(MediaError) {
        self.source = source
        self.destination = destination
        self.tap = tap
        opusDecoder = source.name == .opus ? try OpusDecoder() : nil
        opusEncoder = destination.name == .opus ? try OpusEncoder(configuration: opus) : nil
        resampler = source.sampleRate == destination.sampleRate
            ? nil : try Resampler(from: source.sampleRate, to: destination.sampleRate)
        let longest = 48_000 * 120 / 1_000
        decoded = .allocate(capacity: longest)
        decoded.initialize(repeating: 0)
        lastFrame = .allocate(capacity: longest)
        lastFrame.initialize(repeating: 0)
        resampled = .allocate(capacity: longest + 8)
        resampled.initialize(repeating: 0)
        frameSamples = source.samplesPerFrame
    }

    deinit {
        decoded.deallocate()
        lastFrame.deallocate()
        resampled.deallocate()
    }

    /// Samples, at the source rate, of the last frame transcoded or made up: the time the
    /// frame just encoded covers.
    public var lastFrameSamples: Int { frameSamples }

    /// The filter delay the chain adds beyond the codecs' own.
    public var resamplingLatency: Duration { resampler?.latency ?? .zero }

    /// Transcodes one received payload into `output`; returns the bytes written.
    /// - Throws: `MediaError.opus` for a corrupt Opus packet, `MediaError.unsupportedFrameSize`
    ///   for a frame longer than 120 ms or (towards Opus) not 10, 20, 40 or 60 ms,
    ///   `MediaError.outputBufferTooSmall` when `output` is too short.
    public func transcode(
        _ payload: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(MediaError) -> Int {
        let count = try decode(payload)
        consecutiveLosses = 0
        frameSamples = count
        if opusDecoder == nil {
            for index in 0..<count { lastFrame[index] = decoded[index] }
            lastFrameCount = count
        }
        return try finish(count, origin: .decoded, into: output)
    }

    /// Makes up the frame that should have come before the next one and encodes it into
    /// `output`; returns the bytes written. From Opus, the frame is recovered from the in-band
    /// FEC data of `next` (the following payload, when it has already arrived) or else
    /// concealed by libopus; from G.711 or G.722, the last frame is repeated, fading by 6 dB a
    /// frame, then silence. The missing frame is assumed as long as the last one received.
    /// - Throws: as `transcode(_:into:)`.
    public func transcodeMissingFrame(
        next: UnsafeRawBufferPointer? = nil,
        into output: UnsafeMutableRawBufferPointer
    ) throws(MediaError) -> Int {
        let count = frameSamples
        consecutiveLosses = min(consecutiveLosses + 1, 64)
        if let opusDecoder {
            let frame = UnsafeMutableBufferPointer(rebasing: decoded[0..<count])
            if let next, !next.isEmpty {
                _ = try opusDecoder.recoverLoss(frameSize: count, fromNext: next, into: frame)
            } else {
                _ = try opusDecoder.concealLoss(frameSize: count, into: frame)
            }
        } else {
            let fading = consecutiveLosses < 4 ? min(count, lastFrameCount) : 0
            let shift = Int16(consecutiveLosses)
            for index in 0..<fading { decoded[index] = lastFrame[index] >> shift }
            for index in fading..<count { decoded[index] = 0 }
        }
        return try finish(count, origin: .concealed, into: output)
    }

    /// Forgets all codec, filter and concealment state, as for a new stream.
    public func reset() {
        g722Decoder.reset()
        g722Encoder.reset()
        opusDecoder?.reset()
        opusEncoder?.reset()
        resampler?.reset()
        consecutiveLosses = 0
        lastFrameCount = 0
        frameSamples = source.samplesPerFrame
    }

    /// Decodes into `decoded`; returns the sample count.
    private func decode(_ payload: UnsafeRawBufferPointer) throws(MediaError) -> Int {
        let longest = source.sampleRate * 120 / 1_000
        switch source.name {
        case .pcmu:
            guard payload.count <= longest else { throw .unsupportedFrameSize(payload.count) }
            return try MuLaw.decode(payload, into: decoded)
        case .pcma:
            guard payload.count <= longest else { throw .unsupportedFrameSize(payload.count) }
            return try ALaw.decode(payload, into: decoded)
        case .g722:
            guard payload.count * 2 <= longest else { throw .unsupportedFrameSize(payload.count * 2) }
            return try g722Decoder.decode(payload, into: decoded)
        case .opus:
            guard let opusDecoder else { throw .opus(code: -1) }
            return try opusDecoder.decode(payload, into: decoded)
        }
    }

    /// Runs the tap, resamples and encodes `count` decoded samples.
    private func finish(_ count: Int, origin: PCMFrameOrigin, into output: UnsafeMutableRawBufferPointer) throws(MediaError) -> Int {
        let frame = UnsafeMutableBufferPointer(rebasing: decoded[0..<count])
        if let tap {
            tap.observe?(UnsafeBufferPointer(frame), origin)
            tap.produce?(frame)
        }
        let pcm: UnsafeBufferPointer<Int16>
        if let resampler {
            let written = try resampler.process(UnsafeBufferPointer(frame), into: resampled)
            pcm = UnsafeBufferPointer(rebasing: resampled[0..<written])
        } else {
            pcm = UnsafeBufferPointer(frame)
        }
        switch destination.name {
        case .pcmu: return try MuLaw.encode(pcm, into: output)
        case .pcma: return try ALaw.encode(pcm, into: output)
        case .g722:
            // G.722 codes sample pairs; frames of whole milliseconds are always even.
            guard pcm.count % 2 == 0 else { throw .unsupportedFrameSize(pcm.count) }
            return try g722Encoder.encode(pcm, into: output)
        case .opus:
            guard let opusEncoder else { throw .opus(code: -1) }
            return try opusEncoder.encode(pcm, into: output)
        }
    }
}
