import RTP

/// Runs `body` with a read-only view of `bytes`.
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try bytes.withUnsafeBytes(body)
}

/// The bytes of `range` in `bytes`.
func slice(_ bytes: [UInt8], _ range: Range<Int>) -> [UInt8] {
    Array(bytes[range])
}

/// Hex text such as "80 00 12 34" as bytes (spaces and newlines ignored).
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { $0.isHexDigit }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
