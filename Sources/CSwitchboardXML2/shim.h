#ifndef CSWITCHBOARD_XML2_SHIM_H
#define CSWITCHBOARD_XML2_SHIM_H
// libxml2 is built with ICU on Debian, and <libxml/encoding.h> then includes the system ICU's
// <unicode/ucnv.h> for two pointer fields at the end of xmlCharEncodingHandler. The system ICU
// clashes with the ICU bundled in Foundation ('UErrorCode' has different definitions in
// different modules) in any Swift module that sees both, including clients of a module that
// imports this one internally when the compiler loads its dependencies. Nothing here or in
// Swift touches xmlCharEncodingHandler by value (libxml2 allocates and uses it through
// pointers), so the module is declared without the ICU parts.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

// Modules that import this one import Glibc, not Foundation, all the same.

// Parser options for untrusted documents: no entity substitution, no DTD loading, no network.
static inline int cswitchboard_xml_safe_options(void) {
    return XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
}
static inline const char *cswitchboard_xml_version(void) { return LIBXML_DOTTED_VERSION; }

// --- XML-RPC (Sources/XMLRPC) ---------------------------------------------------------------
// Untrusted documents with no DTD at all: the parse stops at `<!DOCTYPE` (the SAX
// `internalSubset` event comes before the internal subset is read), so no entity is ever
// declared, expanded or fetched. No XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_HUGE.
static inline int cswitchboard_xml_rpc_options(void) {
    return XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
}

#define CSWITCHBOARD_XML_READ_OK 0
#define CSWITCHBOARD_XML_READ_DOCTYPE 1
#define CSWITCHBOARD_XML_READ_MALFORMED 2
#define CSWITCHBOARD_XML_READ_NO_MEMORY 3

static inline void cswitchboard_xml_rpc_stop(void *ctx) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    if (ctxt == NULL) return;
    ctxt->_private = (void *)ctxt;  // marks "stopped at a DTD construct"
    xmlStopParser(ctxt);
}
static inline void cswitchboard_xml_rpc_stop_subset(void *ctx, const xmlChar *name, const xmlChar *externalID, const xmlChar *systemID) {
    (void)name; (void)externalID; (void)systemID;
    cswitchboard_xml_rpc_stop(ctx);
}
static inline void cswitchboard_xml_rpc_stop_entity(void *ctx, const xmlChar *name, int type, const xmlChar *publicID, const xmlChar *systemID, xmlChar *content) {
    (void)name; (void)type; (void)publicID; (void)systemID; (void)content;
    cswitchboard_xml_rpc_stop(ctx);
}
static inline xmlEntityPtr cswitchboard_xml_rpc_no_entity(void *ctx, const xmlChar *name) {
    (void)ctx; (void)name;
    return NULL;
}

// Parses `size` bytes into a tree with its own parser context. Returns the document, or NULL
// with `*outcome` saying why; for a malformed document `*error_code` is libxml2's error number,
// `*error_line` its line and `message` (capacity `message_capacity`) its text.
static inline xmlDocPtr cswitchboard_xml_rpc_read(const char *buffer, int size, int *outcome, int *error_code, int *error_line, char *message, int message_capacity) {
    *outcome = CSWITCHBOARD_XML_READ_OK;
    *error_code = 0;
    *error_line = 0;
    if (message_capacity > 0) message[0] = 0;
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt == NULL || ctxt->sax == NULL) {
        if (ctxt != NULL) xmlFreeParserCtxt(ctxt);
        *outcome = CSWITCHBOARD_XML_READ_NO_MEMORY;
        return NULL;
    }
    ctxt->_private = NULL;
    ctxt->sax->internalSubset = cswitchboard_xml_rpc_stop_subset;
    ctxt->sax->externalSubset = cswitchboard_xml_rpc_stop_subset;
    ctxt->sax->entityDecl = cswitchboard_xml_rpc_stop_entity;
    ctxt->sax->getEntity = cswitchboard_xml_rpc_no_entity;
    ctxt->sax->getParameterEntity = cswitchboard_xml_rpc_no_entity;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buffer, size, NULL, NULL, cswitchboard_xml_rpc_options());
    if (ctxt->_private != NULL) {
        if (doc != NULL) xmlFreeDoc(doc);
        doc = NULL;
        *outcome = CSWITCHBOARD_XML_READ_DOCTYPE;
    } else if (doc == NULL || !ctxt->wellFormed) {
        if (doc != NULL) xmlFreeDoc(doc);
        doc = NULL;
        *outcome = CSWITCHBOARD_XML_READ_MALFORMED;
        const xmlError *error = xmlCtxtGetLastError(ctxt);
        *error_code = error != NULL && error->code != 0 ? error->code : ctxt->errNo;
        *error_line = error != NULL ? error->line : 0;
        if (error != NULL && error->message != NULL && message_capacity > 0) {
            int i = 0;
            for (; i < message_capacity - 1 && error->message[i] != 0 && error->message[i] != '\n'; i++) message[i] = error->message[i];
            message[i] = 0;
        }
    } else if (doc->intSubset != NULL || doc->extSubset != NULL) {
        xmlFreeDoc(doc);
        doc = NULL;
        *outcome = CSWITCHBOARD_XML_READ_DOCTYPE;
    }
    xmlFreeParserCtxt(ctxt);
    return doc;
}
#endif
