#ifndef CSWITCHBOARD_SRTP_SHIM_H
#define CSWITCHBOARD_SRTP_SHIM_H
#include <srtp2/srtp.h>
#include <srtp2/cipher.h>
#include <srtp2/auth.h>

// libsrtp2 exports its built-in cipher and auth types and their self-test vectors as data
// symbols without declaring them in its public headers. The OpenSSL backend (SRTPCryptoBackend)
// hands the test vectors to `srtp_replace_cipher_type`/`srtp_replace_auth_type`, and puts the
// built-in types back when it is switched off.
extern srtp_cipher_type_t srtp_aes_icm_128;
extern srtp_cipher_type_t srtp_aes_icm_256;
extern srtp_cipher_type_t srtp_aes_gcm_128;
extern srtp_cipher_type_t srtp_aes_gcm_256;
extern srtp_auth_type_t srtp_hmac;
extern srtp_cipher_test_case_t srtp_aes_icm_128_test_case_0;
extern srtp_cipher_test_case_t srtp_aes_icm_256_test_case_0;
extern srtp_cipher_test_case_t srtp_aes_gcm_128_test_case_0;
extern srtp_cipher_test_case_t srtp_aes_gcm_256_test_case_0;
extern srtp_auth_test_case_t srtp_hmac_test_case_0;

static inline const srtp_cipher_type_t *cswitchboard_srtp_builtin_aes_icm_128(void) { return &srtp_aes_icm_128; }
static inline const srtp_cipher_type_t *cswitchboard_srtp_builtin_aes_icm_256(void) { return &srtp_aes_icm_256; }
static inline const srtp_cipher_type_t *cswitchboard_srtp_builtin_aes_gcm_128(void) { return &srtp_aes_gcm_128; }
static inline const srtp_cipher_type_t *cswitchboard_srtp_builtin_aes_gcm_256(void) { return &srtp_aes_gcm_256; }
static inline const srtp_auth_type_t *cswitchboard_srtp_builtin_hmac(void) { return &srtp_hmac; }
static inline const srtp_cipher_test_case_t *cswitchboard_srtp_aes_icm_128_test_case(void) { return &srtp_aes_icm_128_test_case_0; }
static inline const srtp_cipher_test_case_t *cswitchboard_srtp_aes_icm_256_test_case(void) { return &srtp_aes_icm_256_test_case_0; }
static inline const srtp_cipher_test_case_t *cswitchboard_srtp_aes_gcm_128_test_case(void) { return &srtp_aes_gcm_128_test_case_0; }
static inline const srtp_cipher_test_case_t *cswitchboard_srtp_aes_gcm_256_test_case(void) { return &srtp_aes_gcm_256_test_case_0; }
static inline const srtp_auth_test_case_t *cswitchboard_srtp_hmac_test_case(void) { return &srtp_hmac_test_case_0; }
#endif
