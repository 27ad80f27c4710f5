#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A streaming sample-rate converter between 8000, 16000 and 48000 Hz: a polyphase FIR with a
/// Kaiser-windowed sinc prototype.
///
/// The pass band is flat to 0.9 of the lower Nyquist frequency (ripple well under 0.1 dB), the
/// stop band starts at 1.1 of it and is at least 70 dB down. History is kept across calls, so a
/// stream converted frame by frame is sample-for-sample what one call over the whole stream gives.
/// Buffers are allocated once at creation; `process` allocates nothing. One per stream direction.
public final class Resampler {
    /// The rate of the samples `process` takes, in Hz.
    public let inputRate: Int
    /// The rate of the samples `process` writes, in Hz.
    public let outputRate: Int
    /// The delay the filter adds (its group delay), in output samples.
    public let latencyInOutputSamples: Double

    /// Upsampling factor L and downsampling factor M: output rate = input rate × L / M.
    private let up: Int, down: Int
    /// Taps per polyphase branch (a multiple of 8 for the vector loop).
    private let taps: Int
    /// `up` branches of `taps` coefficients each, every branch stored time-reversed.
    private let coefficients: UnsafeMutableBufferPointer<Float>
    /// `taps - 1` samples of history followed by room for one chunk of input.
    private let work: UnsafeMutableBufferPointer<Float>
    /// Position of the next output, in units of 1/L input samples from the chunk start.
    private var position = 0

    /// Input is converted in chunks of at most this many samples (120 ms at 48 kHz).
    private static let chunk = 5_760

    /// Creates a converter from `inputRate` to `outputRate`.
    /// - Throws: `MediaError.unsupportedSampleRate` unless both are 8000, 16000 or 48000.
    public init(from inputRate: Int, to outputRate: Int) throws(MediaError) {
        for rate in [inputRate, outputRate] where ![8_000, 16_000, 48_000].contains(rate) {
            throw .unsupportedSampleRate(rate)
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        let divisor = Self.greatestCommonDivisor(inputRate, outputRate)
        up = outputRate / divisor
        down = inputRate / divisor

        // The prototype runs at input rate × L and cuts off at the lower Nyquist frequency.
        let prototypeRate = Double(inputRate * up)
        let nyquist = Double(min(inputRate, outputRate)) / 2
        let transition = 0.2 * nyquist
        let attenuation = 75.0
        let width = 2 * Double.pi * transition / prototypeRate
        let minimumLength = Int(((attenuation - 8) / (2.285 * width)).rounded(.up)) + 1
        taps = ((minimumLength + up - 1) / up + 7) & ~7
        let length = taps * up
        let beta = 0.1102 * (attenuation - 8.7)
        let centre = Double(length - 1) / 2
        let cutoff = nyquist / prototypeRate  // cycles per prototype sample
        var prototype = [Double](repeating: 0, count: length)
        for n in 0..<length {
            let t = Double(n) - centre
            let sinc = t == 0 ? 2 * cutoff : sin(2 * Double.pi * cutoff * t) / (Double.pi * t)
            let ratio = t / centre
            prototype[n] = sinc * Self.besselI0(beta * (1 - ratio * ratio).squareRoot()) / Self.besselI0(beta)
        }
        let gain = Double(up) / prototype.reduce(0, +)
        coefficients = .allocate(capacity: length)
        for phase in 0..<up {
            for index in 0..<taps {
                coefficients[phase * taps + index] = Float(prototype[phase + (taps - 1 - index) * up] * gain)
            }
        }
        work = .allocate(capacity: taps - 1 + Self.chunk)
        work.initialize(repeating: 0)
        // The prototype's centre, `centre` samples at input rate × L, is centre / M output samples.
        latencyInOutputSamples = centre / Double(down)
    }

    deinit {
        coefficients.deallocate()
        work.deallocate()
    }

    /// The filter delay as a duration.
    public var latency: Duration {
        .nanoseconds(Int64((latencyInOutputSamples / Double(outputRate) * 1e9).rounded()))
    }

    /// How many samples the next `process` call writes for `inputCount` input samples.
    /// For frames of whole milliseconds this is exactly `inputCount × outputRate / inputRate`.
    public func outputCount(forInputCount inputCount: Int) -> Int {
        let end = inputCount * up
        return end > position ? (end - position + down - 1) / down : 0
    }

    /// Converts `input` and writes the result to `output`; returns the number of samples written
    /// (`outputCount(forInputCount:)`).
    /// - Throws: `MediaError.outputBufferTooSmall` when `output` is shorter than that; nothing is
    ///   consumed then.
    public func process(
        _ input: UnsafeBufferPointer<Int16>,
        into output: UnsafeMutableBufferPointer<Int16>
    ) throws(MediaError) -> Int {
        let needed = outputCount(forInputCount: input.count)
        guard output.count >= needed else { throw .outputBufferTooSmall(needed: needed) }
        var written = 0
        var start = 0
        while start < input.count {
            let count = min(Self.chunk, input.count - start)
            written += convertChunk(UnsafeBufferPointer(rebasing: input[start..<start + count]), output, written)
            start += count
        }
        return written
    }

    /// Forgets the history, as for a new stream.
    public func reset() {
        work.update(repeating: 0)
        position = 0
    }

    private func convertChunk(
        _ input: UnsafeBufferPointer<Int16>,
        _ output: UnsafeMutableBufferPointer<Int16>,
        _ offset: Int
    ) -> Int {
        let history = taps - 1
        guard let samples = work.baseAddress, let filter = coefficients.baseAddress else { return 0 }
        for index in 0..<input.count {
            samples[history + index] = Float(input[index])
        }
        let end = input.count * up
        var written = offset
        var position = self.position
        while position < end, written < output.count {
            let newest = position / up
            let branch = filter + (position - newest * up) * taps
            let window = samples + newest
            var sum = SIMD8<Float>()
            var tap = 0
            while tap < taps {
                let x = UnsafeRawPointer(window + tap).loadUnaligned(as: SIMD8<Float>.self)
                let h = UnsafeRawPointer(branch + tap).loadUnaligned(as: SIMD8<Float>.self)
                // Multiply then add: a fused multiply-add would call fmaf per lane on x86-64 builds without FMA.
                sum += x * h
                tap += 8
            }
            let value = sum.sum().rounded()
            output[written] = Int16(value > 32767 ? 32767 : value < -32768 ? -32768 : value)
            written += 1
            position += down
        }
        self.position = position - end
        samples.update(from: samples + input.count, count: history)
        return written - offset
    }

    private static func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int {
        b == 0 ? a : greatestCommonDivisor(b, a % b)
    }

    /// The modified Bessel function of the first kind, order 0 (power series).
    private static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        while term > 1e-12 * sum {
            term *= (x / (2 * k)) * (x / (2 * k))
            sum += term
            k += 1
        }
        return sum
    }
}
