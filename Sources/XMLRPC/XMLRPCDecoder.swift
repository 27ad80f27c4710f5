import Glibc
internal import CSwitchboardXML2

/// `xmlInitParser()` once per process (a lazily initialised global is initialised exactly once,
/// thread-safely). Every parse then uses its own parser context, so decoding is safe from any
/// number of threads at once.
private let parserInitialized: Void = { xmlInitParser() }()

/// Reads XML-RPC documents with libxml2.
///
/// The parser runs with `XML_PARSE_NONET` and without entity substitution, DTD loading or
/// `XML_PARSE_HUGE`. A document with a DOCTYPE stops the parse when the DOCTYPE starts, before
/// any internal subset is read, and is a fault (-32600): no entity is ever declared, expanded
/// or fetched. Documents in any encoding libxml2 converts (UTF-8, UTF-16, ISO-8859-1, ...) are
/// read; an unknown encoding is -32701, a character XML does not allow is -32702, anything
/// else not well-formed is -32700. Well-formed documents that are not XML-RPC are -32600 with
/// the place (line and element path). Limits: ``XMLRPCLimits``.
///
/// Leniencies: white space around the text of numbers, booleans, dates and method names is
/// ignored; comments and processing instructions are ignored anywhere; `<params>` may be
/// missing from a `<methodCall>`; attributes are ignored. Strictness: anything else the
/// grammar does not allow (extra elements or text, empty `<methodName>`, duplicate struct
/// member names, a prefixed element other than `i8` and `nil`) is a fault.
public enum XMLRPCDecoder {
    public static func methodCall(_ bytes: [UInt8], limits: XMLRPCLimits = .init()) throws(XMLRPCFault) -> XMLRPCMethodCall {
        try withRoot(bytes, limits) { (walker: inout Walker, root: Node) throws(XMLRPCFault) in try walker.methodCall(root) }
    }

    /// A methodResponse: its single param, or the fault it carries thrown as XMLRPCFault with the fault's code/string.
    public static func methodResponse(_ bytes: [UInt8], limits: XMLRPCLimits = .init()) throws(XMLRPCFault) -> XMLRPCValue {
        try withRoot(bytes, limits) { (walker: inout Walker, root: Node) throws(XMLRPCFault) in try walker.methodResponse(root) }
    }

