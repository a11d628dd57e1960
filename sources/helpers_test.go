package sources_test

import (
	"crypto/sha256"

	"github.com/linewatch/linewatch/keys"
)

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

func cosignerKey(pub string) (string, error) { return keys.CosignerKey(pub) }
