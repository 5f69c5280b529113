//go:build goexperiment.boringcrypto

package main

// cryptoModule: see crypto_go.go. This build routes RSA, ECDSA, ECDH,
// AES-GCM, SHA-2 and HMAC through BoringSSL's BoringCrypto module.
const cryptoModule = "BoringCrypto"