    /// Only ASCII-compatible encodings: UTF-16 and UTF-32 are refused (-32701), so a NUL byte
    /// is never part of a character and is refused too (-32702). libxml2 would otherwise take
    /// a NUL for the end of the document and ignore whatever follows it.
    private static func checkBytes(_ bytes: [UInt8]) throws(XMLRPCFault) {
        let head = bytes.prefix(4)
        if head.starts(with: [0xFE, 0xFF]) || head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0, 0, 0xFE, 0xFF])
            || head.starts(with: [0, 0x3C]) || head.starts(with: [0x3C, 0]) || head.starts(with: [0, 0, 0, 0x3C])
        {
            throw XMLRPCFault(code: XMLRPCFault.unsupportedEncoding, message: "UTF-16 and UTF-32 documents are not supported")
        }
        let nul = bytes.withUnsafeBytes { raw in memchr(raw.baseAddress!, 0, raw.count) }
        if let nul {
            let offset = bytes.withUnsafeBytes { raw in UnsafeRawPointer(nul) - raw.baseAddress! }
            throw XMLRPCFault(code: XMLRPCFault.invalidCharacter, message: "NUL byte at offset \(offset)")
        }
    }

    private static func withRoot<Result>(
        _ bytes: [UInt8], _ limits: XMLRPCLimits,
        _ body: (inout Walker, Node) throws(XMLRPCFault) -> Result
    ) throws(XMLRPCFault) -> Result {
        guard !bytes.isEmpty else { throw XMLRPCFault(code: XMLRPCFault.parseError, message: "empty document") }
        guard bytes.count <= limits.maxDocumentBytes, bytes.count <= Int(Int32.max) else {
            throw XMLRPCFault(
                code: XMLRPCFault.invalidRequest,
                message: "document of \(bytes.count) bytes is over the limit of \(limits.maxDocumentBytes) bytes"
            )
        }
        try checkBytes(bytes)
        _ = parserInitialized
        var outcome: Int32 = 0
        var code: Int32 = 0
        var line: Int32 = 0
        let capacity = 200
        var message = [CChar](repeating: 0, count: capacity)
        let document = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                message.withUnsafeMutableBufferPointer { text in
                    cswitchboard_xml_rpc_read(chars.baseAddress, Int32(chars.count), &outcome, &code, &line, text.baseAddress, Int32(capacity))
                }
            }
        }
        guard let document else {
            switch outcome {
            case CSWITCHBOARD_XML_READ_DOCTYPE:
                throw XMLRPCFault(code: XMLRPCFault.invalidRequest, message: "a DOCTYPE (DTD, entity declarations) is not allowed in XML-RPC")
            case CSWITCHBOARD_XML_READ_MALFORMED:
                let text = Walker.representable(message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
                let detail = "line \(line): \(text.isEmpty ? "libxml2 error \(code)" : text)"
                switch UInt32(bitPattern: code) {
                case XML_ERR_UNKNOWN_ENCODING.rawValue, XML_ERR_UNSUPPORTED_ENCODING.rawValue:
                    throw XMLRPCFault(code: XMLRPCFault.unsupportedEncoding, message: "unsupported encoding, \(detail)")
                case XML_ERR_INVALID_CHAR.rawValue, XML_ERR_INVALID_ENCODING.rawValue, XML_ERR_INVALID_CHARREF.rawValue,
                     XML_ERR_INVALID_DEC_CHARREF.rawValue, XML_ERR_INVALID_HEX_CHARREF.rawValue:
                    throw XMLRPCFault(code: XMLRPCFault.invalidCharacter, message: "invalid character, \(detail)")
                default:
                    throw XMLRPCFault(code: XMLRPCFault.parseError, message: "not well-formed XML, \(detail)")
                }
            default:
                throw XMLRPCFault(code: XMLRPCFault.internalError, message: "the XML parser could not allocate its context")
            }
        }
        defer { xmlFreeDoc(document) }
        guard let root = xmlDocGetRootElement(document) else {
            throw XMLRPCFault(code: XMLRPCFault.parseError, message: "no root element")
        }
        var walker = Walker(limits: limits)
        return try body(&walker, root)
    }
}

typealias Node = UnsafeMutablePointer<xmlNode>

/// Walks a parsed tree into values. Recursion is bounded by `limits.maxDepth` (each array or
/// struct is one level) and the element count by `limits.maxElements`.
struct Walker {
    let limits: XMLRPCLimits
    private var elements = 1  // the root

    init(limits: XMLRPCLimits) {
        self.limits = limits
    }

    // MARK: Documents

    mutating func methodCall(_ root: Node) throws(XMLRPCFault) -> XMLRPCMethodCall {
        try expectRoot(root, "methodCall")
        let children = try elementChildren(root)
        guard let first = children.first, Self.name(first) == ("methodName", false) else {
            throw invalid("<methodCall> has no <methodName> as its first element", children.first ?? root)
        }
        let name = String(decoding: Self.trimmed(try text(first)), as: UTF8.self)
        guard !name.isEmpty else { throw invalid("empty <methodName>", first) }
        var params: [XMLRPCValue] = []
        if children.count >= 2 {
            guard Self.name(children[1]) == ("params", false) else {
                throw invalid("unexpected element \(Self.display(children[1])) in <methodCall>", children[1])
            }
            params = try self.params(children[1])
        }
        if children.count > 2 { throw invalid("unexpected element \(Self.display(children[2])) in <methodCall>", children[2]) }
        return XMLRPCMethodCall(methodName: name, params: params)
    }

    mutating func methodResponse(_ root: Node) throws(XMLRPCFault) -> XMLRPCValue {
        try expectRoot(root, "methodResponse")
        let children = try elementChildren(root)
        guard children.count == 1 else {
            throw invalid("<methodResponse> must hold one <params> or <fault>, it holds \(children.count) elements", children.count > 1 ? children[1] : root)
        }
        let child = children[0]
        switch Self.name(child) {
        case ("params", false):
            let params = try self.params(child)
            guard params.count == 1 else { throw invalid("a response must carry exactly one <param>, found \(params.count)", child) }
            return params[0]
        case ("fault", false):
            let values = try elementChildren(child)
            guard values.count == 1, Self.name(values[0]) == ("value", false) else {
                throw invalid("<fault> must hold exactly one <value>", values.first ?? child)
            }
            let value = try self.value(values[0], depth: 0)
            guard case .structure(let members) = value, case .int(let code)? = members["faultCode"],
                  case .string(let message)? = members["faultString"]
            else {
                throw invalid("<fault> value must be a struct with faultCode (int) and faultString (string)", values[0])
            }
            throw XMLRPCFault(code: code, message: message)
        default:
            throw invalid("unexpected element \(Self.display(child)) in <methodResponse>", child)
        }
    }

