/*
 * jws_vectors.h - RFC 7515 Appendix A.1 (HS256): the example key, signing
 * input and MAC, for the tests that check HS256 against the RFC.
 */
#ifndef HSMAGENT_TEST_JWS_VECTORS_H
#define HSMAGENT_TEST_JWS_VECTORS_H

static const char a1_key[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
static const char a1_input[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
static const char a1_mac[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

#endif
