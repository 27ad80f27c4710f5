/// A short STUN message held inline (at most ``capacity`` bytes): what the ICE agent answers
/// with, returned by value so that answering never allocates.
public struct STUNDatagram: Sendable {
    /// The largest message a datagram holds.
    public static let capacity = 128

    /// The message length.
    public private(set) var count: Int
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                          UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    /// Writes a message with `body` into a new datagram.
    public init(
        type: STUNMessageType,
        transactionID: STUNTransactionID,
        _ body: (inout STUNMessageWriter) throws(STUNEncodeError) -> Void
    ) throws(STUNEncodeError) {
        count = 0
        storage = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let result: Result<Int, STUNEncodeError> = withUnsafeMutableBytes(of: &storage) { raw in
            do throws(STUNEncodeError) {
                var writer = try STUNMessageWriter(buffer: raw, type: type, transactionID: transactionID)
                try body(&writer)
                return .success(writer.count)
            } catch {
                return .failure(error)
            }
        }
        count = try result.get()
    }

    /// Calls `body` with the message bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = storage
        let result: Result<R, E> = Swift.withUnsafeBytes(of: &copy) { raw in
            do throws(E) {
                return .success(try body(UnsafeRawBufferPointer(rebasing: raw[0..<count])))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The message bytes as an array (allocates).
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }
}