    private func expectRoot(_ root: Node, _ expected: String) throws(XMLRPCFault) {
        guard Self.name(root) == (expected, false) else {
            throw invalid("root element is \(Self.display(root)), not <\(expected)>", root)
        }
    }

    private mutating func params(_ node: Node) throws(XMLRPCFault) -> [XMLRPCValue] {
        let children = try elementChildren(node)
        var params: [XMLRPCValue] = []
        params.reserveCapacity(children.count)
        for param in children {
            guard Self.name(param) == ("param", false) else {
                throw invalid("unexpected element \(Self.display(param)) in <params>", param)
            }
            let values = try elementChildren(param)
            guard values.count == 1, Self.name(values[0]) == ("value", false) else {
                throw invalid("<param> must hold exactly one <value>, found \(values.count) elements", values.first ?? param)
            }
            params.append(try value(values[0], depth: 0))
        }
        return params
    }

    // MARK: Values

    /// A `<value>` element inside `depth` arrays and structs.
    mutating func value(_ node: Node, depth: Int) throws(XMLRPCFault) -> XMLRPCValue {
        let (children, hasText) = try scan(node)
        guard let typed = children.first else {
            return .string(String(decoding: try text(node), as: UTF8.self))
        }
        guard children.count == 1 else { throw invalid("more than one element in <value>", children[1]) }
        guard !hasText else { throw invalid("text beside \(Self.display(typed)) in <value>", typed) }
        let (name, prefixed) = Self.name(typed)
        if prefixed, name != "i8", name != "nil" { throw invalid("unknown type element \(Self.display(typed))", typed) }
        switch name {
        case "int", "i4", "i8":
            let text = try self.text(typed)
            guard let int = Self.integer(Self.trimmed(text)) else {
                throw invalid("\(Self.display(typed)) is not an integer in range: \(Self.quote(text))", typed)
            }
            return .int(int)
        case "boolean":
            let text = try self.text(typed)
            switch Self.trimmed(text) {
            case [UInt8(ascii: "0")]: return .bool(false)
            case [UInt8(ascii: "1")]: return .bool(true)
            default: throw invalid("<boolean> must be 0 or 1: \(Self.quote(text))", typed)
            }
        case "string":
            return .string(String(decoding: try text(typed), as: UTF8.self))
        case "double":
            let text = try self.text(typed)
            guard let double = Self.double(Self.trimmed(text)) else {
                throw invalid("<double> is not a finite decimal number: \(Self.quote(text))", typed)
            }
            return .double(double)
        case "dateTime.iso8601":
            let text = try self.text(typed)
            guard let seconds = XMLRPCDateTime.parse(text) else {
                throw invalid("<dateTime.iso8601> is not a date and time in the years 0000-9999: \(Self.quote(text))", typed)
            }
            return .dateTime(XMLRPCDateTime(secondsSince1970: seconds))
        case "base64":
            guard let data = Base64.decode(try text(typed)) else { throw invalid("<base64> is not valid base64", typed) }
            return .base64(data)
        case "nil":
            let (inner, innerText) = try scan(typed)
            guard inner.isEmpty, !innerText else { throw invalid("\(Self.display(typed)) must be empty", typed) }
            return .nil
        case "array":
            try checkDepth(depth, typed)
            let data = try elementChildren(typed)
            guard data.count == 1, Self.name(data[0]) == ("data", false) else {
                throw invalid("<array> must hold exactly one <data>", data.first ?? typed)
            }
            let values = try elementChildren(data[0])
            var elements: [XMLRPCValue] = []
            elements.reserveCapacity(values.count)
            for value in values {
                guard Self.name(value) == ("value", false) else {
                    throw invalid("unexpected element \(Self.display(value)) in <data>", value)
                }
                elements.append(try self.value(value, depth: depth + 1))
            }
            return .array(elements)
        case "struct":
            try checkDepth(depth, typed)
            var structure = XMLRPCStruct()
            let members = try elementChildren(typed)
            structure.members.reserveCapacity(members.count)
            var seen = Set<String>(minimumCapacity: members.count)
            for member in members {
                guard Self.name(member) == ("member", false) else {
                    throw invalid("unexpected element \(Self.display(member)) in <struct>", member)
                }
                let parts = try elementChildren(member)
                guard parts.count == 2 else {
                    throw invalid("<member> must hold one <name> and one <value>, found \(parts.count) elements", parts.count > 2 ? parts[2] : member)
                }
                let nameNode: Node
                let valueNode: Node
                switch (Self.name(parts[0]), Self.name(parts[1])) {
                case (("name", false), ("value", false)): (nameNode, valueNode) = (parts[0], parts[1])
                case (("value", false), ("name", false)): (nameNode, valueNode) = (parts[1], parts[0])
                default: throw invalid("<member> must hold one <name> and one <value>", member)
                }
                let name = String(decoding: try text(nameNode), as: UTF8.self)
                let value = try self.value(valueNode, depth: depth + 1)
                if !seen.insert(name).inserted {
                    throw invalid("duplicate struct member name \(Self.quote(Array(name.utf8)))", nameNode)
                }
                structure.members.append((name: name, value: value))
            }
            return .structure(structure)
        default:
            throw invalid("unknown type element \(Self.display(typed))", typed)
        }
    }

