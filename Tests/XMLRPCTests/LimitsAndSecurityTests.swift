import Dispatch
import Testing
import XMLRPC

@Suite("XML-RPC limits and hostile documents")
struct LimitsAndSecurityTests {
    static func nestedArrays(_ depth: Int) -> [UInt8] {
        call(withValue: String(repeating: "<array><data><value>", count: depth) + "<int>1</int>"
            + String(repeating: "</value></data></array>", count: depth))
    }

    static func nestedStructs(_ depth: Int) -> [UInt8] {
        call(withValue: String(repeating: "<struct><member><name>n</name><value>", count: depth) + "leaf"
            + String(repeating: "</value></member></struct>", count: depth))
    }

    @Test func depthLimit() throws {
        #expect(callFault(Self.nestedArrays(32)) == nil)
        let fault = callFault(Self.nestedArrays(33))
        #expect(fault?.code == XMLRPCFault.invalidRequest)
        #expect(fault?.message.contains("nested deeper than the limit of 32") == true, "\(String(describing: fault))")
        #expect(callFault(Self.nestedStructs(32)) == nil)
        #expect(callFault(Self.nestedStructs(33))?.code == XMLRPCFault.invalidRequest)
        var shallow = XMLRPCLimits()
        shallow.maxDepth = 2
        #expect(callFault(Self.nestedArrays(2), limits: shallow) == nil)
        #expect(callFault(Self.nestedArrays(3), limits: shallow)?.code == XMLRPCFault.invalidRequest)
        // Far deeper than libxml2's own limit: a fault either way, never a stack overflow.
        #expect(callFault(Self.nestedArrays(5000))?.code != nil)
    }

    @Test func documentSizeLimit() {
        var limits = XMLRPCLimits()
        limits.maxDocumentBytes = 1000
        let big = call(withValue: "<string>" + String(repeating: "a", count: 1000) + "</string>")
        let fault = callFault(big, limits: limits)
        #expect(fault?.code == XMLRPCFault.invalidRequest)
        #expect(fault?.message.contains("over the limit of 1000 bytes") == true)
        #expect(callFault(call(withValue: "<string>small</string>"), limits: limits) == nil)
        // The default: 1 MiB.
        let huge = call(withValue: "<string>" + String(repeating: "a", count: 1 << 20) + "</string>")
        #expect(callFault(huge)?.code == XMLRPCFault.invalidRequest)
    }

    @Test func elementLimit() {
        var limits = XMLRPCLimits()
        limits.maxElements = 100
        let wide = call(withValue: "<array><data>" + String(repeating: "<value><int>1</int></value>", count: 60) + "</data></array>")
        let fault = callFault(wide, limits: limits)
        #expect(fault?.code == XMLRPCFault.invalidRequest)
        #expect(fault?.message.contains("more than the limit of 100 elements") == true)
        #expect(callFault(wide) == nil)
        let tooMany = call(withValue: "<array><data>" + String(repeating: "<value/>", count: 100_001) + "</data></array>")
        #expect(callFault(tooMany)?.code == XMLRPCFault.invalidRequest)
    }

    /// Wide documents decode in linear time: a struct of 20 000 members, an array of 60 000 values.
    @Test func wideDocumentsAreFast() throws {
        let members = (0..<20_000).map { "<member><name>m\($0)</name><value/></member>" }.joined()
        let clock = ContinuousClock()
        var decoded: XMLRPCMethodCall?
        let elapsed = try clock.measure { decoded = try XMLRPCDecoder.methodCall(call(withValue: "<struct>\(members)</struct>")) }
        #expect(decoded?.params.first?.structValue?.count == 20_000)
        #expect(elapsed < .seconds(5))
        let duplicate = members + "<member><name>m19999</name><value/></member>"
        #expect(callFault(call(withValue: "<struct>\(duplicate)</struct>"))?.message.contains("duplicate struct member name \"m19999\"") == true)
        let values = String(repeating: "<value>1</value>", count: 60_000)
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<array><data>\(values)</data></array>")).params.first?.arrayValue?.count == 60_000)
    }

