import Foundation
import Testing
import XMLRPC

/// The HTTP layer uses Foundation: it must be able to import XMLRPC beside it (libxml2's
/// headers, which pull in the system ICU, stay behind XMLRPC's internal import).
@Suite("XMLRPC beside Foundation")
struct FoundationInteropTests {
    @Test func decodesFromData() throws {
        let data = Data(XMLRPCEncoder.methodCall("widgets.get", params: [.string("wgt_1"), .dateTime(XMLRPCDateTime(secondsSince1970: 86_400))]))
        let call = try XMLRPCDecoder.methodCall([UInt8](data))
        #expect(call.methodName == "widgets.get")
        let date = Date(timeIntervalSince1970: TimeInterval(call.params[1].dateTimeValue!.secondsSince1970))
        #expect(date == Date(timeIntervalSince1970: 86_400))
        #expect(String(data: Data(XMLRPCEncoder.response(.bool(true))), encoding: .utf8)?.hasPrefix("<?xml version=\"1.0\"?>") == true)
    }

    @Test func matchesFoundationISO8601() throws {
        let formatter = ISO8601DateFormatter()
        let date = try #require(formatter.date(from: "1998-07-17T14:08:55Z"))
        #expect(XMLRPCDateTime(iso8601: "19980717T14:08:55")?.secondsSince1970 == Int64(date.timeIntervalSince1970))
    }
}
