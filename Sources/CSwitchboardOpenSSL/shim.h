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
#include <openssl/sha.h>
#include <malloc.h>

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
// DTLS driver: options, protocol bounds and timer in microseconds.
static inline uint64_t cswitchboard_SSL_OP_NO_QUERY_MTU(void) { return SSL_OP_NO_QUERY_MTU; }
static inline uint64_t cswitchboard_SSL_OP_NO_TICKET(void) { return SSL_OP_NO_TICKET; }
static inline long cswitchboard_SSL_set_mode_release_buffers(SSL *ssl) { return SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS); }
static inline uint64_t cswitchboard_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline int cswitchboard_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_min_proto_version(ctx, version); }
static inline int cswitchboard_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_max_proto_version(ctx, version); }
static inline long long cswitchboard_DTLS_get_timeout_us(SSL *ssl) {
    struct timeval tv;
    if (DTLSv1_get_timeout(ssl, &tv) != 1) { return -1; }
    return (long long)tv.tv_sec * 1000000LL + (long long)tv.tv_usec;
}
static inline int cswitchboard_SSL_set_app_data(SSL *ssl, void *data) { return SSL_set_app_data(ssl, data); }
static inline void *cswitchboard_SSL_get_app_data(const SSL *ssl) { return SSL_get_app_data(ssl); }
// Certificates.
static inline int cswitchboard_MBSTRING_ASC(void) { return MBSTRING_ASC; }
static inline void cswitchboard_OPENSSL_free(void *pointer) { OPENSSL_free(pointer); }
// SRTP's HMAC-SHA1: SHA-1's block functions on a plain SHA_CTX, so the precomputed inner and
// outer states are copied by value per packet (EVP_MD_CTX_copy_ex allocates a new digest
// context on every copy in OpenSSL 3.0). OpenSSL 3.0 marks them OSSL_DEPRECATEDIN_3_0; the
// wrappers keep that attribute macro out of Swift.
static inline int cswitchboard_SHA1_Init(SHA_CTX *c) { return SHA1_Init(c); }
static inline int cswitchboard_SHA1_Update(SHA_CTX *c, const void *data, size_t len) { return SHA1_Update(c, data, len); }
static inline int cswitchboard_SHA1_Final(unsigned char *md, SHA_CTX *c) { return SHA1_Final(md, c); }
#endif
