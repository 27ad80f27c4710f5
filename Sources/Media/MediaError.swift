/// A failure in the audio layer: a buffer of the wrong size, an unsupported configuration, or an
/// error reported by libopus.
public enum MediaError: Error, Equatable, Sendable {
    /// The caller's output buffer cannot hold the result; `needed` is the size required.
    case outputBufferTooSmall(needed: Int)
    /// The input frame has a sample count the codec or chain cannot take.
    case unsupportedFrameSize(Int)
    /// A sample rate other than 8000, 16000 or 48000 Hz.
    case unsupportedSampleRate(Int)
    /// A configuration value out of its range (for example an Opus complexity above 10).
    case invalidConfiguration(String)
    /// libopus returned this error code (one of the `OPUS_*` error constants).
    case opus(code: Int32)
}
