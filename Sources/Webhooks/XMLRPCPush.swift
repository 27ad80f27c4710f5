import Control
import Foundation
import XMLRPC
import XMLRPCJSON

/// The XML-RPC form of a delivery: a call of the subscription's method with one parameter, the
/// envelope as a struct (`createdAt` as dateTime.iso8601).
enum XMLRPCPush {
    static func body(method: String, event: Event) -> [UInt8] {
        let data = XMLRPCJSON.value(fromJSONText: Array(event.dataJSON.utf8)) ?? .structure(XMLRPCStruct())
        let envelope = XMLRPCStruct([
            ("id", .string(event.id)),
            ("type", .string(event.type)),
            ("createdAt", .dateTime(XMLRPCDateTime(secondsSince1970: Int64(event.createdAt.timeIntervalSince1970.rounded(.down))))),
            ("sequence", .int(event.sequence)),
            ("data", data),
        ])
        return XMLRPCEncoder.methodCall(method, params: [.structure(envelope)])
    }

    /// The fault (as text) when the endpoint's answer is an XML-RPC fault or not XML-RPC at all.
    static func fault(in answer: [UInt8]) -> String? {
        do {
            _ = try XMLRPCDecoder.methodResponse(answer)
            return nil
        } catch {
            return "the endpoint answered XML-RPC fault \(error.code): \(error.message)"
        }
    }
}
