//go:build !goexperiment.boringcrypto

package main

// cryptoModule names the implementation of the cryptographic primitives
// this binary was built with: Go's own (the default build) or BoringCrypto
// (GOEXPERIMENT=boringcrypto, docs/BUILD.md).
const cryptoModule = "Go"