    private func checkDepth(_ depth: Int, _ node: Node) throws(XMLRPCFault) {
        guard depth < limits.maxDepth else {
            throw invalid("arrays and structs nested deeper than the limit of \(limits.maxDepth)", node)
        }
    }

    // MARK: Tree access

    /// The element children of `node` (counted against the element limit) and whether it has
    /// text other than white space. Comments and processing instructions are skipped.
    private mutating func scan(_ node: Node) throws(XMLRPCFault) -> (elements: [Node], hasText: Bool) {
        var elements: [Node] = []
        var hasText = false
        var cursor = node.pointee.children
        while let child = cursor {
            switch child.pointee.type {
            case XML_ELEMENT_NODE:
                self.elements += 1
                guard self.elements <= limits.maxElements else {
                    throw invalid("more than the limit of \(limits.maxElements) elements", child)
                }
                elements.append(child)
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if !hasText, !Self.isBlank(child.pointee.content) { hasText = true }
            case XML_COMMENT_NODE, XML_PI_NODE:
                break
            default:
                throw invalid("unexpected XML node of type \(child.pointee.type.rawValue)", node)
            }
            cursor = child.pointee.next
        }
        return (elements, hasText)
    }

    /// Element children of a node that holds only elements (and white space).
    private mutating func elementChildren(_ node: Node) throws(XMLRPCFault) -> [Node] {
        let (elements, hasText) = try scan(node)
        guard !hasText else { throw invalid("unexpected text in \(Self.display(node))", node) }
        return elements
    }

    /// The character data of a node that holds only text (CDATA included), at most
    /// `limits.maxStringBytes` bytes.
    private func text(_ node: Node) throws(XMLRPCFault) -> [UInt8] {
        var bytes: [UInt8] = []
        var cursor = node.pointee.children
        while let child = cursor {
            switch child.pointee.type {
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = child.pointee.content {
                    let length = strlen(UnsafeRawPointer(content).assumingMemoryBound(to: CChar.self))
                    guard length <= limits.maxStringBytes - bytes.count else {
                        throw invalid("text longer than the limit of \(limits.maxStringBytes) bytes", node)
                    }
                    bytes.append(contentsOf: UnsafeBufferPointer(start: content, count: length))
                }
            case XML_COMMENT_NODE, XML_PI_NODE:
                break
            case XML_ELEMENT_NODE:
                throw invalid("unexpected element \(Self.display(child)) in \(Self.display(node))", child)
            default:
                throw invalid("unexpected XML node of type \(child.pointee.type.rawValue)", node)
            }
            cursor = child.pointee.next
        }
        return bytes
    }

    /// The element's local name, and whether it has a namespace or a prefix (an unbound prefix
    /// such as `ex:` stays in libxml2's name).
    static func name(_ node: Node) -> (String, Bool) {
        let name = node.pointee.name.map { String(cString: $0) } ?? ""
        if node.pointee.ns != nil { return (name, true) }
        if let colon = name.lastIndex(of: ":") { return (String(name[name.index(after: colon)...]), true) }
        return (name, false)
    }

