/// Where a frame of PCM at a tap came from.
public enum PCMFrameOrigin: Sendable, Equatable {
    /// Decoded from a received payload.
    case decoded
    /// Made up for a missing frame (packet-loss concealment or FEC recovery).
    case concealed
}

/// A point in a `Transcoder` where PCM can be read and written: between decoding and
/// resampling, at `Transcoder.tapSampleRate` (the source codec's rate), once per frame.
///
/// Per frame the transcoder first calls `observe` with the frame as decoded (a recorder or a
/// conference mixer reads the participant's voice here), then `produce`, which may overwrite the
/// frame or add into it (an announcement player, or the mixer writing the mix this leg should
/// hear); what `produce` leaves is what gets encoded.
///
/// The hooks are plain optional closures on a final class: a call is one indirect call, with no
/// existential, no allocation and no lock. They run on the transcoder's thread, synchronously,
/// so they must be quick and must not keep the buffer pointer. Set or clear them from that
/// same thread.
public final class PCMTap {
    /// Reads one frame (samples, and whether they were decoded or concealed).
    public var observe: ((UnsafeBufferPointer<Int16>, PCMFrameOrigin) -> Void)?
    /// Replaces or mixes into one frame before it is resampled and encoded.
    public var produce: ((UnsafeMutableBufferPointer<Int16>) -> Void)?

    /// A tap with the given hooks (either may be nil).
    public init(
        observe: ((UnsafeBufferPointer<Int16>, PCMFrameOrigin) -> Void)? = nil,
        produce: ((UnsafeMutableBufferPointer<Int16>) -> Void)? = nil
    ) {
        self.observe = observe
        self.produce = produce
    }

    /// Adds `source` into `frame` sample by sample, saturating at the 16-bit limits; a mixing
    /// step for `produce` hooks. Only the overlapping length is mixed.
    public static func mix(_ source: UnsafeBufferPointer<Int16>, into frame: UnsafeMutableBufferPointer<Int16>) {
        for index in 0..<min(source.count, frame.count) {
            let sum = Int32(frame[index]) + Int32(source[index])
            frame[index] = Int16(sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum)
        }
    }
}
