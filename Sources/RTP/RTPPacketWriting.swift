/// Why an RTP packet cannot be written into a buffer.
public enum RTPWriteError: Error, Equatable, Hashable, Sendable {
    /// The buffer is too small for what was asked.
    case bufferTooSmall
    /// More than 15 CSRCs, or a CSRC after the first extension element.
    case invalidCSRC
    /// The element id or length does not fit the extension form (one-byte: id 1...14, 1...16
    /// bytes; two-byte: id 1...255, 0...255 bytes).
    case invalidExtensionElement
    /// The header extension grew beyond 65535 words.
    case extensionTooLong
    /// The payload was already written.
    case finished
}

/// An RTP packet in a mutable buffer whose fixed-header fields are rewritten in place (a relay
/// mapping payload types, sequence numbers, timestamps and SSRCs between legs). Checks the length
/// and version once; every setter then writes at fixed offsets inside the first 12 bytes.
public struct RTPMutablePacket {
    /// The packet bytes.
    public let bytes: UnsafeMutableRawBufferPointer

    /// A view of the RTP packet in `bytes`.
    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(RTPParseError) {
        guard bytes.count >= RTPHeader.fixedLength else { throw .truncated }
        let version = bytes[0] >> 6
        guard version == 2 else { throw .unsupportedVersion(version) }
        self.bytes = bytes
    }

    /// The marker bit.
    @inlinable
    public var marker: Bool {
        get { bytes[1] & 0x80 != 0 }
        nonmutating set { bytes[1] = (bytes[1] & 0x7F) | (newValue ? 0x80 : 0) }
    }

    /// The payload type (the top bit of a new value is ignored).
    @inlinable
    public var payloadType: UInt8 {
        get { bytes[1] & 0x7F }
        nonmutating set { bytes[1] = (bytes[1] & 0x80) | (newValue & 0x7F) }
    }

    /// The sequence number.
    @inlinable
    public var sequenceNumber: UInt16 {
        get { UnsafeRawBufferPointer(bytes).readUInt16(at: 2) }
        nonmutating set { bytes.writeUInt16(newValue, at: 2) }
    }

    /// The RTP timestamp.
    @inlinable
    public var timestamp: UInt32 {
        get { UnsafeRawBufferPointer(bytes).readUInt32(at: 4) }
        nonmutating set { bytes.writeUInt32(newValue, at: 4) }
    }

    /// The synchronisation source.
    @inlinable
    public var ssrc: UInt32 {
        get { UnsafeRawBufferPointer(bytes).readUInt32(at: 8) }
        nonmutating set { bytes.writeUInt32(newValue, at: 8) }
    }

    /// Writes all of `fields`.
    @inlinable
    public func rewrite(_ fields: RTPHeaderFields) {
        marker = fields.marker
        payloadType = fields.payloadType
        sequenceNumber = fields.sequenceNumber
        timestamp = fields.timestamp
        ssrc = fields.ssrc
    }

    /// Removes the header extension (if any) in place: moves the payload and padding down and
    /// clears the extension bit. Returns the new packet length (the first bytes of ``bytes``).
    @inlinable
    public func removeExtension() throws(RTPParseError) -> Int {
        let header = try RTPHeader(parsing: UnsafeRawBufferPointer(bytes))
        guard header.hasExtension, let base = bytes.baseAddress else { return bytes.count }
        let extensionStart = header.extensionData.lowerBound - 4
        let tail = bytes.count - header.payloadOffset
        (base + extensionStart).copyMemory(from: base + header.payloadOffset, byteCount: tail)
        bytes[0] &= ~0x10
        return extensionStart + tail
    }
}

/// Builds a new RTP packet in a caller-owned buffer: the fixed header, then optional CSRCs, then
/// optional header extension elements (RFC 8285, for example the BUNDLE MID), then the payload.
/// Does not allocate.
///
/// ```swift
/// var writer = try RTPPacketWriter(into: buffer, fields: fields)
/// try writer.appendExtensionElement(id: midID, data: mid)
/// let length = try writer.finish(payload: payload)
/// ```
public struct RTPPacketWriter {
    @usableFromInline let buffer: UnsafeMutableRawBufferPointer
    @usableFromInline let form: RTPHeaderExtensionForm
    @usableFromInline var written: Int
    /// The bytes written so far.
    @inlinable public var count: Int { written }
    @usableFromInline var extensionHeaderOffset: Int?
    @usableFromInline var isFinished = false

    /// Starts a packet with `fields` at the beginning of `buffer`; extension elements, if any are
    /// appended, use `extensionForm`.
    @inlinable
    public init(
        into buffer: UnsafeMutableRawBufferPointer,
        fields: RTPHeaderFields,
        extensionForm: RTPHeaderExtensionForm = .oneByte
    ) throws(RTPWriteError) {
        guard buffer.count >= RTPHeader.fixedLength else { throw .bufferTooSmall }
        buffer[0] = 0x80
        buffer[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7F)
        buffer.writeUInt16(fields.sequenceNumber, at: 2)
        buffer.writeUInt32(fields.timestamp, at: 4)
        buffer.writeUInt32(fields.ssrc, at: 8)
        self.buffer = buffer
        self.form = extensionForm
        self.written = RTPHeader.fixedLength
    }

