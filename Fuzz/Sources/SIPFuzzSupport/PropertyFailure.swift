/// Stops the process with a report when a fuzzed property does not hold. libFuzzer treats the
/// trap as a crash and saves the input that caused it.
public func propertyFailure(_ property: String, _ details: String = "", file: StaticString = #fileID, line: UInt = #line) -> Never {
    var report = "PROPERTY FAILED: \(property)"
    if !details.isEmpty { report += "\n" + details }
    fatalError(report, file: file, line: line)
}

/// Bytes as an escaped string literal for reports, cut after `limit` bytes.
public func quoted(_ bytes: some Collection<UInt8>, limit: Int = 2048) -> String {
    let text = String(decoding: bytes.prefix(limit), as: UTF8.self).debugDescription
    return bytes.count > limit ? text + " ... (\(bytes.count) bytes)" : text
}