    @Test func stringLimit() {
        var limits = XMLRPCLimits()
        limits.maxStringBytes = 10
        #expect(callFault(call(withValue: "<string>0123456789</string>"), limits: limits) == nil)
        #expect(callFault(call(withValue: "<string>0123456789A</string>"), limits: limits)?.code == XMLRPCFault.invalidRequest)
        #expect(callFault(call(withValue: "0123456789<![CDATA[A]]>"), limits: limits)?.code == XMLRPCFault.invalidRequest)
        #expect(callFault(call(withValue: "<base64>\(String(repeating: "A", count: 12))</base64>"), limits: limits)?.code == XMLRPCFault.invalidRequest)
    }

    static let billionLaughs = """
        <?xml version="1.0"?>
        <!DOCTYPE methodCall [
          <!ENTITY lol "lol">
          <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
          <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
          <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
          <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
          <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
          <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
          <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
          <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
          <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
        ]>
        <methodCall><methodName>x</methodName><params><param><value><string>&lol9;</string></value></param></params></methodCall>
        """

    @Test func billionLaughsIsAFault() {
        let clock = ContinuousClock()
        var fault: XMLRPCFault?
        let elapsed = clock.measure { fault = callFault(bytes(Self.billionLaughs)) }
        #expect(fault?.code == XMLRPCFault.invalidRequest)
        #expect(fault?.message.contains("DOCTYPE") == true)
        #expect(elapsed < .seconds(1))
        #expect(throws: XMLRPCFault.self) { try XMLRPCDecoder.methodResponse(bytes(Self.billionLaughs)) }
    }

    @Test("external entities are faults, never read", arguments: [
        #"<!DOCTYPE methodCall [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#,
        #"<!DOCTYPE methodCall [<!ENTITY % dtd SYSTEM "file:///etc/passwd"> %dtd;]>"#,
        #"<!DOCTYPE methodCall SYSTEM "file:///etc/passwd">"#,
        #"<!DOCTYPE methodCall PUBLIC "-//x//y" "http://192.0.2.1/evil.dtd">"#,
    ])
    func externalEntity(_ doctype: String) {
        let document = bytes("<?xml version=\"1.0\"?>\n\(doctype)\n<methodCall><methodName>&xxe;</methodName><params><param><value><string>&xxe;</string></value></param></params></methodCall>")
        let faults = [callFault(document), Self.responseFault(document)]
        for fault in faults {
            #expect(fault?.code == XMLRPCFault.invalidRequest)
            #expect(fault?.message.contains("root:") == false, "/etc/passwd leaked into the fault: \(String(describing: fault))")
        }
    }

    static func responseFault(_ document: [UInt8]) -> XMLRPCFault? {
        do {
            _ = try XMLRPCDecoder.methodResponse(document)
            return nil
        } catch {
            return error
        }
    }

    @Test func doctypeOnlyDocument() {
        #expect(callFault(bytes("<!DOCTYPE methodCall>"))?.code != nil)
        #expect(callFault(bytes("<?xml version=\"1.0\"?><!DOCTYPE methodCall><methodCall><methodName>x</methodName></methodCall>"))?.code == XMLRPCFault.invalidRequest)
        #expect(callFault(bytes("<!DOCTYPE methodCall [ ]><methodCall><methodName>x</methodName></methodCall>"))?.code == XMLRPCFault.invalidRequest)
    }

    @Test func concurrentDecoding() {
        let documents: [(bytes: [UInt8], expected: XMLRPCMethodCall?)] = [
            (bytes(PythonFixtureTests.nested), try? XMLRPCDecoder.methodCall(bytes(PythonFixtureTests.nested))),
            (bytes(PythonFixtureTests.scalars), try? XMLRPCDecoder.methodCall(bytes(PythonFixtureTests.scalars))),
            (bytes(Self.billionLaughs), nil),
            (call(withValue: "<int>12x</int>"), nil),
            (bytes("<methodCall><unclosed>"), nil),
        ]
        #expect(documents[0].expected != nil && documents[1].expected != nil)
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for iteration in 0..<300 {
                let (document, expected) = documents[(worker + iteration) % documents.count]
                let decoded = try? XMLRPCDecoder.methodCall(document)
                if decoded != expected { failures.add() }
                if iteration % 50 == 0 {
                    _ = XMLRPCEncoder.methodCall("x", params: decoded?.params ?? [])
                }
            }
        }
        #expect(failures.count == 0)
    }
}

/// A counter shared by the concurrent workers.
final class Failures: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    private var value = 0
    func add() { lock.wait(); value += 1; lock.signal() }
    var count: Int { lock.wait(); defer { lock.signal() }; return value }
}