    /// Appends a CSRC identifier; only before any extension element.
    @inlinable
    public mutating func appendCSRC(_ csrc: UInt32) throws(RTPWriteError) {
        guard !isFinished else { throw .finished }
        guard extensionHeaderOffset == nil, buffer[0] & 0x0F < 15 else { throw .invalidCSRC }
        guard written + 4 <= buffer.count else { throw .bufferTooSmall }
        buffer.writeUInt32(csrc, at: written)
        buffer[0] += 1
        written += 4
    }

    /// Appends a header extension element with `id` and `data`.
    @inlinable
    public mutating func appendExtensionElement(id: UInt8, data: UnsafeRawBufferPointer) throws(RTPWriteError) {
        guard !isFinished else { throw .finished }
        let elementHeader: Int
        switch form {
        case .oneByte:
            guard (1...14).contains(id), (1...16).contains(data.count) else { throw .invalidExtensionElement }
            elementHeader = 1
        case .twoByte:
            guard id != 0, data.count <= 255 else { throw .invalidExtensionElement }
            elementHeader = 2
        }
        let headerBytes = extensionHeaderOffset == nil ? 4 : 0
        let end = written + headerBytes + elementHeader + data.count
        guard end <= buffer.count else { throw .bufferTooSmall }
        let startOffset = extensionHeaderOffset ?? written
        guard (end - startOffset - 4 + 3) / 4 <= Int(UInt16.max) else { throw .extensionTooLong }
        if extensionHeaderOffset == nil {
            buffer.writeUInt16(form.profile, at: written)
            buffer.writeUInt16(0, at: written + 2)
            extensionHeaderOffset = written
            buffer[0] |= 0x10
            written += 4
        }
        switch form {
        case .oneByte:
            buffer[written] = id << 4 | UInt8(data.count - 1)
        case .twoByte:
            buffer[written] = id
            buffer[written + 1] = UInt8(data.count)
        }
        written += elementHeader
        buffer.copy(data, to: written)
        written += data.count
    }

    /// Appends a header extension element with `id` and the bytes of `data` (for example a
    /// MID string's `utf8` view).
    @inlinable
    public mutating func appendExtensionElement(id: UInt8, bytes data: some Collection<UInt8>) throws(RTPWriteError) {
        var result: Result<Void, RTPWriteError> = .success(())
        let handled: Void? = data.withContiguousStorageIfAvailable { storage in
            do throws(RTPWriteError) {
                try appendExtensionElement(id: id, data: UnsafeRawBufferPointer(storage))
            } catch {
                result = .failure(error)
            }
        }
        if handled == nil {
            // Not contiguous: elements are at most 255 bytes, so stage them on the stack.
            guard data.count <= 255 else { throw .invalidExtensionElement }
            withUnsafeTemporaryAllocation(byteCount: 256, alignment: 1) { scratch in
                var index = 0
                for byte in data {
                    scratch[index] = byte
                    index += 1
                }
                do throws(RTPWriteError) {
                    try appendExtensionElement(id: id, data: UnsafeRawBufferPointer(rebasing: scratch[0..<index]))
                } catch {
                    result = .failure(error)
                }
            }
        }
        try result.get()
    }

    /// Copies the extension elements of a parsed packet for which `keep` returns true (a relay
    /// forwarding only the extensions the other leg negotiated).
    @inlinable
    public mutating func appendExtensionElements(
        of header: RTPHeader,
        in packet: UnsafeRawBufferPointer,
        where keep: (UInt8) -> Bool = { _ in true }
    ) throws(RTPWriteError) {
        for element in header.extensionElements(in: packet) where keep(element.id) {
            try appendExtensionElement(id: element.id, data: UnsafeRawBufferPointer(rebasing: packet[element.data]))
        }
    }

    /// Pads the extension to a word boundary, copies `payload` after the header, and returns the
    /// length of the packet. `paddingLength` (0...255) adds RTP padding (RFC 3550 §5.1).
    @inlinable
    public mutating func finish(payload: UnsafeRawBufferPointer, paddingLength: Int = 0) throws(RTPWriteError) -> Int {
        guard !isFinished else { throw .finished }
        guard (0...255).contains(paddingLength) else { throw .bufferTooSmall }
        var extensionPadding = 0
        if let start = extensionHeaderOffset {
            extensionPadding = (4 - (written - start) % 4) % 4
        }
        let total = written + extensionPadding + payload.count + paddingLength
        guard total <= buffer.count else { throw .bufferTooSmall }
        for index in 0..<extensionPadding {
            buffer[written + index] = 0
        }
        written += extensionPadding
        if let start = extensionHeaderOffset {
            buffer.writeUInt16(UInt16(truncatingIfNeeded: (written - start - 4) / 4), at: start + 2)
        }
        buffer.copy(payload, to: written)
        written += payload.count
        if paddingLength > 0 {
            for index in 0..<(paddingLength - 1) {
                buffer[written + index] = 0
            }
            buffer[written + paddingLength - 1] = UInt8(paddingLength)
            buffer[0] |= 0x20
            written += paddingLength
        }
        isFinished = true
        return written
    }
}
