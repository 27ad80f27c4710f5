#ifndef CSWITCHBOARD_XML2_SHIM_H
#define CSWITCHBOARD_XML2_SHIM_H
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

// libxml2 is built with ICU on Debian; its headers pull in the system ICU, which clashes with
// the ICU bundled in Foundation. Modules that import this one import Glibc, not Foundation.

// Parser options for untrusted documents: no entity substitution, no DTD loading, no network.
static inline int cswitchboard_xml_safe_options(void) {
    return XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
}
static inline const char *cswitchboard_xml_version(void) { return LIBXML_DOTTED_VERSION; }
#endif
