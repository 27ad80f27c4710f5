internal import CSwitchboardOpenSSL

/// OpenSSL's per-thread error queue.
enum OpenSSLErrorQueue {
    /// Drains the queue and returns its reasons, oldest first, joined by "; ", or `fallback`.
    static func drain(fallback: String) -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var text = [CChar](repeating: 0, count: 256)
            text.withUnsafeMutableBufferPointer { ERR_error_string_n(code, $0.baseAddress, $0.count) }
            let reason = text.withUnsafeBufferPointer { buffer in
                buffer.baseAddress.map { String(cString: $0) } ?? ""
            }
            reasons.append(reason)
        }
        return reasons.isEmpty ? fallback : reasons.joined(separator: "; ")
    }

    /// Forgets whatever an earlier call left.
    static func clear() { ERR_clear_error() }
}