    static func display(_ node: Node) -> String {
        var name = node.pointee.name.map { String(cString: $0) } ?? ""
        if let prefix = node.pointee.ns?.pointee.prefix { name = String(cString: prefix) + ":" + name }
        return "<\(name)>"
    }

    /// libxml2's message quotes the input, which may hold characters XML 1.0 forbids (C0
    /// controls other than tab, LF and CR, U+FFFE, U+FFFF): the fault carries U+FFFD for them,
    /// as the encoder would write them, so that it reaches the client as it was made.
    static func representable(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x09, 0x0A, 0x0D: scalars.append(scalar)
            case 0x00..<0x20, 0xFFFE, 0xFFFF: scalars.append("\u{FFFD}")
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    private static func isBlank(_ content: UnsafeMutablePointer<xmlChar>?) -> Bool {
        guard var cursor = content.map({ UnsafePointer<xmlChar>($0) }) else { return true }
        while cursor.pointee != 0 {
            if !isXMLSpace(cursor.pointee) { return false }
            cursor += 1
        }
        return true
    }

    // MARK: Faults

    /// -32600 with what went wrong and where: the line and the element path from the root.
    private func invalid(_ what: String, _ node: Node) -> XMLRPCFault {
        XMLRPCFault(code: XMLRPCFault.invalidRequest, message: "\(what) (line \(xmlGetLineNo(node)), at \(Self.path(node)))")
    }

    static func path(_ node: Node) -> String {
        var parts: [String] = []
        var cursor: Node? = node
        while let current = cursor, current.pointee.type == XML_ELEMENT_NODE, parts.count < 64 {
            var part = String(display(current).dropFirst().dropLast())
            var index = 1
            var same = false
            var sibling = current.pointee.prev
            while let previous = sibling {
                if previous.pointee.type == XML_ELEMENT_NODE, xmlStrEqual(previous.pointee.name, current.pointee.name) != 0 { index += 1; same = true }
                sibling = previous.pointee.prev
            }
            sibling = current.pointee.next
            while !same, let next = sibling {
                if next.pointee.type == XML_ELEMENT_NODE, xmlStrEqual(next.pointee.name, current.pointee.name) != 0 { same = true }
                sibling = next.pointee.next
            }
            if same { part += "[\(index)]" }
            parts.append(part)
            cursor = current.pointee.parent
        }
        return "/" + parts.reversed().joined(separator: "/")
    }

    static func quote(_ text: [UInt8]) -> String {
        let shown = String(decoding: text.prefix(40), as: UTF8.self).debugDescription
        return text.count > 40 ? shown + "..." : shown
    }

    // MARK: Scalars

    static func trimmed(_ text: [UInt8]) -> ArraySlice<UInt8> {
        var start = text.startIndex
        var end = text.endIndex
        while start < end, isXMLSpace(text[start]) { start += 1 }
        while end > start, isXMLSpace(text[end - 1]) { end -= 1 }
        return text[start..<end]
    }

    /// `[+-]?[0-9]+` in `Int`'s range.
    static func integer(_ text: ArraySlice<UInt8>) -> Int? {
        var index = text.startIndex
        var negative = false
        if index < text.endIndex, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
            negative = text[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < text.endIndex else { return nil }
        var value = 0
        while index < text.endIndex {
            let byte = text[index]
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let digit = Int(byte - 0x30)
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// `[+-]?(digits[.digits*]|.digits)([eE][+-]?digits)?`, finite.
    static func double(_ text: ArraySlice<UInt8>) -> Double? {
        var index = text.startIndex
        func digits() -> Int {
            let start = index
            while index < text.endIndex, text[index] >= 0x30, text[index] <= 0x39 { index += 1 }
            return index - start
        }
        if index < text.endIndex, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") { index += 1 }
        var mantissa = digits()
        if index < text.endIndex, text[index] == UInt8(ascii: ".") {
            index += 1
            mantissa += digits()
        }
        guard mantissa > 0 else { return nil }
        if index < text.endIndex, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index += 1
            if index < text.endIndex, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        guard index == text.endIndex, let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else { return nil }
        return value
    }
}
