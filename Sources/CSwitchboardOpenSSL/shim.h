#ifndef CSWITCHBOARD_OPENSSL_SHIM_H
#define CSWITCHBOARD_OPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/opensslv.h>

// Macros are not visible to Swift: wrap the ones the DTLS driver needs.
static inline long cswitchboard_DTLS_get_timeout_ms(SSL *ssl) {
    struct timeval tv;
    if (DTLSv1_get_timeout(ssl, &tv) != 1) { return -1; }
    return (long)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
}
static inline int cswitchboard_DTLS_handle_timeout(SSL *ssl) { return (int)DTLSv1_handle_timeout(ssl); }
static inline long cswitchboard_BIO_set_mem_eof_return(BIO *bio, int v) { return BIO_set_mem_eof_return(bio, v); }
static inline long cswitchboard_SSL_set_mtu(SSL *ssl, long mtu) { return SSL_set_mtu(ssl, mtu); }
static inline int cswitchboard_SSL_set_tlsext_use_srtp(SSL *ssl, const char *profiles) { return SSL_set_tlsext_use_srtp(ssl, profiles); }
static inline const char *cswitchboard_OpenSSL_version_text(void) { return OpenSSL_version(OPENSSL_VERSION); }
#endif
