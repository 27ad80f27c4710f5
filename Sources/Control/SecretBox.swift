import Crypto
import Foundation

/// Seals secrets the gateway must be able to use again (a trunk's digest password) with
/// AES-GCM under the installation's key, kept outside the database (`<data-dir>/secrets.key`).
public struct SecretBox: Sendable {
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// `key` must be 32 bytes (AES-256).
    public init(keyBytes: [UInt8]) { self.keyBytes = keyBytes }

    /// Loads the key file, creating it (mode 0600) with a random key on first use.
    public static func load(keyFile path: String) throws -> SecretBox {
        if let data = FileManager.default.contents(atPath: path), data.count == 32 {
            return SecretBox(keyBytes: [UInt8](data))
        }
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { [UInt8]($0) }
        let data = Data(bytes)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ControlError.unavailable("could not write \(path)")
        }
        return SecretBox(keyBytes: bytes)
    }

    public func seal(_ text: String) throws -> String {
        guard let combined = try AES.GCM.seal(Data(text.utf8), using: key).combined else {
            throw ControlError.unavailable("sealing failed")
        }
        return combined.base64EncodedString()
    }

    public func open(_ sealed: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw ControlError.unavailable("sealed value is corrupt") }
        let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key)
        return String(decoding: plain, as: UTF8.self)
    }
}
