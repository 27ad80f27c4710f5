import Foundation

/// Test signals and measurements shared by the Media tests.
enum Signals {
    /// A sine tone of `count` samples at `frequency` Hz, peak `amplitude`, starting at sample `start`.
    static func sine(frequency: Double, sampleRate: Double, count: Int, amplitude: Double = 10_000, start: Int = 0) -> [Int16] {
        (0..<count).map { n in
            Int16((amplitude * sin(2 * Double.pi * frequency * Double(n + start) / sampleRate)).rounded())
        }
    }

    /// Root mean square of a signal.
    static func rms<C: Collection>(_ samples: C) -> Double where C.Element == Int16 {
        guard !samples.isEmpty else { return 0 }
        let sum = samples.reduce(0.0) { $0 + Double($1) * Double($1) }
        return (sum / Double(samples.count)).squareRoot()
    }

    /// Amplitude of the `frequency` component of `samples` (single-bin DFT), in sample units.
    static func toneAmplitude(_ samples: ArraySlice<Int16>, frequency: Double, sampleRate: Double) -> Double {
        var re = 0.0, im = 0.0
        for (n, s) in samples.enumerated() {
            let phase = 2 * Double.pi * frequency * Double(n) / sampleRate
            re += Double(s) * cos(phase)
            im += Double(s) * sin(phase)
        }
        return 2 * (re * re + im * im).squareRoot() / Double(samples.count)
    }

    /// Signal-to-noise ratio in dB of `test` against `reference`, after finding the delay (within
    /// `maxDelay` samples) that best aligns them; the first `skip` samples are left out.
    static func snr(reference: [Int16], test: [Int16], maxDelay: Int = 0, skip: Int = 0) -> (snr: Double, delay: Int) {
        var best = (snr: -Double.infinity, delay: 0)
        for delay in 0...maxDelay {
            let count = min(reference.count, test.count - delay) - skip
            guard count > 0 else { continue }
            var signal = 0.0, noise = 0.0
            for n in skip..<(skip + count) {
                let r = Double(reference[n])
                let e = Double(test[n + delay]) - r
                signal += r * r
                noise += e * e
            }
            let value = noise == 0 ? Double.infinity : 10 * log10(signal / noise)
            if value > best.snr { best = (value, delay) }
        }
        return best
    }

    /// Level of `test` relative to `reference` in dB (RMS ratio).
    static func levelDifference(reference: ArraySlice<Int16>, test: ArraySlice<Int16>) -> Double {
        20 * log10(rms(test) / rms(reference))
    }
}
