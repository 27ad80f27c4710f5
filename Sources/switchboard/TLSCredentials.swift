import Foundation
import NIOSSL

/// The server's certificate chain and private key (`--tls-cert`, `--tls-key`), read and checked
/// once at start-up, before anything listens: the HTTP port (HTTPS, WSS) and the SIP/TLS port
/// share them.
struct TLSCredentials {
    /// A TLS server configuration with the chain and the key.
    let serverConfiguration: TLSConfiguration

    /// Why the files cannot be used; each names the flag and the file.
    enum LoadError: Error, CustomStringConvertible {
        case unreadable(flag: String, path: String)
        case noCertificate(path: String)
        case badCertificate(path: String)
        case badKey(path: String)
        case keyDoesNotMatch(certificate: String, key: String)

        var description: String {
            switch self {
            case .unreadable(let flag, let path):
                "\(flag) \(path): the file does not exist or cannot be read"
            case .noCertificate(let path):
                "--tls-cert \(path): no PEM certificate (-----BEGIN CERTIFICATE-----) in the file"
            case .badCertificate(let path):
                "--tls-cert \(path): the PEM certificate cannot be parsed"
            case .badKey(let path):
                "--tls-key \(path): no unencrypted PEM private key in the file"
            case .keyDoesNotMatch(let certificate, let key):
                "--tls-key \(key) is not the private key of the certificate in --tls-cert \(certificate)"
            }
        }
    }

    static func load(certificatePath: String, keyPath: String) throws(LoadError) -> TLSCredentials {
        for (flag, path) in [("--tls-cert", certificatePath), ("--tls-key", keyPath)] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isReadableFile(atPath: path)
            else { throw .unreadable(flag: flag, path: path) }
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw .badCertificate(path: certificatePath)
        }
        guard !chain.isEmpty else { throw .noCertificate(path: certificatePath) }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw .badKey(path: keyPath)
        }
        let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        do {
            // A context that presents the certificate with the key accepts them only when the key
            // is the private half of the certificate's public key.
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .keyDoesNotMatch(certificate: certificatePath, key: keyPath)
        }
        return TLSCredentials(serverConfiguration: configuration)
    }
}
